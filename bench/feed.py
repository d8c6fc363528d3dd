"""WebSocket feed fan-out: how long one round's result takes to reach 1,000 clients.

    python -m bench.feed [--clients 1000] [--rounds 7]

Starts one gateway (`gpux serve --no-worker`, uvicorn, one process) on a fresh database of the
configured PostgreSQL (`DATABASE_URL`, else the embedded server) and Redis, with stream names
of its own. Another process opens `--clients` WebSocket connections and subscribes each to
`auctions`. Then, `--rounds` times, this process XADDs one round's result (the payload the
worker's commit writes: 40 clearing prices, 4 index rows) to the auctions stream, as the
outbox relay would, and the client process notes when each connection has it. Reported per
round: the time from the XADD to the last client's receipt (and the median client's), over
rounds the median; messages per second (clients / time to the last); the gateway's RSS growth
per connection. Baseline in the same run: the same fan-out to a single client.

The gateway, the client process, PostgreSQL and Redis share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.orderentry import _free_port, _machine_busy, _wait_up

ROOT = Path(__file__).resolve().parents[1]


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _payload(auction_id: int) -> dict[str, Any]:
    from decimal import Decimal

    prices = [{"pool": f"pool-{i}", "starts_at": "2026-12-01T00:00:00Z",
               "ends_at": "2026-12-01T06:00:00Z", "price": Decimal("1.875000") + i}
              for i in range(40)]
    return {"type": "auction", "auction_id": auction_id, "partition": "main",
            "cutoff": "2026-11-30T12:00:00Z", "horizon_start": "2026-11-30T13:00:00Z",
            "horizon_end": "2026-12-07T13:00:00Z", "slots": 168, "status": "optimal",
            "bids": 400, "asks": 60, "accepted": 212, "fills": 530,
            "volume_gpu_hours": 153_600, "surplus": Decimal("48211.250000"),
            "bound": Decimal("48211.250000"), "prices": prices,
            "price_index": [{"gpu": g, "price": Decimal("2.10"), "gpu_hours": 1000}
                            for g in ("H100", "H200", "A100-80GB", "L40S")]}


def _clients_process(url: str, n: int, rounds: int, ready: Any, results: Any) -> None:
    """Open `n` connections; for each round report (auction id, receipt times)."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_clients(url, n, rounds, ready, results))


async def _clients(url: str, n: int, rounds: int, ready: Any, results: Any) -> None:
    from websockets.asyncio.client import connect

    got: dict[int, list[float]] = {}
    done = asyncio.Event()

    async def one() -> Any:
        ws = await connect(url, open_timeout=60, max_queue=64, compression=None)
        await ws.send('{"op": "subscribe", "channel": "auctions"}')
        while True:  # welcome, subscribed, snapshot
            msg = json.loads(await ws.recv())
            if msg.get("type") == "snapshot":
                return ws

    async def listen(ws: Any) -> None:
        async for text in ws:
            at = time.monotonic()
            if '"update"' not in text:
                continue
            auction_id = json.loads(text)["data"]["auction_id"]
            times = got.setdefault(auction_id, [])
            times.append(at)
            if len(times) == n:
                results.put((auction_id, times))
                if len(got) == rounds:
                    done.set()

    conns = []
    for start in range(0, n, 100):  # open in batches: a burst of 1,000 handshakes is unkind
        conns += await asyncio.gather(*(one() for _ in range(start, min(n, start + 100))))
    tasks = [asyncio.create_task(listen(ws)) for ws in conns]
    ready.put(len(conns))
    await done.wait()
    for ws in conns:
        await ws.close()
    for t in tasks:
        t.cancel()


async def _fan_out(redis: Any, stream: str, ws_url: str, clients: int, rounds: int,
                   gateway_pid: int) -> dict[str, Any]:
    from gpux.domain.jsonio import dumps

    ctx = mp.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    rss_before = _rss_kib(gateway_pid)
    proc = ctx.Process(target=_clients_process, args=(ws_url, clients, rounds, ready, results))
    proc.start()
    await asyncio.to_thread(ready.get, True, 300)
    await asyncio.sleep(1.0)
    rss_after = _rss_kib(gateway_pid)
    last, median = [], []
    busy_before = _machine_busy()
    for k in range(1, rounds + 1):
        payload = _payload(10_000 * clients + k)
        sent = time.monotonic()
        await redis.xadd(stream, {"event_id": f"auction:bench:{k}", "type": "auction",
                                  "payload": dumps(payload, indent=None)})
        auction_id, times = await asyncio.to_thread(results.get, True, 120)
        assert auction_id == payload["auction_id"]
        last.append(max(times) - sent)
        median.append(statistics.median(times) - sent)
        await asyncio.sleep(0.5)
    busy_after = _machine_busy()
    await asyncio.to_thread(proc.join, 60)
    worst = statistics.median(last)
    return {
        "clients": clients, "rounds": rounds,
        "median_s_to_last_client": round(worst, 4),
        "median_s_to_median_client": round(statistics.median(median), 4),
        "max_s_to_last_client": round(max(last), 4),
        "messages_per_s": round(clients / worst) if worst > 0 else None,
        "gateway_rss_kib_per_connection": round((rss_after - rss_before) / clients, 1),
        "machine_cpu_busy": round((busy_after[0] - busy_before[0])
                                  / max(1, busy_after[1] - busy_before[1]), 2),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    import redis.asyncio as aioredis

    from gpux.bootstrap import fresh_database, migrate
    from gpux.config import Settings

    db_url, redis_url, embedded = await fresh_database(
        Settings(), f"gpux_feed_{uuid.uuid4().hex[:8]}")
    await migrate(db_url)
    tag = uuid.uuid4().hex[:8]
    stream = f"bench:{tag}:auctions"
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url,
           "GPUX_AUCTIONS_STREAM": stream, "GPUX_FILLS_STREAM": f"bench:{tag}:fills",
           "GPUX_ORDERS_STREAM": f"bench:{tag}:orders", "GPUX_SUPPLY_STREAM": f"bench:{tag}:supply",
           "GPUX_FEED_HEARTBEAT_SECONDS": "60",
           "GPUX_LOG_FORMAT": "text"}
    gateway = subprocess.Popen(
        [sys.executable, "-m", "gpux.entrypoints.cli", "serve", "--no-worker", "--port",
         str(port)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    redis = aioredis.from_url(redis_url)
    try:
        await _wait_up(f"http://127.0.0.1:{port}", gateway)
        ws_url = f"ws://127.0.0.1:{port}/ws"
        baseline = await _fan_out(redis, stream, ws_url, 1, args.rounds, gateway.pid)
        await asyncio.sleep(1.0)
        fan = await _fan_out(redis, stream, ws_url, args.clients, args.rounds, gateway.pid)
    finally:
        gateway.terminate()
        gateway.wait(30)
        await redis.delete(stream)
        await redis.aclose()
        del embedded
    ratio = fan["median_s_to_last_client"] / max(1e-9, baseline["median_s_to_last_client"])
    return {"fan_out": fan, "baseline_one_client": baseline,
            "ratio_last_client_vs_one_client": round(ratio, 1),
            "target_median_s": 1.0, "met": fan["median_s_to_last_client"] <= 1.0,
            "loadavg_at_end": Path("/proc/loadavg").read_text().split()[:3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main_async(args)), indent=2))


if __name__ == "__main__":
    main()
