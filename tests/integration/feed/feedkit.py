"""A running exchange for the feed, SDK and CLI tests: uvicorn on a free port, three accounts,
an ask and two bids, and a helper that clears rounds until every seeded bid has left the book.

Rounds cut off every second, so a cutoff may fall between two bids of `seed_book`: the first
round then holds only some of them. Clearing therefore goes on until each bid seeded so far
has left the book, not merely until some round had bids (that stopped the worker with uni's
bid still open, and the tests waiting for uni's fill hung)."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection

from gpux.domain.jsonio import dumps, loads

ADMIN_KEY = "feed-admin-key"
HOUR = timedelta(hours=1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def start_hour(hours_ahead: int = 2) -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + hours_ahead * HOUR


@dataclass
class Exchange:
    """The API at `url`, its resources, and the keys of admin, acme (provider), lab, uni."""

    url: str
    res: Any
    keys: dict[str, str] = field(default_factory=dict)
    seeded: list[tuple[str, int]] = field(default_factory=list)  # (account, bid id)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"

    def http(self, who: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url,
                                 headers={"Authorization": f"Bearer {self.keys[who]}"})

    async def seed_book(self, suffix: str = "1") -> None:
        """A 16-GPU H100 ask and two bids (lab 12 GPUs, uni 8 GPUs), all for 10 hours."""
        h0 = start_hour()
        async with self.http("acme") as acme:
            r = await acme.post("/asks", json={
                "client_order_id": f"ask-{suffix}", "pool": "acme-h100", "gpus": 16,
                "starts_at": iso(h0), "ends_at": iso(h0 + 48 * HOUR), "price": "1.50"})
            assert r.status_code in (200, 201), r.text
        for who, gpus, value in (("lab", 12, "400"), ("uni", 8, "300")):
            async with self.http(who) as c:
                r = await c.post("/bids", json={
                    "client_order_id": f"bid-{suffix}", "alternatives": [{
                        "value": value, "earliest_start": iso(h0),
                        "latest_end": iso(h0 + 24 * HOUR),
                        "legs": [{"gpus": gpus, "duration_hours": 10, "gpu": ["H100"],
                                  "regions": ["us-east"]}]}]})
                assert r.status_code in (200, 201), r.text
                self.seeded.append((who, int(r.json()["id"])))

    async def _open_seeded_bids(self) -> list[tuple[str, int]]:
        still = []
        for who, order_id in self.seeded:
            async with self.http(who) as c:
                r = await c.get(f"/orders/{order_id}")
                assert r.status_code == 200, r.text
                if r.json()["status"] == "open":
                    still.append((who, order_id))
        return still

    async def clear_until_traded(self, timeout: float = 60.0) -> int:
        """Run the worker until every seeded bid has left the book (a cutoff may fall between
        two of them, so that takes more than one round); the last round with bids."""
        from gpux.entrypoints.worker import run_worker

        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(self.res, stop=stop))
        deadline = time.monotonic() + timeout
        try:
            async with httpx.AsyncClient(base_url=self.url) as http:
                while time.monotonic() < deadline:
                    # Bids first: the round that took the last of them committed with it, so
                    # the auctions read after this one include that round.
                    if not await self._open_seeded_bids():
                        page = (await http.get("/auctions?limit=20")).json()
                        done = [a for a in page["items"]
                                if a["status"] == "cleared" and a["bids"] > 0]
                        if done:
                            return int(done[0]["id"])
                    await asyncio.sleep(0.2)
        finally:
            stop.set()
            await worker
        raise AssertionError(f"seeded bids still open: {await self._open_seeded_bids()}")


async def fund(admin: httpx.AsyncClient, account_id: str) -> None:
    """Deposit enough for any test bid (bids hold funds where the exchange keeps a ledger)."""
    r = await admin.post(f"/accounts/{account_id}/deposits", json={"amount": "100000"})
    assert r.status_code in (201, 404, 405), r.text


async def open_exchange(settings: Any) -> tuple[Exchange, Any, Any]:
    """Serve the API with uvicorn; (exchange, server, serve task)."""
    import uvicorn

    from gpux.bootstrap import open_resources
    from gpux.entrypoints.api.app import create_app

    conf = settings.model_copy(update={"admin_key": ADMIN_KEY, "feed_heartbeat_seconds": 1.0})
    port = free_port()
    stack = open_resources(conf)
    res = await stack.__aenter__()
    server = uvicorn.Server(uvicorn.Config(create_app(conf, res), host="127.0.0.1", port=port,
                                           log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    ex = Exchange(f"http://127.0.0.1:{port}", res, {"admin": ADMIN_KEY})
    async with ex.http("admin") as admin:
        for account_id, role in (("acme", "provider"), ("lab", "buyer"), ("uni", "buyer")):
            r = await admin.post("/accounts", json={"id": account_id, "name": account_id,
                                                    "role": role})
            assert r.status_code == 201, r.text
            ex.keys[account_id] = (await admin.post(f"/accounts/{account_id}/keys")).json()["key"]
            await fund(admin, account_id)
    async with ex.http("acme") as acme:
        r = await acme.post("/pools", json={"id": "acme-h100", "gpu": "H100",
                                            "region": "us-east", "uptime": "99.99", "gpus": 16})
        assert r.status_code == 201, r.text
    return ex, server, (task, stack)


async def next_message(ws: ClientConnection, timeout: float = 30.0, *,
                       skip: tuple[str, ...] = ("heartbeat",)) -> dict[str, Any]:
    """The next message (heartbeats skipped), within `timeout` seconds in all."""
    # One deadline for the whole wait: heartbeats arrive every second, so a timeout per
    # message received would never expire while the awaited message never came.
    async with asyncio.timeout(timeout):
        while True:
            msg: dict[str, Any] = loads(str(await ws.recv()))
            if msg.get("type") not in skip:
                return msg


async def until(ws: ClientConnection, want: Any, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Messages up to and including the first for which `want` holds."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while True:
            msg = await next_message(ws, timeout)
            seen.append(msg)
            if want(msg):
                return seen


async def send(ws: ClientConnection, **op: Any) -> None:
    """Send one op as JSON text."""
    await ws.send(dumps(op, indent=None))


def auth(key: str) -> dict[str, str]:
    """The upgrade request's header for an API key."""
    return {"Authorization": f"Bearer {key}"}
