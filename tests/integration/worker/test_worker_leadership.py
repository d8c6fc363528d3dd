"""Two workers on one partition: one leads and clears, the other stands by; when the leader's
lock connection dies, the standby takes over and no cutoff is cleared twice."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from ledger import assert_books_balance, assert_streams_complete
from orderrows import count, rows
from sqlalchemy import text

from gpux.adapters.postgres.engine import make_engine
from gpux.adapters.postgres.lock import lock_key
from gpux.adapters.postgres.tables import auctions
from gpux.bootstrap import Resources
from gpux.entrypoints.worker import run_worker

LINE = re.compile(r"event=round worker=(\S+) status=(\S+) auction_id=(\S+)")


async def until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def lock_holders(engine: Any, partition: str) -> list[int]:
    key = lock_key(partition)
    async with engine.connect() as conn:
        return list((await conn.execute(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid = :hi AND objid = :lo"), {"hi": key >> 32, "lo": key & 0xFFFFFFFF})
        ).scalars())


def cleared_by(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """(worker, auction id) of every round line saying cleared."""
    found = []
    for record in caplog.records:
        m = LINE.match(record.getMessage())
        if m and m[2] == "cleared":
            found.append((m[1], m[3]))
    return found


async def test_only_the_leader_clears_and_the_standby_takes_over_when_its_lock_dies(
        resources: Any, engine: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gpux.worker")
    import redis.asyncio as aioredis

    s = resources.settings
    other = Resources(s, resources.database_url, resources.redis_url,
                      make_engine(resources.database_url, pool_size=3),
                      aioredis.from_url(resources.redis_url))
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    a = asyncio.create_task(run_worker(resources, stop=stop_a, name="A"))
    b: asyncio.Task[None] | None = None
    try:
        await until(lambda: _has(lock_holders(engine, s.partition)), "A to lead")
        b = asyncio.create_task(run_worker(other, stop=stop_b, name="B"))
        await until(lambda: _at_least(count(engine, auctions, auctions.c.status == "cleared"),
                                      3), "three rounds")
        assert {w for w, _ in cleared_by(caplog)} == {"A"}
        assert len(await lock_holders(engine, s.partition)) == 1

        (pid,) = await lock_holders(engine, s.partition)
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await until(lambda: _true(any(w == "B" for w, _ in cleared_by(caplog))),
                    "B to clear a round")
        holders = await lock_holders(engine, s.partition)
        assert len(holders) == 1 and holders != [pid]
    finally:
        stop_a.set()
        stop_b.set()
        await asyncio.gather(a, *([b] if b is not None else []))
        await other.redis.aclose()
        await other.engine.dispose()

    done = cleared_by(caplog)
    assert len({aid for _, aid in done}) == len(done), "a round was committed twice"
    cutoffs = [r.cutoff for r in await rows(engine, auctions)]
    assert len(set(cutoffs)) == len(cutoffs)
    await assert_books_balance(engine)
    await assert_streams_complete(engine, resources.redis, s.fills_stream, s.auctions_stream)


async def _has(holders: Awaitable[list[int]]) -> bool:
    return bool(await holders)


async def _at_least(n: Awaitable[int], k: int) -> bool:
    return await n >= k


async def _true(value: bool) -> bool:
    return value
