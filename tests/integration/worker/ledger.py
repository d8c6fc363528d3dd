"""Assertions every cleared market must satisfy, read from the tables and the streams."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from orderrows import HOUR, rows
from sqlalchemy.ext.asyncio import AsyncEngine

from gpux.adapters.postgres.ledger import ledger_problems
from gpux.adapters.postgres.tables import auctions, contracts, fills, orders, outbox
from gpux.adapters.redis.streams import read_stream


async def assert_books_balance(engine: AsyncEngine) -> None:
    """Per pool and hour bids take exactly what asks deliver; money balances per auction;
    no bid is filled in two auctions or by two alternatives; one contract per bid fill."""
    all_fills = await rows(engine, fills)
    taken: dict[tuple[str, Any], int] = defaultdict(int)
    money: dict[int, Decimal] = defaultdict(Decimal)
    placements: dict[int, set[tuple[int, int | None]]] = defaultdict(set)
    for f in all_fills:
        sign = 1 if f.side == "bid" else -1
        t = f.starts_at
        while t < f.ends_at:
            taken[f.pool_id, t] += sign * f.gpus
            t += HOUR
        money[f.auction_id] += sign * f.amount
        if f.side == "bid":
            placements[f.order_id].add((f.auction_id, f.alternative))
    assert {k: v for k, v in taken.items() if v} == {}
    assert {k: v for k, v in money.items() if v} == {}
    assert all(len(p) == 1 for p in placements.values()), placements
    bid_fills = [f for f in all_fills if f.side == "bid"]
    held = await rows(engine, contracts)
    assert sorted(c.fill_id for c in held) == sorted(f.id for f in bid_fills)
    filled = {o.id for o in await rows(engine, orders, orders.c.side == "bid",
                                       orders.c.status == "filled")}
    assert filled == set(placements)
    # No ask sold more than it offered in any hour.
    asks = {o.id: o for o in await rows(engine, orders, orders.c.side == "ask")}
    sold: dict[tuple[int, Any], int] = defaultdict(int)
    for f in all_fills:
        if f.side == "ask":
            t = f.starts_at
            while t < f.ends_at:
                sold[f.order_id, t] += f.gpus
                assert asks[f.order_id].starts_at <= t < asks[f.order_id].ends_at
                t += HOUR
    assert all(v <= asks[oid].gpus for (oid, _), v in sold.items())
    # Money: every ledger transaction sums to zero and the balances are the ledger's sums.
    async with engine.connect() as conn:
        assert await ledger_problems(conn) == []


async def assert_streams_complete(engine: AsyncEngine, redis: Any, fills_stream: str,
                                  auctions_stream: str) -> tuple[int, int]:
    """Every fill and every cleared auction is on its stream (duplicates only by event id);
    returns (fill entries, auction entries)."""
    fill_events = await read_stream(redis, fills_stream)
    auction_events = await read_stream(redis, auctions_stream)
    all_fills = await rows(engine, fills)
    cleared = await rows(engine, auctions, auctions.c.status == "cleared")
    assert {e.event_id for e in fill_events} == {f"fill:{f.auction_id}:{f.id}"
                                                 for f in all_fills}
    assert {e.event_id for e in auction_events} == {f"auction:{a.partition}:{a.id}"
                                                    for a in cleared}
    for e in fill_events:
        assert e.type == "fill" and e.payload["fill_id"] == int(e.event_id.rsplit(":", 1)[1])
    pending = await rows(engine, outbox, outbox.c.published_at.is_(None))
    assert pending == []
    return len(fill_events), len(auction_events)
