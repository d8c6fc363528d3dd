"""`supply` between rounds: the worker leading the first partition republishes the open
supply and demand totals whenever the book changed, to a stream every gateway reads."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from feedkit import HOUR, Exchange, iso, next_message, send, start_hour, until
from websockets.asyncio.client import connect

from gpux.adapters.redis.supply import SupplyPublisher
from gpux.domain.jsonio import dumps

ROW = {"gpu", "region", "day", "supply_gpu_hours", "asks", "demand_gpu_hours", "bids"}


async def _bid(exchange: Exchange, cid: str) -> dict[str, Any]:
    h0 = start_hour()
    async with exchange.http("lab") as http:
        r = await http.post("/bids", json={"client_order_id": cid, "alternatives": [{
            "value": "100", "earliest_start": iso(h0), "latest_end": iso(h0 + 24 * HOUR),
            "legs": [{"gpus": 3, "duration_hours": 4, "gpu": ["H100"]}]}]})
        assert r.status_code == 201, r.text
        return {**r.json(), "day": iso(h0)[:10]}


def _publisher(exchange: Exchange) -> SupplyPublisher:
    conf = exchange.res.settings
    return SupplyPublisher(exchange.res.engine, exchange.res.redis, conf.supply_stream,
                           maxlen=1000, every_seconds=60)


def _bids(msg: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in msg["data"]["supply"] if r["bids"]]


async def test_a_bid_placed_between_rounds_shows_up_in_supply_as_a_total_before_any_round(
        exchange: Exchange) -> None:
    from gpux.entrypoints.worker import run_worker

    # Rounds an hour apart: the worker clears the last cutoff when it starts, then none
    # while this test runs; its supply publisher looks at the book five times a second.
    conf = exchange.res.settings.model_copy(update={"auction_interval_seconds": 3600.0,
                                                    "feed_supply_seconds": 0.2})
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(dataclasses.replace(exchange.res, settings=conf),
                                            stop=stop))
    try:
        async with connect(exchange.ws_url) as ws:
            await next_message(ws)
            await send(ws, op="subscribe", channel="supply")
            await next_message(ws)
            snap = await next_message(ws)
            assert snap["type"] == "snapshot" and not _bids(snap)
            order = await _bid(exchange, "between")
            seen = await until(ws, lambda m: m.get("channel") == "supply" and _bids(m))
    finally:
        stop.set()
        await worker
    update = seen[-1]
    assert update["type"] == "update"
    assert _bids(update) == [{"gpu": "H100", "region": "any", "day": order["day"],
                              "supply_gpu_hours": 0, "asks": 0, "demand_gpu_hours": 12,
                              "bids": 1}]
    assert all(set(r) == ROW for r in update["data"]["supply"])
    text = dumps(update)
    assert "lab" not in text and "between" not in text and "order_id" not in text
    # No round took it: the bid is still open and no round has had a bid.
    async with exchange.http("lab") as http:
        assert (await http.get(f"/orders/{order['id']}")).json()["status"] == "open"
        rounds = (await http.get("/auctions?limit=20")).json()["items"]
    assert all(a["bids"] == 0 for a in rounds)


async def test_supply_is_published_again_only_when_the_book_changed(exchange: Exchange) -> None:
    from gpux.adapters.redis.streams import read_stream

    publisher = _publisher(exchange)
    assert await publisher.publish_once()
    assert not await publisher.publish_once()
    await _bid(exchange, "one")
    assert await publisher.publish_once()
    # A new leader's publisher finds the book as the stream's last entry has it.
    assert not await _publisher(exchange).publish_once()
    entries = await read_stream(exchange.res.redis, exchange.res.settings.supply_stream)
    assert [[r["bids"] for r in e.payload["supply"]] for e in entries] == [[], [1]]


async def test_two_publishers_never_append_the_same_book_twice(exchange: Exchange) -> None:
    # e.g. a worker pinned to a partition outside the region map runs a second publisher
    from gpux.adapters.redis.streams import read_stream

    first, second = _publisher(exchange), _publisher(exchange)
    assert await first.publish_once()
    assert not await second.publish_once()
    await _bid(exchange, "one")
    # each one's memory is stale for the other's appends; the stream decides
    results = await asyncio.gather(first.publish_once(), second.publish_once())
    assert sorted(results) == [False, True]
    assert not await first.publish_once() and not await second.publish_once()
    entries = await read_stream(exchange.res.redis, exchange.res.settings.supply_stream)
    assert [[r["bids"] for r in e.payload["supply"]] for e in entries] == [[], [1]]
