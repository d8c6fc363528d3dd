"""The ledger holds under any sequence of deposits, bids, cancels, halts, rounds, outages
(service credits), resales and withdrawals (a hypothesis property test on real PostgreSQL, through
order entry and the real clearing round), and concurrent bids of one account never spend the
same funds twice."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from orderrows import HOUR, Alt, Leg, add_account, add_ask, add_bid, add_pool, rows, this_hour
from sqlalchemy import select, text

from gpux.adapters.postgres.ledger import ledger_problems
from gpux.adapters.postgres.tables import balances, metadata, orders
from gpux.domain.accounts import Account
from gpux.domain.credits import OutageSpec
from gpux.domain.errors import (
    AccountHalted,
    InsufficientFunds,
    OfferOutsideContract,
    OrderNotOpen,
    OutageOverlaps,
)
from gpux.domain.ledger import EXCHANGE_FEES, EXTERNAL_BANK
from gpux.domain.orders import BidAlternative, BidLeg, BidOrder
from gpux.domain.resale import ResaleOffer

BUYERS = ("b0", "b1")
ADMIN = Account("ops", "Ops", "admin")
_buyer = st.sampled_from(BUYERS)
_amount = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("400"), places=2)
_op = st.one_of(
    st.tuples(st.just("deposit"), _buyer, _amount),
    st.tuples(st.just("withdraw"), _buyer, _amount),
    st.tuples(st.just("bid"), _buyer, st.integers(1, 300), st.integers(1, 4),
              st.integers(1, 3)),
    st.tuples(st.just("cancel"), st.integers(0, 15)),
    st.tuples(st.just("halt"), _buyer),
    st.tuples(st.just("round")),
    # An outage (gpus None) or curtailment of pool p1, hours from this hour: credits.
    st.tuples(st.just("outage"), st.integers(0, 30), st.integers(1, 8),
              st.none() | st.integers(1, 8)),
    # Resale: the buyer offers its k-th live contract (GPUs, hours skipped at the start,
    # reserve per GPU-hour).
    st.tuples(st.just("resell"), _buyer, st.integers(0, 7), st.integers(1, 4),
              st.integers(0, 3), st.integers(1, 3)),
)


def _bid(client_order_id: str, value: int, gpus: int, hours: int) -> BidOrder:
    """A bid for H100s tomorrow, its value kept under the price limit per GPU-hour."""
    value = min(value, 90 * gpus * hours)
    start = this_hour() + 2 * HOUR
    return BidOrder(client_order_id, (BidAlternative(
        start, start + 24 * HOUR, (BidLeg(gpus, hours, gpu=("H100",)),), value=Decimal(value)),))


class _Model:
    """What the test expects: money in and out, and what each open bid holds."""

    def __init__(self) -> None:
        self.deposited = Decimal(0)
        self.withdrawn = Decimal(0)
        self.orders: list[int] = []
        self.credited = Decimal(0)


async def _check(engine: Any, model: _Model) -> None:
    async with engine.connect() as conn:
        assert await ledger_problems(conn) == []
        bal = {r.account_id: r for r in await conn.execute(select(balances))}
        open_held: dict[str, Decimal] = defaultdict(Decimal)
        for o in await conn.execute(select(orders).where(orders.c.side == "bid",
                                                         orders.c.status == "open")):
            open_held[o.account_id] += o.max_value
    inside = sum((b.available + b.held for k, b in bal.items() if k != EXTERNAL_BANK),
                 Decimal(0))
    assert inside == model.deposited - model.withdrawn
    if EXTERNAL_BANK in bal:
        assert bal[EXTERNAL_BANK].available == -(model.deposited - model.withdrawn)
    for who in BUYERS:
        assert (bal[who].held if who in bal else 0) == open_held[who], who
    assert all(b.available >= 0 and b.held >= 0 for k, b in bal.items() if k != EXTERNAL_BANK)
    async with engine.connect() as conn:
        credit_postings = (await conn.execute(text(
            "SELECT coalesce(sum(amount), 0) FROM ledger_entries "
            "WHERE kind = 'credit' AND amount > 0"))).scalar_one()
        paid = (await conn.execute(text(
            "SELECT coalesce(sum(paid), 0) FROM contract_credits"))).scalar_one()
    assert credit_postings == paid == model.credited
    await _check_contracts(engine)
    await _check_open_order_counts(engine)


async def _check_open_order_counts(engine: Any) -> None:
    """The open-order count kept on each balances row (the cap's) equals the account's open
    orders, whichever path (entry, round, cancel, resale, halt) changed them."""
    async with engine.connect() as conn:
        off = (await conn.execute(text("""
            SELECT coalesce(b.account_id, o.account_id), b.open_orders, o.n
            FROM balances b FULL JOIN (SELECT account_id, count(*) AS n FROM orders
                                       WHERE status = 'open' GROUP BY account_id) o
              ON o.account_id = b.account_id
            WHERE coalesce(b.open_orders, 0) <> coalesce(o.n, 0)"""))).all()
    assert off == []


async def _check_contracts(engine: Any) -> None:
    """Resale moves GPU-hours between holders, never makes or loses one: per hour, the live
    contracts of p1 hold exactly what the provider's asks sold, and superseded ones none."""
    async with engine.connect() as conn:
        rows_ = (await conn.execute(text("""
            SELECT h, sum(held) AS held, sum(sold) AS sold FROM (
              SELECT generate_series(c.starts_at, c.ends_at - interval '1 hour',
                                     interval '1 hour') AS h, c.gpus AS held, 0 AS sold
              FROM contracts c WHERE c.superseded_at IS NULL
              UNION ALL
              SELECT generate_series(f.starts_at, f.ends_at - interval '1 hour',
                                     interval '1 hour'), 0, f.gpus
              FROM fills f JOIN orders o ON o.id = f.order_id
              WHERE f.side = 'ask' AND o.contract_id IS NULL) x
            GROUP BY h HAVING sum(held) <> sum(sold)"""))).all()
        parents_live = (await conn.execute(text(
            "SELECT count(*) FROM contracts c JOIN contracts p ON p.id = c.parent_id "
            "WHERE p.superseded_at IS NULL"))).scalar_one()
    assert rows_ == [] and parents_live == 0


async def _apply(op: tuple[Any, ...], svc: Any, rounds: Any, model: _Model) -> None:
    kind = op[0]
    if kind == "deposit":
        await svc.funds.deposit(ADMIN, op[1], op[2])
        model.deposited += op[2]
    elif kind == "withdraw":
        try:
            await svc.funds.withdraw(ADMIN, op[1], op[2])
            model.withdrawn += op[2]
        except InsufficientFunds:
            pass
    elif kind == "bid":
        try:
            placed = await svc.orders.place_bid(Account(op[1], op[1], "buyer"),
                                                _bid(uuid.uuid4().hex[:12], *op[2:]))
            model.orders.append(placed.order.id)
        except (InsufficientFunds, AccountHalted):
            pass
    elif kind == "cancel" and model.orders:
        order_id = model.orders[op[1] % len(model.orders)]
        async with svc.engine.connect() as conn:
            owner = (await conn.execute(select(orders.c.account_id).where(
                orders.c.id == order_id))).scalar_one()
        with contextlib.suppress(OrderNotOpen):
            await svc.orders.cancel(Account(owner, owner, "buyer"), order_id)
    elif kind == "halt":
        await svc.halts.halt_account(ADMIN, op[1])
        await svc.halts.resume_account(ADMIN, op[1])
    elif kind == "outage":
        start = this_hour() + op[1] * HOUR
        try:
            done = await svc.outages.record(ADMIN, "p1", OutageSpec(
                start, start + op[2] * HOUR, op[3]))
        except OutageOverlaps:
            return
        if done.created:
            model.credited += done.outage.paid
    elif kind == "resell":
        await _resell(op, svc, model)
    elif kind == "round":
        outcomes = await rounds.clear_round(datetime.now(UTC) + timedelta(microseconds=1))
        assert outcomes[-1].status == "cleared"


async def _resell(op: tuple[Any, ...], svc: Any, model: _Model) -> None:
    who = Account(op[1], op[1], "buyer")
    held = [c for c in (await svc.market.contracts(who, role="holder")).items
            if c.offer_id is None]
    if not held:
        return
    c = held[op[2] % len(held)]
    start = min(c.starts_at + op[4] * HOUR, c.ends_at - HOUR)
    with contextlib.suppress(OfferOutsideContract):  # its hours began meanwhile
        placed = await svc.resale.offer(who, ResaleOffer(
            uuid.uuid4().hex[:12], c.id, min(op[3], c.gpus), start, c.ends_at,
            Decimal(op[5])))
        model.orders.append(placed.order.id)


async def _example(base: Any, ops: list[tuple[Any, ...]]) -> None:
    import redis.asyncio as aioredis

    from gpux.adapters.postgres.engine import make_engine
    from gpux.bootstrap import Resources
    from gpux.entrypoints.api.deps import build_services
    from gpux.entrypoints.worker import rounds_of

    engine = make_engine(base.database_url, pool_size=4)
    client = aioredis.from_url(base.redis_url)
    res = Resources(base, base.database_url, base.redis_url, engine, client)
    svc = build_services(res)
    try:
        names = ", ".join(t.name for t in metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            await add_account(conn, "ops", "admin")
            await add_account(conn, "acme", "provider")
            for who in BUYERS:
                await add_account(conn, who, "buyer")
            await add_pool(conn, "p1", "acme", gpus=8)
            await add_ask(conn, "acme", "p1", gpus=8, price="1.5",
                          starts_at=this_hour() - HOUR, ends_at=this_hour() + 48 * HOUR)
        model = _Model()
        rounds = rounds_of(res)
        for op in ops:
            await _apply(op, svc, rounds, model)
            await _check(engine, model)
        async with engine.connect() as conn:
            fees = (await conn.execute(select(balances.c.available).where(
                balances.c.account_id == EXCHANGE_FEES))).scalar()
        assert fees is None or fees >= 0
    finally:
        await svc.entry.close()
        await svc.engine.dispose()
        await engine.dispose()
        await client.aclose()


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(_op, min_size=1, max_size=14))
@example(ops=[("bid", "b0", 50, 2, 2), ("cancel", 0), ("bid", "b0", 60, 1, 2),
              ("halt", "b1"), ("round",), ("withdraw", "b0", Decimal("100")),
              ("deposit", "b1", Decimal("0.03")), ("bid", "b1", 1, 1, 1), ("round",)])
@example(ops=[("bid", "b0", 200, 4, 3), ("round",), ("resell", "b0", 0, 2, 1, 1),
              ("deposit", "b1", Decimal("300")), ("bid", "b1", 200, 2, 2), ("round",),
              ("resell", "b1", 0, 1, 0, 1), ("bid", "b0", 100, 1, 1), ("cancel", 1),
              ("round",)])
@example(ops=[("bid", "b0", 50, 2, 2), ("round",), ("outage", 0, 30, 7),
              ("outage", 0, 30, 7), ("outage", 8, 8, None), ("withdraw", "b0", Decimal("1"))])
def test_the_ledger_balances_after_every_operation(ops: list[tuple[Any, ...]],
                                                   settings: Any) -> None:
    base = settings.model_copy(update={"fee_bps": 250, "horizon_hours": 48,
                                       "solve_time_limit_seconds": 5.0})
    asyncio.run(_example(base, [("deposit", "b0", Decimal("300")), *ops, ("round",)]))


async def test_concurrent_bids_of_one_account_never_spend_the_same_funds_twice(
        resources: Any, engine: Any) -> None:
    from gpux.entrypoints.api.deps import build_services

    async with engine.begin() as conn:
        await add_account(conn, "lab", "buyer")
    svc = build_services(resources)
    try:
        await svc.funds.deposit(ADMIN, "lab", Decimal("1000"))
        lab = Account("lab", "Lab", "buyer")
        outcomes = await asyncio.gather(*(
            svc.orders.place_bid(lab, _bid(f"c{i}", 150, 2, 1)) for i in range(10)),
            return_exceptions=True)
        placed = [o for o in outcomes if not isinstance(o, BaseException)]
        refused = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(placed) == 6, refused
        assert all(isinstance(e, InsufficientFunds) for e in refused), refused
        balance = await svc.funds.balance(ADMIN, "lab")
        assert (balance.available, balance.held) == (Decimal(100), Decimal(900))
        async with engine.connect() as conn:
            assert await ledger_problems(conn) == []
    finally:
        await svc.entry.close()
        await svc.engine.dispose()


async def test_a_bid_never_fills_against_its_own_accounts_ask(resources: Any,
                                                             engine: Any) -> None:
    from gpux.entrypoints.worker import rounds_of

    h0 = this_hour()
    async with engine.begin() as conn:
        await add_account(conn, "ops", "admin")
        await add_account(conn, "alice", "buyer")
        await add_pool(conn, "p1", "ops", gpus=4)
        await add_ask(conn, "ops", "p1", gpus=4, price="1", starts_at=h0 - HOUR,
                      ends_at=h0 + 48 * HOUR)
        own = await add_bid(conn, "ops", Alt(Decimal("500"), h0 + 3 * HOUR, h0 + 20 * HOUR,
                                             (Leg(4, 4),)))
        other = await add_bid(conn, "alice", Alt(Decimal("20"), h0 + 3 * HOUR,
                                                 h0 + 20 * HOUR, (Leg(4, 4),)))
    await rounds_of(resources).clear_round(datetime.now(UTC))
    status = {o.id: o.status for o in await rows(engine, orders)}
    assert (status[own], status[other]) == ("open", "filled")
    async with engine.connect() as conn:
        assert await ledger_problems(conn) == []
        held = (await conn.execute(select(balances.c.held).where(
            balances.c.account_id == "alice"))).scalar_one()
    assert held == 0


async def test_an_expired_bid_gets_its_hold_back(resources: Any, engine: Any) -> None:
    from gpux.entrypoints.worker import rounds_of

    h0 = this_hour()
    async with engine.begin() as conn:
        await add_account(conn, "alice", "buyer")
        gone = await add_bid(conn, "alice", Alt(Decimal("20"), h0 - 5 * HOUR, h0 - 2 * HOUR,
                                                (Leg(1, 1),)))
    await rounds_of(resources).clear_round(datetime.now(UTC))
    assert {o.id: o.status for o in await rows(engine, orders)}[gone] == "expired"
    async with engine.connect() as conn:
        assert await ledger_problems(conn) == []
        row = (await conn.execute(select(balances).where(
            balances.c.account_id == "alice"))).one()
    assert (row.available, row.held) == (Decimal(20), Decimal(0))
