"""A real crash: the worker process is SIGKILLed while it solves, then restarted. Every round
commits exactly once, no fill is lost or doubled, and every event reaches its stream."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ledger import assert_books_balance, assert_streams_complete
from orderrows import HOUR, count, rows, this_hour

from gpux.adapters.postgres.seed import seed_market
from gpux.adapters.postgres.tables import auctions, fills, orders
from gpux.marketgen.market import generate_market

SCRIPT = Path(__file__).with_name("crashworker.py")


def _start(settings: Any, max_rounds: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": settings.database_url,
           "REDIS_URL": settings.redis_url, "GPUX_FILLS_STREAM": settings.fills_stream,
           "GPUX_AUCTIONS_STREAM": settings.auctions_stream,
           "GPUX_AUCTION_INTERVAL_SECONDS": "1", "GPUX_SOLVE_TIME_LIMIT_SECONDS": "6",
           "GPUX_SOLVE_WORKERS": "1"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, str(SCRIPT), str(max_rounds)], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


async def _until(check: Any, what: str, proc: subprocess.Popen[bytes] | None = None,
                 seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the worker exited ({proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_worker_killed_mid_solve_loses_and_doubles_nothing(
        resources: Any, engine: Any, tmp_path: Path) -> None:
    async with engine.begin() as conn:
        await seed_market(conn, generate_market(600, 11, slots=48), this_hour() + 2 * HOUR)
    s = resources.settings
    log = tmp_path / "worker.log"

    first = _start(s, 5, log)
    try:
        async def frozen() -> bool:
            return await count(engine, auctions, auctions.c.status == "frozen",
                               auctions.c.bids > 0) > 0
        await _until(frozen, "a round to freeze", first)
        await asyncio.sleep(1.0)  # well inside a solve of several seconds
        first.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        if first.poll() is None:
            first.kill()
    (crashed,) = await rows(engine, auctions, auctions.c.status == "frozen")
    assert await count(engine, fills, fills.c.auction_id == crashed.id) == 0
    assert await count(engine, orders, orders.c.frozen_auction_id == crashed.id) > 0

    second = _start(s, 1, log)
    try:
        assert second.wait(timeout=300) == 0, log.read_text()
    finally:
        if second.poll() is None:
            second.kill()

    (resumed,) = await rows(engine, auctions, auctions.c.id == crashed.id)
    assert resumed.status == "cleared" and resumed.book == crashed.book
    all_auctions = await rows(engine, auctions)
    assert all(a.status == "cleared" for a in all_auctions)
    assert len({a.cutoff for a in all_auctions}) == len(all_auctions)
    for a in all_auctions:  # each round's fills are exactly its stored result, once
        expected = (sum(len(x["legs"]) for x in a.result["accepted"])
                    + len(a.result["supplied"]))
        assert await count(engine, fills, fills.c.auction_id == a.id) == expected
    assert await count(engine, fills, fills.c.auction_id == crashed.id) > 0
    assert await count(engine, orders, orders.c.frozen_auction_id.is_not(None)) == 0
    await assert_books_balance(engine)
    await assert_streams_complete(engine, resources.redis, s.fills_stream, s.auctions_stream)
