"""The composition root: from settings to live resources (no clients are made at import time).

`open_resources` starts the embedded servers when no URL is configured, connects to PostgreSQL
and Redis, and closes everything on the way out. The API app, the worker and the demo all
build their services from the `Resources` it yields.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gpux.adapters.postgres.engine import make_engine
from gpux.config import Settings


@dataclass
class Resources:
    """What a process of gpux talks to: its settings, the database and Redis."""

    settings: Settings
    database_url: str
    redis_url: str
    engine: AsyncEngine
    redis: Any  # redis.asyncio.Redis
    embedded: object | None = None


def resolve_urls(settings: Settings) -> tuple[str, str, object | None]:
    """The database and Redis URLs, starting embedded servers for whichever is unset."""
    if settings.database_url and settings.redis_url:
        return settings.database_url, settings.redis_url, None
    from gpux.adapters.embedded import start_missing

    return start_missing(settings.data_dir, settings.database_url, settings.redis_url)


async def migrate(database_url: str) -> None:
    """Bring the database schema to the latest migration."""
    from gpux.adapters.postgres.migrate import upgrade

    await asyncio.to_thread(upgrade, database_url)


async def fresh_database(settings: Settings, name: str) -> tuple[str, str, object | None]:
    """(database URL, Redis URL, embedded handle) for a new, empty database `name` on the
    configured (or embedded) server; keep the handle alive while the servers are used."""
    from gpux.adapters.postgres.engine import recreate_database

    db_url, redis_url, embedded = await asyncio.to_thread(resolve_urls, settings)
    return await recreate_database(db_url, name), redis_url, embedded


@asynccontextmanager
async def open_resources(settings: Settings, *, run_migrations: bool = False,
                         pool_size: int = 10) -> AsyncIterator[Resources]:
    """Connect to everything the settings name (or embed it); close it all on exit."""
    import redis.asyncio as aioredis

    db_url, redis_url, embedded = await asyncio.to_thread(resolve_urls, settings)
    if run_migrations:
        await migrate(db_url)
    engine = make_engine(db_url, pool_size=pool_size)
    client = aioredis.from_url(redis_url)
    try:
        yield Resources(settings, db_url, redis_url, engine, client, embedded)
    finally:
        await client.aclose()
        await engine.dispose()


async def readiness(res: Resources, timeout: float = 2.0) -> dict[str, str]:
    """"ok" or the error, for PostgreSQL and Redis: what `/readyz` reports."""
    from sqlalchemy import text

    async def postgres() -> None:
        async with res.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def redis() -> None:
        await res.redis.ping()

    out: dict[str, str] = {}
    for name, probe in (("postgres", postgres), ("redis", redis)):
        try:
            await asyncio.wait_for(probe(), timeout)
            out[name] = "ok"
        except Exception as err:  # any failure at all means not ready
            out[name] = f"{type(err).__name__}: {err}"[:200]
    return out
