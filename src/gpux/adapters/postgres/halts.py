"""The kill switches on PostgreSQL: the market's halt row, accounts' halt flags, and
cancelling the open orders a halt catches."""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gpux.adapters.postgres.tables import accounts, market_state
from gpux.service.halt_ports import Cancelled

# Orders a round is solving are only marked: that round cancels them when it commits (unless
# they filled), as with any cancel. Each order's event (`cancelled` or `cancel_requested`)
# goes into the outbox in the same statement, for the private `orders` feed channel.
_CANCEL_OPEN = """
WITH caught AS (
  SELECT id, frozen_auction_id FROM orders
  WHERE status = 'open' AND NOT cancel_requested {where} ORDER BY id FOR UPDATE
), now_ AS (
  UPDATE orders o SET status = 'cancelled', updated_at = now()
  FROM caught c WHERE o.id = c.id AND c.frozen_auction_id IS NULL
  RETURNING o.id, o.account_id, o.side, o.client_order_id, o.status, 'cancelled'::text AS event
), later AS (
  UPDATE orders o SET cancel_requested = true, updated_at = now()
  FROM caught c WHERE o.id = c.id AND c.frozen_auction_id IS NOT NULL
  RETURNING o.id, o.account_id, o.side, o.client_order_id, o.status,
            'cancel_requested'::text AS event
), ev AS (
  INSERT INTO outbox (stream, event_id, payload)
  SELECT :stream, 'order:' || x.id || ':' || x.event,
         jsonb_build_object('type', 'order', 'event', x.event, 'order_id', x.id,
                            'account_id', x.account_id, 'side', x.side,
                            'client_order_id', x.client_order_id, 'status', x.status)
  FROM (SELECT * FROM now_ UNION ALL SELECT * FROM later) x ORDER BY x.id
  ON CONFLICT (event_id) DO NOTHING
)
SELECT (SELECT coalesce(array_agg(id ORDER BY id), '{{}}') FROM now_) AS now_ids,
       (SELECT coalesce(array_agg(id ORDER BY id), '{{}}') FROM later) AS later_ids
"""


class PgHalts:
    """`HaltRepository` on PostgreSQL."""

    def __init__(self, conn: AsyncConnection, orders_stream: str = "gpux:orders") -> None:
        self._conn = conn
        self._orders_stream = orders_stream

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
            row = (await self._conn.execute(text(_CANCEL_OPEN.format(where="")),
                                            {"stream": self._orders_stream})).one()
        else:
            row = (await self._conn.execute(
                text(_CANCEL_OPEN.format(where="AND account_id = :a")),
                {"a": account_id, "stream": self._orders_stream})).one()
        return Cancelled(tuple(row.now_ids), tuple(row.later_ids))
