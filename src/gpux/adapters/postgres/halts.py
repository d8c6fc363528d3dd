"""The kill switches on PostgreSQL: the market's halt row, accounts' halt flags, and
cancelling the open orders a halt catches."""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gpux.adapters.postgres.tables import accounts, market_state
from gpux.service.halt_ports import Cancelled

# Orders a round is solving are only marked: that round cancels them when it commits (unless
# they filled), as with any cancel.
_CANCEL_OPEN = """
WITH caught AS (
  SELECT id, frozen_auction_id FROM orders
  WHERE status = 'open' AND NOT cancel_requested {where} ORDER BY id FOR UPDATE
), now_ AS (
  UPDATE orders o SET status = 'cancelled', updated_at = now()
  FROM caught c WHERE o.id = c.id AND c.frozen_auction_id IS NULL RETURNING o.id
), later AS (
  UPDATE orders o SET cancel_requested = true, updated_at = now()
  FROM caught c WHERE o.id = c.id AND c.frozen_auction_id IS NOT NULL RETURNING o.id
)
SELECT (SELECT coalesce(array_agg(id ORDER BY id), '{{}}') FROM now_) AS now_ids,
       (SELECT coalesce(array_agg(id ORDER BY id), '{{}}') FROM later) AS later_ids
"""


class PgHalts:
    """`HaltRepository` on PostgreSQL."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def market_halted(self, *, lock: bool = False) -> bool:
        stmt = select(market_state.c.halted)
        if lock:
            stmt = stmt.with_for_update(read=True)
        return bool((await self._conn.execute(stmt)).scalar())

    async def set_market(self, halted: bool, by: str) -> None:
        stmt = insert(market_state).values(id=True, halted=halted, changed_by=by)
        await self._conn.execute(stmt.on_conflict_do_update(
            index_elements=[market_state.c.id],
            set_={"halted": halted, "changed_by": by, "changed_at": text("now()")}))

    async def set_account(self, account_id: str, halted: bool) -> bool:
        row = (await self._conn.execute(
            update(accounts).where(accounts.c.id == account_id).values(halted=halted)
            .returning(accounts.c.id))).first()
        return row is not None

    async def cancel_open(self, account_id: str | None) -> Cancelled:
        if account_id is None:
            row = (await self._conn.execute(text(_CANCEL_OPEN.format(where="")))).one()
        else:
            row = (await self._conn.execute(
                text(_CANCEL_OPEN.format(where="AND account_id = :a")), {"a": account_id})
            ).one()
        return Cancelled(tuple(row.now_ids), tuple(row.later_ids))
