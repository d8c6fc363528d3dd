"""`gpux demo`: a whole exchange on one machine for a couple of minutes.

It starts the API and the clearing worker (on the embedded servers unless `DATABASE_URL` /
`REDIS_URL` are set) in a fresh `gpux_demo` database, seeds providers and buyers from the
market generator over HTTP, lets several auctions clear as the buyers arrive in waves, and
prints what cleared: per-round figures, the price index per GPU model and a few fills.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from gpux.config import Settings
from gpux.domain.jsonio import dumps, loads

HOUR = timedelta(hours=1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pool_sizes(doc: dict[str, Any]) -> dict[str, int]:
    """Physical size of each generated pool: the most GPUs its asks offer in any one hour."""
    per: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    providers = {p["id"]: p["provider"] for p in doc["pools"]}
    for ask in doc["asks"]:
        if ask["seller"] != providers[ask["pool"]]:
            continue
        for t in range(ask["start"], ask["end"]):
            per[ask["pool"]][t] += ask["gpus"]
    return {pool: max(hours.values()) for pool, hours in per.items()}


def _bid_body(bid: dict[str, Any], h0: datetime) -> dict[str, Any]:
    alts = []
    for alt in bid["alternatives"]:
        legs = []
        for leg in alt["legs"]:
            body = {"gpus": leg["gpus"], "duration_hours": leg["duration"],
                    "offset_hours": leg["offset"]}
            body.update({k: leg[k] for k in ("gpu", "regions", "min_uptime", "pools")
                         if k in leg})
            legs.append(body)
        alts.append({"value": alt["value"],
                     "earliest_start": _iso(h0 + alt["earliest_start"] * HOUR),
                     "latest_end": _iso(h0 + alt["latest_end"] * HOUR), "legs": legs})
    return {"client_order_id": bid["id"], "alternatives": alts}


class Demo:
    """One demo run: the servers, the HTTP client, the seeded accounts."""

    def __init__(self, base_url: str, admin_key: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30.0)
        self.admin = {"Authorization": f"Bearer {admin_key}"}
        self.keys: dict[str, dict[str, str]] = {}

    async def call(self, method: str, path: str, who: dict[str, str],
                   body: Any = None) -> Any:
        content = None if body is None else dumps(body, indent=None)
        resp = await self.http.request(method, path, headers={
            **who, "content-type": "application/json"}, content=content)
        if resp.status_code >= 400:
            raise RuntimeError(f"{method} {path} -> {resp.status_code}: {resp.text}")
        return loads(resp.text)

    async def account(self, account_id: str, role: str) -> dict[str, str]:
        await self.call("POST", "/accounts", self.admin,
                        {"id": account_id, "name": account_id, "role": role})
        key = await self.call("POST", f"/accounts/{account_id}/keys", self.admin, {})
        self.keys[account_id] = {"Authorization": f"Bearer {key['key']}"}
        return self.keys[account_id]

    async def seed_supply(self, doc: dict[str, Any], h0: datetime) -> None:
        sizes = _pool_sizes(doc)
        for provider in sorted({p["provider"] for p in doc["pools"]}):
            await self.account(provider, "provider")
        for pool in doc["pools"]:
            await self.call("POST", "/pools", self.keys[pool["provider"]], {
                "id": pool["id"], "gpu": pool["gpu"], "region": pool["region"],
                "uptime": pool["uptime"], "gpus": sizes.get(pool["id"], 1)})
        providers = {p["id"]: p["provider"] for p in doc["pools"]}
        for ask in doc["asks"]:
            if ask["seller"] != providers[ask["pool"]]:
                continue  # a buyer reselling time it holds: resale comes with settlement
            await self.call("POST", "/asks", self.keys[ask["seller"]], {
                "client_order_id": ask["id"], "pool": ask["pool"], "gpus": ask["gpus"],
                "starts_at": _iso(h0 + ask["start"] * HOUR),
                "ends_at": _iso(h0 + ask["end"] * HOUR), "price": ask["price"]})

    async def seed_bids(self, bids: list[dict[str, Any]], h0: datetime) -> int:
        placed = 0
        # Each bid holds its largest value: deposit that much for each before placing it.
        funds: dict[str, Decimal] = {}
        for bid in bids:
            funds[bid["buyer"]] = funds.get(bid["buyer"], Decimal(0)) + max(
                Decimal(str(a["value"])) for a in bid["alternatives"])
        for buyer, amount in funds.items():
            if buyer not in self.keys:
                await self.account(buyer, "buyer")
            await self.call("POST", f"/accounts/{buyer}/deposits", self.admin,
                            {"amount": str(amount)})
        for bid in bids:
            await self.call("POST", "/bids", self.keys[bid["buyer"]], _bid_body(bid, h0))
            placed += 1
        return placed

    async def next_round(self, after: int, deadline: float) -> dict[str, Any] | None:
        """The first cleared auction with an id above `after`, waiting up to `deadline`."""
        while time.monotonic() < deadline:
            page = await self.call("GET", "/auctions?limit=5", self.admin)
            done = [a for a in page["items"] if a["id"] > after and a["status"] == "cleared"]
            if done:
                first: dict[str, Any] = min(done, key=lambda a: a["id"])
                return first
            await asyncio.sleep(0.5)
        return None


def _round_line(a: dict[str, Any]) -> str:
    return (f"auction {a['id']:>3}  cutoff {a['cutoff']}  bids {a['bids']:>4}  asks "
            f"{a['asks']:>3}  status {a.get('solve_status') or '-':<8}  volume "
            f"{a.get('volume_gpu_hours') or 0:>7} GPU-h  surplus ${a.get('surplus') or 0}")


async def _run(settings: Settings, *, bids: int, rounds: int, seed: int) -> int:
    import uvicorn

    from gpux.bootstrap import open_resources
    from gpux.entrypoints.api.app import create_app
    from gpux.entrypoints.worker import run_worker
    from gpux.marketgen.market import generate_market

    async with open_resources(settings, run_migrations=True) as res:
        port = _free_port()
        app = create_app(settings, resources=res)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="on"))
        stop = asyncio.Event()
        tasks = [asyncio.create_task(server.serve()),
                 asyncio.create_task(run_worker(res, stop=stop))]
        while not server.started:
            await asyncio.sleep(0.05)
        assert settings.admin_key is not None
        demo = Demo(f"http://127.0.0.1:{port}", settings.admin_key)
        try:
            return await _drive(demo, generate_market(bids, seed, slots=settings.horizon_hours),
                                settings, rounds)
        finally:
            await demo.http.aclose()
            stop.set()
            server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)


async def _drive(demo: Demo, doc: dict[str, Any], settings: Settings, rounds: int) -> int:
    now = datetime.now(UTC)
    h0 = now.replace(minute=0, second=0, microsecond=0) + HOUR
    print(f"gpux demo: {len(doc['pools'])} pools, {len(doc['asks'])} asks, "
          f"{len(doc['bids'])} bids in {rounds} waves; auctions every "
          f"{settings.auction_interval_seconds:g} s; delivery from {_iso(h0)}", flush=True)
    await demo.seed_supply(doc, h0)
    waves = [doc["bids"][i::rounds] for i in range(rounds)]
    last, cleared = 0, []
    for i, wave in enumerate(waves, 1):
        placed = await demo.seed_bids(wave, h0)
        print(f"wave {i}: {placed} bids placed", flush=True)
        got = await demo.next_round(last, time.monotonic() + 4 * settings.auction_interval_seconds
                                    + 2 * settings.solve_time_limit_seconds + 30)
        if got is None:
            print("no auction cleared in time")
            return 1
        # A round may have frozen before the wave was complete; wait for the next one too.
        later = await demo.next_round(got["id"], time.monotonic() + 2 *
                                      settings.auction_interval_seconds
                                      + settings.solve_time_limit_seconds + 10)
        for a in (got, later):
            if a is not None:
                print(_round_line(a), flush=True)
                cleared.append(a)
                last = a["id"]
    await _summary(demo, cleared)
    return 0


async def _summary(demo: Demo, cleared: list[dict[str, Any]]) -> None:
    volume = sum(int(a.get("volume_gpu_hours") or 0) for a in cleared)
    surplus = sum((Decimal(str(a.get("surplus") or 0)) for a in cleared), Decimal(0))
    print(f"\n{len(cleared)} auctions cleared: {volume} GPU-hours traded, "
          f"total surplus ${surplus}")
    index = await demo.call("GET", "/prices/index", demo.admin)
    print("\nprice index (GPU-hour weighted clearing price of the last round that traded):")
    for row in index:
        price = Decimal(str(row["price"])).quantize(Decimal("0.01"))
        print(f"  {row['gpu']:<10} ${price:>6} per GPU-hour  "
              f"({row['gpu_hours']} GPU-h, auction {row['auction_id']})")
    shown = 0
    print("\nsome fills:")
    for account, who in demo.keys.items():
        page = await demo.call("GET", "/fills?limit=3", who)
        for f in page["items"]:
            if f["side"] == "bid" and shown < 6:
                print(f"  {account:<8} {f['gpus']:>3} GPUs of {f['pool']:<6} "
                      f"{f['starts_at']} -> {f['ends_at']}  pays ${f['amount']}")
                shown += 1
        if shown >= 6:
            break


def run_demo(*, bids: int = 400, rounds: int = 4, seed: int = 7,
             interval: float = 10.0) -> int:
    """Run the demo; returns the exit status."""
    base = Settings()
    settings = base.model_copy(update={
        "auction_interval_seconds": interval,
        "solve_time_limit_seconds": max(1.0, min(base.solve_time_limit_seconds, interval / 2)),
        "admin_key": base.admin_key or "gpux-demo-" + secrets.token_hex(12),
        "data_dir": base.data_dir,
    })
    return asyncio.run(_with_demo_database(settings, bids=bids, rounds=rounds, seed=seed))


async def _with_demo_database(settings: Settings, *, bids: int, rounds: int, seed: int) -> int:
    from gpux.bootstrap import fresh_database

    db_url, redis_url, embedded = await fresh_database(settings, "gpux_demo")
    demo_settings = settings.model_copy(update={"database_url": db_url,
                                                "redis_url": redis_url})
    try:
        return await _run(demo_settings, bids=bids, rounds=rounds, seed=seed)
    finally:
        del embedded  # the embedded servers may stop once the demo is over
