"""The ledger on PostgreSQL: append-only `ledger_entries`, and `balances` kept in step.

A transaction's postings are inserted together and its net change per account is applied to
`balances` in account-id order (so concurrent transactions lock rows in one order and cannot
deadlock). `balances` rejects a negative balance by a CHECK constraint (the external bank's
excepted); callers that can refuse cleanly (withdrawals) lock and read the row first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gpux.adapters.postgres.tables import balances, ledger_entries, transfers
from gpux.domain.ledger import Hold, Posting, check_balanced
from gpux.service.ledger_ports import Balance, Entry, Transfer

# A row is created at zero first (a CHECK applies to the row an INSERT proposes, before any
# ON CONFLICT), behind the fence if the account or the market is halted; then changed.
_OPEN = text("""
INSERT INTO balances (account_id, halted)
SELECT CAST(:account_id AS varchar),
       coalesce((SELECT halted FROM accounts WHERE id = CAST(:account_id AS varchar)), false)
       OR coalesce((SELECT halted FROM market_state), false)
ON CONFLICT (account_id) DO NOTHING
""")
_APPLY = text("""
UPDATE balances SET available = available + :available, held = held + :held,
                    updated_at = now()
WHERE account_id = :account_id
""")

_HOLDS = text("""
SELECT order_id, account_id, sum(amount) AS amount FROM ledger_entries
WHERE order_id = ANY(:ids) AND bucket = 'held'
GROUP BY order_id, account_id HAVING sum(amount) <> 0
""").bindparams(bindparam("ids", type_=ARRAY(BigInteger)))

_REFRESH = """
UPDATE balances AS b
SET halted = coalesce((SELECT a.halted FROM accounts a WHERE a.id = b.account_id), false)
             OR coalesce((SELECT m.halted FROM market_state m), false),
    updated_at = now()
WHERE b.account_id IN (SELECT account_id FROM balances {where} ORDER BY account_id FOR UPDATE)
"""

_ENTRY_COLUMNS = (ledger_entries.c.id, ledger_entries.c.tx_id, ledger_entries.c.account_id,
                  ledger_entries.c.bucket, ledger_entries.c.kind, ledger_entries.c.amount,
                  ledger_entries.c.order_id, ledger_entries.c.auction_id,
                  ledger_entries.c.created_at)


class PgLedger:
    """`Ledger` on one PostgreSQL connection, in its current transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def post(self, postings: Sequence[Posting], *, auction_id: int | None = None) -> int:
        check_balanced(postings)
        tx_id = int((await self._conn.execute(
            text("SELECT nextval('ledger_tx_id_seq')"))).scalar_one())
        if not postings:
            return tx_id
        await self._conn.execute(ledger_entries.insert(), [
            {"tx_id": tx_id, "account_id": p.account_id, "bucket": p.bucket, "kind": p.kind,
             "amount": p.amount, "order_id": p.order_id, "auction_id": auction_id}
            for p in postings])
        net: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for p in postings:
            net[p.account_id][0 if p.bucket == "available" else 1] += p.amount
        changes = [{"account_id": account, "available": avail, "held": held}
                   for account, (avail, held) in sorted(net.items()) if avail or held]
        if changes:
            await self._conn.execute(_OPEN, [{"account_id": c["account_id"]} for c in changes])
            await self._conn.execute(_APPLY, changes)
        return tx_id

    async def balance(self, account_id: str, *, for_update: bool = False) -> Balance:
        stmt = select(balances.c.available, balances.c.held).where(
            balances.c.account_id == account_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self._conn.execute(stmt)).first()
        if row is None:
            return Balance(account_id, Decimal("0.000000"), Decimal("0.000000"))
        return Balance(account_id, row.available, row.held)

    async def holds(self, order_ids: Sequence[int]) -> dict[int, Hold]:
        if not order_ids:
            return {}
        rows = await self._conn.execute(_HOLDS, {"ids": list(order_ids)})
        return {r.order_id: Hold(r.order_id, r.account_id, r.amount) for r in rows}

    async def statement(self, account_id: str, *, before_id: int | None, limit: int
                        ) -> list[Entry]:
        stmt = select(*_ENTRY_COLUMNS).where(ledger_entries.c.account_id == account_id)
        if before_id is not None:
            stmt = stmt.where(ledger_entries.c.id < before_id)
        stmt = stmt.order_by(ledger_entries.c.id.desc()).limit(limit)
        return [Entry(*tuple(r)) for r in await self._conn.execute(stmt)]

    async def refresh_halted(self, account_id: str | None) -> None:
        if account_id is None:
            await self._conn.execute(text(_REFRESH.format(where="")))
        else:
            await self._conn.execute(text(_REFRESH.format(where="WHERE account_id = :a")),
                                     {"a": account_id})


async def ledger_problems(conn: AsyncConnection) -> list[str]:
    """What is wrong with the ledger, if anything: a transaction that does not sum to zero,
    a balance that is not its ledger's sum, a negative balance, money that does not add up."""
    problems: list[str] = []
    rows: Any = await conn.execute(text(
        "SELECT tx_id, sum(amount) AS s FROM ledger_entries GROUP BY tx_id "
        "HAVING sum(amount) <> 0"))
    problems += [f"transaction {r.tx_id} sums to {r.s}" for r in rows]
    rows = await conn.execute(text("""
        SELECT coalesce(b.account_id, l.account_id) AS account_id,
               coalesce(b.available, 0) AS b_available, coalesce(b.held, 0) AS b_held,
               coalesce(l.available, 0) AS l_available, coalesce(l.held, 0) AS l_held
        FROM balances b FULL JOIN (
          SELECT account_id,
                 sum(amount) FILTER (WHERE bucket = 'available') AS available,
                 sum(amount) FILTER (WHERE bucket = 'held') AS held
          FROM ledger_entries GROUP BY account_id) l ON l.account_id = b.account_id
        WHERE coalesce(b.available, 0) <> coalesce(l.available, 0)
           OR coalesce(b.held, 0) <> coalesce(l.held, 0)"""))
    problems += [f"balance of {r.account_id} is {r.b_available}/{r.b_held} but the ledger "
                 f"sums to {r.l_available}/{r.l_held}" for r in rows]
    rows = await conn.execute(text(
        "SELECT account_id, available, held FROM balances "
        "WHERE account_id <> 'external:bank' AND (available < 0 OR held < 0)"))
    problems += [f"balance of {r.account_id} is negative" for r in rows]
    total = (await conn.execute(text(
        "SELECT coalesce(sum(available + held), 0) FROM balances"))).scalar_one()
    if total != 0:
        problems.append(f"balances sum to {total}, not 0")
    return problems


class PgTransfers:
    """`Transfers` on one PostgreSQL connection, in its current transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def claim(self, account_id: str, kind: str, reference: str,
                    amount: Decimal) -> Transfer | None:
        claimed = (await self._conn.execute(
            pg_insert(transfers).values(account_id=account_id, kind=kind, reference=reference,
                                        amount=amount)
            .on_conflict_do_nothing(constraint="uq_transfers_account_kind_reference")
            .returning(transfers.c.id))).first()
        if claimed is not None:
            return None
        row = (await self._conn.execute(
            select(transfers.c.account_id, transfers.c.kind, transfers.c.reference,
                   transfers.c.amount, transfers.c.tx_id, transfers.c.created_at)
            .where(transfers.c.account_id == account_id, transfers.c.kind == kind,
                   transfers.c.reference == reference))).one()
        return Transfer(*tuple(row))

    async def posted(self, account_id: str, kind: str, reference: str, tx_id: int) -> None:
        await self._conn.execute(
            transfers.update().where(transfers.c.account_id == account_id,
                                     transfers.c.kind == kind,
                                     transfers.c.reference == reference)
            .values(tx_id=tx_id))
