"""Order entry through the API: bids per second and latency, against a do-nothing FastAPI.

    python -m bench.orderentry [--seconds 20] [--connections 32] [--accounts 64] [--workers 1]

Starts the API under uvicorn in a subprocess (`--workers` processes, default one) on a fresh
database of the configured PostgreSQL (`DATABASE_URL`, else the embedded server), creates
buyer accounts over the API, then a load generator in another process (asyncio, keep-alive
HTTP/1.1 connections) posts bids with unique client order ids for `--seconds`. The same load
then runs against `bench.orderentry_bare` (a FastAPI endpoint that does nothing) under the
same uvicorn settings. Prints one JSON document with orders/s, p50/p99 latency and the ratio.

Server, database and load generator share the machine's cores; the figures say so.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ADMIN_KEY = "gpux_bench_admin_key"
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _uvicorn(app: str, port: int, env: dict[str, str], factory: bool,
             workers: int = 1) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    if factory:
        cmd.append("--factory")
    return subprocess.Popen(cmd, env={**os.environ, **env}, cwd=ROOT)


async def _wait_up(base: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as c:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                if (await c.get(base + "/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("server did not come up")


def _bid_body(client_order_id: str, start: str, end: str) -> bytes:
    return json.dumps({"client_order_id": client_order_id, "alternatives": [
        {"value": "96.5", "earliest_start": start, "latest_end": end,
         "legs": [{"gpus": 4, "duration_hours": 8, "gpu": ["H100", "H200"],
                   "regions": ["us-east"], "min_uptime": "99.9"}]},
        {"limit_per_gpu_hour": "1.25", "earliest_start": start, "latest_end": end,
         "legs": [{"gpus": 4, "duration_hours": 8, "gpu": ["A100-80GB"]}]}]}).encode()


class _Connection:
    """One keep-alive HTTP/1.1 connection: a client far lighter than the server it loads."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes, headers: bytes) -> int:
        self.writer.write(b"POST %s HTTP/1.1\r\nHost: bench\r\n%sContent-Length: %d\r\n\r\n%s"
                          % (path.encode(), headers, len(body), body))
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return int(head.split(b" ", 2)[1])

    def close(self) -> None:
        self.writer.close()


async def _load(port: int, keys: list[str], seconds: float, warmup: float, connections: int,
                rate: float | None) -> dict[str, Any]:
    """Post bids for warmup + seconds; measure the last `seconds`.

    Closed loop (`rate` None): each connection sends its next bid when the last is answered.
    Open loop: bids are due at `rate` per second whatever the answers; a bid's latency runs
    from when it was due (so waiting for a free connection counts, as it would for a client).
    """
    top = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    start = top.strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (top + timedelta(hours=48)).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    by_second: dict[int, list[float]] = {}
    errors: dict[int, int] = {}
    conns = [await _Connection.open("127.0.0.1", port) for _ in range(connections)]
    headers = [b"Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
               % keys[i % len(keys)].encode() for i in range(connections)]
    t_measure = time.perf_counter() + warmup
    t_end = t_measure + seconds
    counter = iter(range(10**9))
    template = _bid_body("@ID@", start, end)

    async def one(c: int, due: float) -> None:
        body = template.replace(b"@ID@", b"%s-%d" % (run.encode(), next(counter)))
        status = await conns[c].post("/bids", body, headers[c])
        if due >= t_measure:
            if status == 201:
                latency = time.perf_counter() - due
                latencies.append(latency)
                by_second.setdefault(int(due - t_measure), []).append(latency)
            else:
                errors[status] = errors.get(status, 0) + 1

    if rate is None:
        async def loop(c: int) -> None:
            while (due := time.perf_counter()) < t_end:
                await one(c, due)
        await asyncio.gather(*(loop(c) for c in range(connections)))
    else:
        free: asyncio.Queue[int] = asyncio.Queue()
        for c in range(connections):
            free.put_nowait(c)
        tasks: set[asyncio.Task[None]] = set()

        async def send(due: float) -> None:
            c = await free.get()
            try:
                await one(c, due)
            finally:
                free.put_nowait(c)

        t0 = time.perf_counter()
        i = 0
        while (due := t0 + i / rate) < t_end:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(send(due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        await asyncio.gather(*tasks)
    for conn in conns:
        conn.close()
    latencies.sort()
    n = len(latencies)

    def pct(p: float) -> float:
        return round(latencies[min(n - 1, int(p * n))] * 1000, 2) if n else float("nan")

    second_p99 = [sorted(v)[int(0.99 * len(v))] * 1000 for _, v in sorted(by_second.items())]
    return {"mode": "closed loop" if rate is None else f"open loop at {rate:g}/s",
            "p99_ms_per_second": [round(v, 1) for v in second_p99],
            "connections": connections, "orders": n, "seconds": seconds,
            "orders_per_s": round(n / seconds, 1), "p50_ms": pct(0.50), "p90_ms": pct(0.90),
            "p99_ms": pct(0.99), "max_ms": pct(1.0), "errors": errors}


def _load_process(port: int, keys: list[str], seconds: float, warmup: float,
                  connections: int, rate: float | None, out: Any) -> None:
    try:  # the lighter the load generator, the more of the cores the server gets
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    out.put(asyncio.run(_load(port, keys, seconds, warmup, connections, rate)))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU so far of a process and its live children (uvicorn's workers)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all cores so far (Linux)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _run_load(port: int, keys: list[str], args: argparse.Namespace,
              rate: float | None, server_pid: int) -> dict[str, Any]:
    cpu_before = _cpu_seconds(server_pid)
    busy_before = _machine_busy()
    wall_before = time.perf_counter()
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_load_process, args=(
        port, keys, args.seconds, args.warmup, args.connections, rate, queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    cpu = _cpu_seconds(server_pid) - cpu_before
    busy_after = _machine_busy()
    result["server_cpu_share"] = round(cpu / (time.perf_counter() - wall_before), 2)
    result["machine_cpu_busy"] = round(
        (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1]), 2)
    if result["orders"]:
        result["server_cpu_ms_per_order"] = round(
            cpu * 1000 / (result["orders"] * (1 + args.warmup / args.seconds)), 2)
    return result


async def _admin_sql(server_url: str, sql: str) -> None:
    from gpux.adapters.postgres.engine import admin_sql

    await admin_sql(server_url, sql)


async def _fresh_database() -> tuple[str, str, object | None]:
    """(URL of a new migrated database, Redis URL, embedded servers handle)."""
    from sqlalchemy.engine import make_url

    from gpux.bootstrap import migrate, resolve_urls
    from gpux.config import Settings

    db_url, redis_url, embedded = await asyncio.to_thread(resolve_urls, Settings())
    name = f"gpux_orderentry_{uuid.uuid4().hex[:8]}"
    await _admin_sql(db_url, f'CREATE DATABASE "{name}"')
    url = make_url(db_url).set(database=name).render_as_string(hide_password=False)
    await migrate(url)
    return url, redis_url, embedded


async def _accounts(base: str, n: int) -> list[str]:
    import httpx

    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    keys = []
    async with httpx.AsyncClient(base_url=base) as c:
        for i in range(n):
            r = await c.post("/accounts", headers=admin,
                             json={"id": f"buyer-{i}", "name": f"Buyer {i}", "role": "buyer"})
            r.raise_for_status()
            r = await c.post(f"/accounts/buyer-{i}/keys", headers=admin)
            r.raise_for_status()
            keys.append(r.json()["key"])
            # Every bid holds its largest value (96.5): enough for far more than the
            # open-order cap, so the benchmark measures order entry, not refusals.
            r = await c.post(f"/accounts/buyer-{i}/deposits", headers=admin,
                             json={"amount": "100000000"})
            r.raise_for_status()
    return keys


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    db_url, redis_url, embedded = await _fresh_database()
    if args.async_commit:
        # Diagnosis only: tells how much of the latency is waiting for the WAL to be flushed.
        from sqlalchemy.engine import make_url

        name = make_url(db_url).database
        await _admin_sql(db_url, f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    # The open-order cap is exact (counted under the funds lock): lift it, so that the
    # accounts the busiest connections use measure order entry, not refusals.
    env = {"DATABASE_URL": db_url, "REDIS_URL": redis_url, "GPUX_ADMIN_KEY": ADMIN_KEY,
           "GPUX_MAX_OPEN_ORDERS_PER_ACCOUNT": "1000000"}
    report: dict[str, Any] = {"cpus": os.cpu_count(), "uvicorn_workers": args.workers,
                              "synchronous_commit": "off" if args.async_commit else "on",
                              "connections": args.connections, "accounts": args.accounts,
                              "note": "server, PostgreSQL and load generator share the cores"}

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _uvicorn("gpux.entrypoints.api.app:create_app", port, env, factory=True,
                      workers=args.workers)
    try:
        await _wait_up(base, server)
        keys = await _accounts(base, args.accounts)
        # The target first, on an empty book; then the most the API takes (closed loop).
        report["api_at_rate"] = await asyncio.to_thread(_run_load, port, keys, args,
                                                         args.rate, server.pid)
        report["api"] = await asyncio.to_thread(_run_load, port, keys, args, None,
                                                 server.pid)
    finally:
        server.terminate()
        server.wait()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    bare = _uvicorn("bench.orderentry_bare:app", port, {}, factory=False, workers=args.workers)
    try:
        await _wait_up(base, bare)
        report["bare_at_rate"] = await asyncio.to_thread(_run_load, port, ["x"], args,
                                                         args.rate, bare.pid)
        report["bare"] = await asyncio.to_thread(_run_load, port, ["x"], args, None,
                                                  bare.pid)
    finally:
        bare.terminate()
        bare.wait()
    from sqlalchemy.engine import make_url

    name = make_url(db_url).database
    await _admin_sql(make_url(db_url).set(database="postgres").render_as_string(
        hide_password=False), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    report["ratio_api_to_bare"] = round(
        report["api"]["orders_per_s"] / report["bare"]["orders_per_s"], 3)
    at_rate = report["api_at_rate"]
    report["target_met"] = (at_rate["orders_per_s"] >= 0.99 * args.rate >= 0.99 * 500
                            and at_rate["p99_ms"] <= 50 and not at_rate["errors"])
    del embedded
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--workers", type=int, default=1,
                   help="uvicorn worker processes of the API (and of the bare endpoint)")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--accounts", type=int, default=64)
    p.add_argument("--rate", type=float, default=500.0,
                   help="bids per second offered in the open-loop run")
    p.add_argument("--async-commit", action="store_true",
                   help="diagnosis: run the bench database with synchronous_commit = off "
                   "(an acknowledged order could be lost in a crash; never for production)")
    args = p.parse_args(argv)
    print(json.dumps(asyncio.run(main_async(args)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
