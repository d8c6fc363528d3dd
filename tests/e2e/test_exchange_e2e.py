"""End to end: orders go in over HTTP, the worker clears them, fills come out of the API and
the Redis stream, and the GPUs add up."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from gpux.domain.jsonio import dumps, loads

HOUR = timedelta(hours=1)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Client:
    def __init__(self, http: httpx.AsyncClient, key: str) -> None:
        self.http, self.auth = http, {"Authorization": f"Bearer {key}"}

    async def __call__(self, method: str, path: str, body: Any = None,
                       expect: int | None = None) -> Any:
        resp = await self.http.request(
            method, path, headers={**self.auth, "content-type": "application/json"},
            content=None if body is None else dumps(body, indent=None))
        if expect is not None:
            assert resp.status_code == expect, resp.text
        else:
            assert resp.status_code < 400, resp.text
        return loads(resp.text)


async def _account(admin: Client, account_id: str, role: str) -> Client:
    await admin("POST", "/accounts", {"id": account_id, "name": account_id, "role": role})
    key = await admin("POST", f"/accounts/{account_id}/keys", {})
    if role == "buyer":  # a bid enters only with its value held from the balance
        await admin("POST", f"/accounts/{account_id}/deposits", {"amount": "100000"})
    return Client(admin.http, key["key"])


async def _wait_cleared(admin: Client, deadline: float) -> dict[str, Any]:
    while time.monotonic() < deadline:
        page = await admin("GET", "/auctions?limit=10")
        done = [a for a in page["items"] if a["status"] == "cleared" and a["bids"] > 0]
        if done:
            return done[0]
        await asyncio.sleep(0.2)
    raise AssertionError("no auction with bids cleared before the deadline")


async def test_orders_in_over_http_come_out_as_fills_in_the_api_and_on_the_stream(
        settings: Any, engine: Any) -> None:
    from gpux.adapters.redis.streams import read_stream
    from gpux.bootstrap import open_resources
    from gpux.entrypoints.api.app import create_app
    from gpux.entrypoints.worker import run_worker

    admin_key = "e2e-admin-" + secrets.token_hex(8)
    settings = settings.model_copy(update={"admin_key": admin_key,
                                           "auction_interval_seconds": 1.0})
    async with open_resources(settings) as res:
        app = create_app(settings, resources=res)
        stop = asyncio.Event()
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gpux") as http:
            admin = Client(http, admin_key)
            acme = await _account(admin, "acme", "provider")
            lab, uni = (await _account(admin, "lab", "buyer"),
                        await _account(admin, "uni", "buyer"))
            h0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + 2 * HOUR
            await acme("POST", "/pools", {"id": "acme-h100", "gpu": "H100",
                                          "region": "us-east", "uptime": "99.99", "gpus": 16})
            await acme("POST", "/asks", {"client_order_id": "ask-1", "pool": "acme-h100",
                                         "gpus": 16, "starts_at": _iso(h0),
                                         "ends_at": _iso(h0 + 48 * HOUR), "price": "1.50"})
            # lab wants 12 GPUs for 10 h, uni 8 GPUs for 10 h: only one of them fits at once,
            # but the window lets the other run after it.
            for who, gpus, value in ((lab, 12, "400"), (uni, 8, "300")):
                await who("POST", "/bids", {"client_order_id": "bid-1", "alternatives": [{
                    "value": value, "earliest_start": _iso(h0),
                    "latest_end": _iso(h0 + 24 * HOUR),
                    "legs": [{"gpus": gpus, "duration_hours": 10, "offset_hours": 0,
                              "gpu": ["H100"]}]}]})
            worker = asyncio.create_task(run_worker(res, stop=stop))
            try:
                auction = await _wait_cleared(admin, time.monotonic() + 60)
            finally:
                stop.set()
                await worker

            detail = await admin("GET", f"/auctions/{auction['id']}")
            assert detail["prices"], detail
            fills = {name: (await c("GET", "/fills"))["items"]
                     for name, c in (("lab", lab), ("uni", uni), ("acme", acme))}
            assert len(fills["lab"]) == 1 and len(fills["uni"]) == 1
            bought = sum((Decimal(str(f["amount"])) for n in ("lab", "uni")
                          for f in fills[n]), Decimal(0))
            sold = sum((Decimal(str(f["amount"])) for f in fills["acme"]), Decimal(0))
            assert bought == sold > 0
            # Per hour, GPUs bought equal GPUs sold and never exceed the pool's 16.
            used: dict[str, int] = defaultdict(int)
            supplied: dict[str, int] = defaultdict(int)
            for side, rows in (("bid", fills["lab"] + fills["uni"]), ("ask", fills["acme"])):
                for f in rows:
                    t = datetime.fromisoformat(f["starts_at"].replace("Z", "+00:00"))
                    end = datetime.fromisoformat(f["ends_at"].replace("Z", "+00:00"))
                    while t < end:
                        (used if side == "bid" else supplied)[_iso(t)] += f["gpus"]
                        t += HOUR
            assert used == supplied and max(used.values()) <= 16
            for name, c in (("lab", lab), ("uni", uni)):
                contracts = (await c("GET", "/contracts"))["items"]
                assert [(k["pool"], k["gpus"]) for k in contracts] == [
                    ("acme-h100", fills[name][0]["gpus"])]
                order = (await c("GET", "/orders"))["items"][0]
                assert order["status"] == "filled"

        expected = sum(len(rows) for rows in fills.values())
        deadline = time.monotonic() + 10
        fill_ids: list[str] = []
        while time.monotonic() < deadline and len(fill_ids) < expected:
            entries = await read_stream(res.redis, settings.fills_stream)
            fill_ids = [e.event_id for e in entries]
            await asyncio.sleep(0.2)
        assert len(fill_ids) == len(set(fill_ids)) == expected
        auctions = await read_stream(res.redis, settings.auctions_stream)
        assert f"auction:{settings.partition}:{auction['id']}" in {
            e.event_id for e in auctions}
