"""A round end to end on real PostgreSQL and Redis: a provider's ask, two buyers' bids, one
round, then fills, contracts, prices, statuses and stream entries that all add up."""

from __future__ import annotations

from collections import defaultdict
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

from gpux.adapters.postgres.tables import auctions, contracts, fills, price_index, prices
from gpux.adapters.redis.streams import read_stream
from gpux.entrypoints.worker import run_worker


async def _market(engine: Any) -> dict[str, int]:
    h0 = this_hour()
    async with engine.begin() as conn:
        await add_account(conn, "acme", "provider")
        await add_account(conn, "alice", "buyer")
        await add_account(conn, "bob", "buyer")
        await add_pool(conn, "acme-h100", "acme", gpus=8)
        ask = await add_ask(conn, "acme", "acme-h100", gpus=8, price="2.5",
                            starts_at=h0 - HOUR, ends_at=h0 + 48 * HOUR)
        alice = await add_bid(conn, "alice", Alt(Decimal("200"), h0 + 3 * HOUR, h0 + 20 * HOUR,
                                                 (Leg(6, 4, gpu=("H100",)),)))
        bob = await add_bid(conn, "bob", Alt(Decimal("150"), h0 + 3 * HOUR, h0 + 20 * HOUR,
                                             (Leg(4, 3), Leg(2, 2, offset=3))))
        low = await add_bid(conn, "bob", Alt(Decimal("1"), h0 + 3 * HOUR, h0 + 20 * HOUR,
                                             (Leg(8, 4),)))
    return {"ask": ask, "alice": alice, "bob": bob, "low": low}


async def test_one_round_fills_both_buyers_and_publishes_every_fill(
        resources: Any, engine: Any) -> None:
    ids = await _market(engine)
    await run_worker(resources, max_rounds=1)

    (auction,) = await rows(engine, auctions)
    assert auction.status == "cleared" and auction.bids == 3 and auction.asks == 1
    assert auction.result["format"] == "gpu-auction-result/1"
    all_fills = await rows(engine, fills)
    bid_fills = [f for f in all_fills if f.side == "bid"]
    assert sorted((f.order_id, f.leg) for f in bid_fills) == [
        (ids["alice"], 0), (ids["bob"], 0), (ids["bob"], 1)]
    assert {f.account_id for f in bid_fills} == {"alice", "bob"}
    assert {f.account_id for f in all_fills if f.side == "ask"} == {"acme"}
    assert auction.volume_gpu_hours == 6 * 4 + 4 * 3 + 2 * 2

    # GPUs add up per pool and hour, and never exceed the ask.
    used: dict[Any, int] = defaultdict(int)
    for f in bid_fills:
        t = f.starts_at
        while t < f.ends_at:
            used[t] += f.gpus
            t += HOUR
    assert max(used.values()) <= 8
    await assert_books_balance(engine)

    held = await rows(engine, contracts)
    assert sorted((c.holder_id, c.provider_id, c.gpus) for c in held) == [
        ("alice", "acme", 6), ("bob", "acme", 2), ("bob", "acme", 4)]
    assert sum(c.price for c in held) == sum(f.amount for f in all_fills if f.side == "ask")
    assert await count(engine, prices, prices.c.auction_id == auction.id) >= 1
    (index,) = await rows(engine, price_index)
    assert index.gpu == "H100" and index.gpu_hours == auction.volume_gpu_hours
    assert index.price >= Decimal("2.5")

    assert await status_of(engine, ids["alice"]) == "filled"
    assert await status_of(engine, ids["bob"]) == "filled"
    assert await status_of(engine, ids["low"]) == "open"
    assert await status_of(engine, ids["ask"]) == "open"

    s = resources.settings
    n_fills, n_auctions = await assert_streams_complete(engine, resources.redis,
                                                        s.fills_stream, s.auctions_stream)
    assert (n_fills, n_auctions) == (len(all_fills), 1)
    (event,) = await read_stream(resources.redis, s.auctions_stream)
    assert event.event_id == f"auction:{s.partition}:{auction.id}"
    assert event.payload["volume_gpu_hours"] == auction.volume_gpu_hours
    assert event.payload["surplus"] == auction.surplus
    assert [p["gpu"] for p in event.payload["price_index"]] == ["H100"]
    by_day = event.payload["price_index_by_day"]
    assert {d["gpu"] for d in by_day} == {"H100"} and by_day
    assert sum(d["gpu_hours"] for d in by_day) == event.payload["price_index"][0]["gpu_hours"]


async def test_a_round_with_no_orders_still_records_an_auction(resources: Any,
                                                               engine: Any) -> None:
    await run_worker(resources, max_rounds=1)
    (auction,) = await rows(engine, auctions)
    assert auction.status == "cleared" and auction.bids == 0 and auction.volume_gpu_hours == 0
    events = await read_stream(resources.redis, resources.settings.auctions_stream)
    assert [e.event_id for e in events] == [f"auction:main:{auction.id}"]


def _sample(name: str, **labels: str) -> float:
    from gpux.adapters.metrics import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_cleared_round_moves_the_auction_metrics(resources: Any, engine: Any) -> None:
    part = resources.settings.partition
    before_rounds = sum(_sample("gpux_auctions_total", partition=part, status=s)
                        for s in ("optimal", "feasible"))
    before_hours = _sample("gpux_gpu_hours_cleared_total", gpu="H100", region="us-east")
    before_published = _sample("gpux_stream_events_published_total",
                               stream=resources.settings.fills_stream)
    await _market(engine)
    await run_worker(resources, max_rounds=1)

    after_rounds = sum(_sample("gpux_auctions_total", partition=part, status=s)
                       for s in ("optimal", "feasible"))
    assert after_rounds == before_rounds + 1
    # alice 6 GPUs x 4 h, bob 4 x 3 + 2 x 2: 40 GPU-hours of H100 in us-east.
    assert _sample("gpux_gpu_hours_cleared_total", gpu="H100", region="us-east") == (
        before_hours + 40)
    assert _sample("gpux_price_index_usd", gpu="H100") >= 2.5
    assert _sample("gpux_auction_solve_seconds_count", partition=part) >= 1
    assert _sample("gpux_stream_events_published_total",
                   stream=resources.settings.fills_stream) > before_published
    assert _sample("gpux_outbox_backlog") == 0
    assert _sample("gpux_open_orders", partition=part, side="bid") == 1  # the low bid
