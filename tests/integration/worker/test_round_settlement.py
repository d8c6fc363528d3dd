"""A cleared round settles in its commit: buyers pay their clearing payment from their holds
and get the rest back, sellers get their revenue less the fee (rounded down to the
micro-dollar), the exchange the fees; a bid cancelled at commit gets its whole hold back."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from orderrows import HOUR, Alt, Leg, add_account, add_ask, add_bid, add_pool, rows, this_hour
from sqlalchemy import select

from gpux.adapters.postgres.ledger import ledger_problems
from gpux.adapters.postgres.tables import balances, fills, ledger_entries, orders
from gpux.domain.ledger import EXCHANGE_FEES


async def _balances(engine: Any) -> dict[str, tuple[Decimal, Decimal]]:
    async with engine.connect() as conn:
        return {r.account_id: (r.available, r.held)
                for r in await conn.execute(select(balances))}


async def test_a_round_pays_sellers_less_the_fee_and_returns_the_rest_of_each_hold(
        resources: Any, engine: Any) -> None:
    from gpux.entrypoints.worker import rounds_of

    res = type(resources)(resources.settings.model_copy(update={"fee_bps": 333}),
                          resources.database_url, resources.redis_url, resources.engine,
                          resources.redis)
    h0 = this_hour()
    async with engine.begin() as conn:
        await add_account(conn, "acme", "provider")
        await add_account(conn, "alice", "buyer")
        await add_account(conn, "bob", "buyer")
        await add_pool(conn, "p1", "acme", gpus=4)
        await add_ask(conn, "acme", "p1", gpus=4, price="1.234567", starts_at=h0 - HOUR,
                      ends_at=h0 + 48 * HOUR)
        alice = await add_bid(conn, "alice", Alt(Decimal("90"), h0 + 3 * HOUR,
                                                 h0 + 20 * HOUR, (Leg(3, 5),)))
        bob = await add_bid(conn, "bob", Alt(Decimal("1"), h0 + 3 * HOUR, h0 + 20 * HOUR,
                                             (Leg(4, 5),)))
        await conn.execute(orders.update().where(orders.c.id == bob)
                           .values(cancel_requested=True))
    await rounds_of(res).clear_round(datetime.now(UTC))

    paid = sum((f.amount for f in await rows(engine, fills, fills.c.side == "bid")),
               Decimal(0))
    earned = sum((f.amount for f in await rows(engine, fills, fills.c.side == "ask")),
                 Decimal(0))
    assert paid == earned > 0
    fee = (earned * Decimal("0.0333")).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)
    got = await _balances(engine)
    assert got["alice"] == (Decimal(90) - paid, Decimal(0))
    assert got["bob"] == (Decimal(1), Decimal(0))  # cancelled at commit: the hold returns
    assert got["acme"] == (earned - fee, Decimal(0))
    assert got[EXCHANGE_FEES] == (fee, Decimal(0))
    async with engine.connect() as conn:
        assert await ledger_problems(conn) == []
        kinds = {r.kind for r in await conn.execute(
            select(ledger_entries.c.kind).where(ledger_entries.c.order_id == alice))}
    assert kinds == {"hold", "payment", "release"}
