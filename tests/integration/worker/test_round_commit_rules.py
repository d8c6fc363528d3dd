"""Commit rules of a round: cancels wait for the commit, a frozen round is resumed from its
stored book, expiry, a sold-out ask, and a round committed only once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ledger import assert_books_balance, assert_streams_complete
from orderrows import (
    HOUR,
    Alt,
    Leg,
    add_account,
    add_ask,
    add_bid,
    add_pool,
    count,
    rows,
    status_of,
    this_hour,
)
from sqlalchemy import update

from gpux.adapters.postgres.tables import auctions, fills, orders
from gpux.entrypoints.worker import rounds_of, run_worker


async def _provider_and_buyers(engine: Any, *, ask_gpus: int = 8,
                               hours: int = 48) -> tuple[int, Any]:
    h0 = this_hour()
    async with engine.begin() as conn:
        await add_account(conn, "acme", "provider")
        await add_account(conn, "alice", "buyer")
        await add_account(conn, "bob", "buyer")
        await add_pool(conn, "acme-h100", "acme", gpus=8)
        ask = await add_ask(conn, "acme", "acme-h100", gpus=ask_gpus, price="2",
                            starts_at=h0 - HOUR, ends_at=h0 + hours * HOUR)
    return ask, h0


async def _bid(engine: Any, who: str, value: str, h0: Any, gpus: int = 4,
               hours: int = 3) -> int:
    async with engine.begin() as conn:
        return await add_bid(conn, who, Alt(Decimal(value), h0 + 3 * HOUR, h0 + 30 * HOUR,
                                            (Leg(gpus, hours),)))


def _now() -> datetime:
    return datetime.now(UTC)


async def test_a_cancel_requested_while_frozen_is_honoured_at_commit_if_unfilled(
        resources: Any, engine: Any) -> None:
    _, h0 = await _provider_and_buyers(engine)
    filled = await _bid(engine, "alice", "100", h0)
    unfilled = await _bid(engine, "bob", "1", h0)  # below the reserve: never trades
    rounds = rounds_of(resources)
    frozen = await rounds.freeze(_now())
    assert frozen is not None
    async with engine.begin() as conn:
        await conn.execute(update(orders).where(orders.c.id.in_([filled, unfilled]))
                           .values(cancel_requested=True))
    (outcome,) = await rounds.resume()
    assert outcome.status == "cleared" and outcome.resumed
    assert await status_of(engine, filled) == "filled"
    assert await status_of(engine, unfilled) == "cancelled"
    assert await count(engine, orders, orders.c.frozen_auction_id.is_not(None)) == 0


async def test_an_order_cancel_requested_before_freezing_is_cancelled_not_frozen(
        resources: Any, engine: Any) -> None:
    _, h0 = await _provider_and_buyers(engine)
    bid = await _bid(engine, "alice", "100", h0)
    async with engine.begin() as conn:
        await conn.execute(update(orders).where(orders.c.id == bid)
                           .values(cancel_requested=True))
    await rounds_of(resources).clear_round(_now())
    assert await status_of(engine, bid) == "cancelled"
    assert await count(engine, fills) == 0


async def test_a_frozen_round_is_resumed_from_its_stored_book_not_refrozen(
        resources: Any, engine: Any) -> None:
    _, h0 = await _provider_and_buyers(engine)
    first = await _bid(engine, "alice", "100", h0)
    cutoff = _now()
    frozen = await rounds_of(resources).freeze(cutoff)  # then the worker "crashes"
    assert frozen is not None
    auction_id, book = frozen
    later = await _bid(engine, "bob", "500", h0)  # placed while the round was frozen
    async with engine.begin() as conn:  # even if it claims an early creation time
        await conn.execute(update(orders).where(orders.c.id == later)
                           .values(created_at=cutoff - timedelta(hours=1)))

    outcomes = await rounds_of(resources).clear_round(_now() + timedelta(seconds=1))
    assert (outcomes[0].auction_id, outcomes[0].status, outcomes[0].resumed) == (
        auction_id, "cleared", True)
    (stored,) = await rows(engine, auctions, auctions.c.id == auction_id)
    assert stored.book == book and stored.status == "cleared"
    first_round = await rows(engine, fills, fills.c.auction_id == auction_id)
    assert {f.order_id for f in first_round if f.side == "bid"} == {first}
    # The later bid only trades in the next round, which froze it afresh.
    assert len(outcomes) == 2 and outcomes[1].status == "cleared"
    assert await status_of(engine, later) == "filled"
    await assert_books_balance(engine)


async def test_a_round_another_worker_committed_is_not_committed_again(
        resources: Any, engine: Any) -> None:
    _, h0 = await _provider_and_buyers(engine)
    await _bid(engine, "alice", "100", h0)
    rounds = rounds_of(resources)
    assert await rounds.freeze(_now()) is not None
    one, two = rounds_of(resources), rounds_of(resources)
    (first,) = await one.resume()
    assert first.status == "cleared"
    # A second solver of the same frozen round (a deposed leader) finds it cleared.
    (auction,) = await rows(engine, auctions)
    again = await two._solve_and_commit(auction.id, auction.cutoff, auction.book,
                                        resumed=True)
    assert again.status == "taken"
    assert await count(engine, fills, fills.c.side == "bid") == 1


async def test_expired_orders_close_and_a_sold_out_ask_is_filled(resources: Any,
                                                                 engine: Any) -> None:
    h0 = this_hour()
    async with engine.begin() as conn:
        await add_account(conn, "acme", "provider")
        await add_account(conn, "alice", "buyer")
        await add_pool(conn, "acme-h100", "acme", gpus=8)
        # 2 GPUs for exactly the 3 hours alice wants; she pays far above the reserve.
        start = h0 + 5 * HOUR
        ask = await add_ask(conn, "acme", "acme-h100", gpus=2, price="1",
                            starts_at=start, ends_at=start + 3 * HOUR)
        bid = await add_bid(conn, "alice", Alt(Decimal("90"), start, start + 3 * HOUR,
                                               (Leg(2, 3),)))
        old_ask = await add_ask(conn, "acme", "acme-h100", gpus=1, price="1",
                                starts_at=h0 - 5 * HOUR, ends_at=h0)
        old_bid = await add_bid(conn, "alice", Alt(Decimal("9"), h0 - 5 * HOUR, h0 + HOUR,
                                                   (Leg(1, 3),)))
    await run_worker(resources, max_rounds=1)
    assert await status_of(engine, bid) == "filled"
    assert await status_of(engine, ask) == "filled"
    assert await status_of(engine, old_ask) == "expired"
    assert await status_of(engine, old_bid) == "expired"
    s = resources.settings
    await assert_streams_complete(engine, resources.redis, s.fills_stream, s.auctions_stream)
