"""Two partitions, two worker processes: the partitions clear in parallel, each under its own
advisory lock, and when the worker leading one is killed the other takes it over by the next
cutoff."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from orderrows import HOUR, Alt, Leg, add_account, add_ask, add_bid, add_pool, rows, this_hour
from sqlalchemy import text

from gpux.adapters.postgres.lock import lock_key
from gpux.adapters.postgres.tables import auctions

SCRIPT = Path(__file__).with_name("crashworker.py")
INTERVAL = 2.0


def _start(settings: Any, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": settings.database_url,
           "REDIS_URL": settings.redis_url, "GPUX_FILLS_STREAM": settings.fills_stream,
           "GPUX_AUCTIONS_STREAM": settings.auctions_stream, "GPUX_PARTITION": "east,west",
           "GPUX_AUCTION_INTERVAL_SECONDS": str(INTERVAL),
           "GPUX_SOLVE_TIME_LIMIT_SECONDS": "1", "GPUX_SOLVE_WORKERS": "1"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, str(SCRIPT), "1000"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


async def _market(engine: Any) -> None:
    h0 = this_hour()
    async with engine.begin() as conn:
        await add_account(conn, "acme", "provider")
        await add_account(conn, "lab", "buyer")
        for part, region in (("east", "us-east"), ("west", "us-west")):
            await add_pool(conn, f"acme-{part}", "acme", gpus=8, region=region,
                           partition=part)
            await add_ask(conn, "acme", f"acme-{part}", gpus=8, price="2", partition=part,
                          starts_at=h0, ends_at=h0 + 100 * HOUR)
            await add_bid(conn, "lab", Alt(Decimal("100"), h0 + 2 * HOUR, h0 + 90 * HOUR,
                                           (Leg(4, 5),)), partition=part)


async def _leaders(engine: Any) -> dict[str, int]:
    """partition -> pid of the server backend holding its advisory lock."""
    async with engine.connect() as conn:
        held = {int(r.objid) | (int(r.classid) << 32): int(r.pid) for r in (await conn.execute(
            text("SELECT classid, objid, pid FROM pg_locks WHERE locktype = 'advisory' "
                 "AND granted"))).all()}
    out = {}
    for part in ("east", "west"):
        key = lock_key(part) & 0xFFFFFFFFFFFFFFFF
        if key in held:
            out[part] = held[key]
    return out


async def _until(check: Any, what: str, seconds: float = 90) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        got = await check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_the_survivor_takes_over_a_killed_workers_partition_by_the_next_cutoff(
        resources: Any, engine: Any, tmp_path: Path) -> None:
    await _market(engine)
    s = resources.settings
    logs = [tmp_path / f"w{i}.log" for i in range(2)]
    procs = [_start(s, log) for log in logs]
    try:
        async def both_led() -> dict[str, int] | None:
            leaders = await _leaders(engine)
            return leaders if len(leaders) == 2 else None
        await _until(both_led, "both partitions to have a leader")

        async def both_cleared() -> bool:
            done = {a.partition for a in await rows(engine, auctions,
                                                    auctions.c.status == "cleared")}
            return done == {"east", "west"}
        await _until(both_cleared, "a cleared round in each partition")

        victim = _leader_process(procs, logs, "west")
        survivor = procs[1 - procs.index(victim)]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at = datetime.now(UTC)

        async def west_taken() -> bool:
            leaders = await _leaders(engine)
            return "west" in leaders and "east" in leaders
        await _until(west_taken, "the survivor to lead both partitions")
        assert survivor.poll() is None

        first_after = datetime.fromtimestamp(
            (int(killed_at.timestamp() // INTERVAL) + 1) * INTERVAL, UTC)

        async def next_cutoff_cleared() -> bool:
            west = await rows(engine, auctions, auctions.c.partition == "west",
                              auctions.c.status == "cleared",
                              auctions.c.cutoff >= first_after)
            return bool(west)
        await _until(next_cutoff_cleared, "west's next cutoff to be cleared")
        west = await rows(engine, auctions, auctions.c.partition == "west",
                          auctions.c.cutoff >= first_after)
        # The first cutoff after the kill was cleared: no round of 'west' was skipped.
        assert min(a.cutoff for a in west) == first_after
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def _leader_process(procs: list[subprocess.Popen[bytes]], logs: list[Path],
                    part: str) -> subprocess.Popen[bytes]:
    """The process that logged taking `part`'s lead (a worker's name ends in its pid)."""
    leads = [p for p, log in zip(procs, logs, strict=True)
             if "event=leading worker=" in log.read_text()
             and f":{p.pid} partition={part} " in log.read_text()]
    assert len(leads) == 1, [log.read_text() for log in logs]
    return leads[0]
