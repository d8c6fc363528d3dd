"""One clearing round with ~10,000 open orders, timed step by step.

    DATABASE_URL=... REDIS_URL=... python -m bench.round [--bids 10000] [--seed 1]
        [--time-limit 20] [--workers 2]

Creates a scratch database on the server (migrated, dropped at the end; embedded servers when
no URLs are set), loads `generate_market(bids, seed)` as accounts, pools and open orders with
COPY, then runs the round's steps as the worker does and reports each one's seconds:

- freeze: select and lock the open orders, expire, build the book, store it, mark the orders;
- read book: validate the stored book into the engine's Book;
- solve: `clear` with the time limit (its own independent check included);
- commit: settle the result into fills and write the auction, fills, contracts, prices, the
  price index, order statuses and outbox rows in one transaction.

The target: freeze + read book + commit <= 5 s beyond the solve; the ratio of that overhead to
the solve time is printed from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from gpux.adapters.postgres.engine import admin_sql, make_engine
from gpux.adapters.postgres.migrate import upgrade
from gpux.adapters.postgres.seed import seed_market
from gpux.adapters.postgres.tables import fills, orders, outbox
from gpux.bootstrap import resolve_urls
from gpux.clearing.solver import SolveParams
from gpux.config import Settings
from gpux.domain.bookjson import read_book
from gpux.domain.rounds import Horizon
from gpux.entrypoints.worker import rounds_of
from gpux.marketgen.market import generate_market


async def run(bids: int, seed: int, time_limit: float, workers: int) -> dict[str, object]:
    settings = Settings(solve_time_limit_seconds=time_limit, solve_workers=workers)
    server, redis_url, _embedded = await asyncio.to_thread(resolve_urls, settings)
    name = f"gpux_bench_{uuid.uuid4().hex[:8]}"
    await admin_sql(server, f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url)
        return await _round(settings, url, redis_url, bids, seed)
    finally:
        await admin_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _round(settings: Settings, url: str, redis_url: str, bids: int,
                 seed: int) -> dict[str, object]:
    import redis.asyncio as aioredis

    from gpux.bootstrap import Resources

    engine = make_engine(url, pool_size=4)
    client = aioredis.from_url(redis_url)
    try:
        cutoff = datetime.now(UTC)
        horizon = Horizon.after(cutoff, settings.horizon_hours)
        market = generate_market(bids, seed, slots=horizon.slots)
        t0 = time.perf_counter()
        async with engine.begin() as conn:
            seeded = await seed_market(conn, market, horizon.start)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("ANALYZE")
        seed_s = time.perf_counter() - t0

        rounds = rounds_of(Resources(settings, url, redis_url, engine, client))
        t0 = time.perf_counter()
        frozen = await rounds.freeze(cutoff)
        freeze_s = time.perf_counter() - t0
        assert frozen is not None
        auction_id, doc = frozen
        t0 = time.perf_counter()
        book = read_book(doc)
        read_s = time.perf_counter() - t0
        result, solve_s = await rounds.solve(book)
        t0 = time.perf_counter()
        outcome = await rounds.commit(auction_id, cutoff, doc, result, solve_s)
        commit_s = time.perf_counter() - t0
        async with engine.connect() as conn:
            n_fills = (await conn.execute(select(func.count()).select_from(fills))).scalar()
            n_events = (await conn.execute(select(func.count()).select_from(outbox))).scalar()
            n_orders = (await conn.execute(select(func.count()).select_from(orders))).scalar()
    finally:
        await client.aclose()
        await engine.dispose()
    overhead = freeze_s + read_s + commit_s
    return {
        "orders": n_orders, "bids": seeded.bids, "asks": seeded.asks, "pools": seeded.pools,
        "book_bids": outcome.bids, "book_asks": outcome.asks, "status": outcome.status,
        "solve_status": outcome.solve_status, "accepted": len(result.accepted),
        "fills": n_fills, "outbox_events": n_events,
        "seconds": {"seed_copy": round(seed_s, 3), "freeze": round(freeze_s, 3),
                    "read_book": round(read_s, 3), "solve": round(solve_s, 3),
                    "commit": round(commit_s, 3), "overhead": round(overhead, 3)},
        "overhead_to_solve": round(overhead / solve_s, 3),
        "target_met": overhead <= 5.0,
        "time_limit": SolveParams(settings.solve_time_limit_seconds).time_limit,
    }


def main() -> None:
    """Parse the arguments, run one round, print its figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bids", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    figures = asyncio.run(run(args.bids, args.seed, args.time_limit, args.workers))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
