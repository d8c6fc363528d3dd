"""Two gateway processes (uvicorn subprocesses) serve the same feed: the same messages with the
same sequence numbers (an account's own, 1, 2, 3, ..., on private channels; the supply
stream's on `supply`), and a client may resume on the other one."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from feedkit import Exchange, free_port
from websockets.asyncio.client import ClientConnection, connect

from gpux.domain.jsonio import dumps, loads


@pytest.fixture
def gateways(exchange: Exchange) -> Iterator[list[str]]:
    """Two `gpux serve --no-worker` processes on the exchange's database and streams."""
    conf = exchange.res.settings
    env = {**os.environ, "DATABASE_URL": exchange.res.database_url,
           "REDIS_URL": exchange.res.redis_url, "GPUX_AUCTIONS_STREAM": conf.auctions_stream,
           "GPUX_FILLS_STREAM": conf.fills_stream, "GPUX_ORDERS_STREAM": conf.orders_stream,
           "GPUX_SUPPLY_STREAM": conf.supply_stream, "GPUX_FEED_HEARTBEAT_SECONDS": "1"}
    ports = [free_port(), free_port()]
    procs = [subprocess.Popen(
        [sys.executable, "-m", "gpux.entrypoints.cli", "serve", "--no-worker",
         "--port", str(p)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for p in ports]
    try:
        for proc, port in zip(procs, ports, strict=True):
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "gateway did not start"
                time.sleep(0.1)
        yield [f"ws://127.0.0.1:{p}/ws" for p in ports]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
            if proc.stderr:
                proc.stderr.close()


async def _collect(ws: ClientConnection, done: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    while not done(seen):
        text = await asyncio.wait_for(ws.recv(), 60)
        msg = loads(str(text))
        if "seq" in msg:
            seen.append(msg)
    return seen


async def _subscribe(ws: ClientConnection, *channels: str, since: str | None = None) -> None:
    for channel in channels:
        op: dict[str, Any] = {"op": "subscribe", "channel": channel}
        if since is not None:
            op["since"] = since
        await ws.send(dumps(op, indent=None))


async def test_two_gateways_send_the_same_messages_with_the_same_sequence_numbers(
        exchange: Exchange, gateways: list[str]) -> None:
    lab = {"Authorization": f"Bearer {exchange.keys['lab']}"}

    def traded(seen: list[dict[str, Any]]) -> bool:
        return any(m["channel"] == "auctions" and m["type"] == "update"
                   and m["data"]["fills"] > 0 for m in seen) and any(
            m["channel"] == "orders" and m["type"] == "update" for m in seen)

    async with connect(gateways[0], additional_headers=lab) as one, \
            connect(gateways[1], additional_headers=lab) as two:
        for ws in (one, two):
            await _subscribe(ws, "auctions", "fills", "orders")
        await exchange.seed_book()
        clearing = asyncio.create_task(exchange.clear_until_traded())
        seen_one, seen_two = await asyncio.gather(_collect(one, traded), _collect(two, traded))
        await clearing
    key = [(m["channel"], m["type"], m["seq"], dumps(m["data"])) for m in seen_one]
    assert key == [(m["channel"], m["type"], m["seq"], dumps(m["data"])) for m in seen_two]
    fills = [m for m in seen_one if m["channel"] == "fills" and m["type"] == "update"]
    assert fills and all(m["data"]["account_id"] == "lab" for m in fills)
    for channel in ("fills", "orders"):
        mine = [m for m in seen_one if m["channel"] == channel and m["type"] == "update"]
        assert [(m["seq"], m["prev"]) for m in mine] == [
            (f"0-{n}", f"0-{n - 1}") for n in range(1, len(mine) + 1)]

    # Resume on the other gateway from before the round: exactly the same fills again.
    snapshot = next(m for m in seen_one if m["channel"] == "fills" and m["type"] == "snapshot")
    async with connect(gateways[1], additional_headers=lab) as again:
        await _subscribe(again, "fills", since=snapshot["seq"])
        replay = await _collect(again, lambda s: len(s) == len(fills))
    assert [(m["seq"], m["data"]) for m in replay] == [(m["seq"], m["data"]) for m in fills]


async def test_two_gateways_serve_the_same_supply_updates_with_the_same_sequence_numbers(
        exchange: Exchange, gateways: list[str]) -> None:
    from feedkit import HOUR, iso, start_hour

    from gpux.adapters.redis.supply import SupplyPublisher

    conf = exchange.res.settings
    publisher = SupplyPublisher(exchange.res.engine, exchange.res.redis, conf.supply_stream,
                                maxlen=1000, every_seconds=60)
    async with connect(gateways[0]) as one, connect(gateways[1]) as two:
        for ws in (one, two):
            await _subscribe(ws, "supply")
        snaps = await asyncio.gather(*(_collect(ws, lambda s: len(s) == 1) for ws in (one, two)))
        h0 = start_hour()
        async with exchange.http("lab") as http:
            r = await http.post("/bids", json={"client_order_id": "s1", "alternatives": [{
                "value": "100", "earliest_start": iso(h0), "latest_end": iso(h0 + 24 * HOUR),
                "legs": [{"gpus": 2, "duration_hours": 4, "gpu": ["H100"]}]}]})
            assert r.status_code == 201, r.text
        assert await publisher.publish_once()
        updates = await asyncio.gather(*(_collect(ws, lambda s: len(s) == 1)
                                         for ws in (one, two)))
    assert snaps[0][0]["seq"] == snaps[1][0]["seq"]
    first, second = (u[0] for u in updates)
    assert first["type"] == "update" and first["prev"] == snaps[0][0]["seq"]
    assert (first["seq"], first["prev"], dumps(first["data"])) == (
        second["seq"], second["prev"], dumps(second["data"]))
    assert [r["bids"] for r in first["data"]["supply"]] == [1]
