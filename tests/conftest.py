"""Fixtures for the suites that talk to real servers (integration, e2e).

PostgreSQL and Redis come from `DATABASE_URL` / `REDIS_URL` when set (CI sets them to the
system services) and from the embedded servers otherwise, so the suite runs on a fresh machine.
Each test session gets a database of its own, migrated with Alembic; each test starts from
empty tables and its own stream names.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from servers import admin_sql, database_of

ROOT = Path(__file__).resolve().parents[1]
EMBEDDED_DIR = ROOT / ".gpux-test"


@pytest.fixture(scope="session")
def server_urls() -> tuple[str, str]:
    """(postgres server URL, redis URL): the environment's, or embedded servers'."""
    db, rd = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if db and rd:
        return db, rd
    from gpux.adapters.embedded import start_missing

    db, rd, emb = start_missing(EMBEDDED_DIR, db, rd)
    _KEEP.append(emb)
    return db, rd


_KEEP: list[object] = []


@pytest.fixture(scope="session")
def database_url(server_urls: tuple[str, str]) -> Iterator[str]:
    """A fresh database for this test session, migrated to head."""
    from gpux.adapters.postgres.migrate import upgrade

    server = server_urls[0]
    name = f"gpux_test_{uuid.uuid4().hex[:10]}"
    admin_sql(server, f'CREATE DATABASE "{name}"')
    url = database_of(server, name)
    upgrade(url)
    yield url
    admin_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_url(server_urls: tuple[str, str]) -> str:
    return server_urls[1]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[object]:
    """An async engine on the session's database; every table is emptied after the test."""
    from sqlalchemy import text

    from gpux.adapters.postgres.engine import make_engine
    from gpux.adapters.postgres.tables import metadata

    eng = make_engine(database_url, pool_size=5)
    yield eng
    names = ", ".join(t.name for t in metadata.sorted_tables)
    async with eng.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await eng.dispose()


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> object:
    """Settings pointing at the test servers, with stream names of this test alone."""
    from gpux.config import Settings

    tag = uuid.uuid4().hex[:8]
    return Settings(
        database_url=database_url, redis_url=redis_url, data_dir=tmp_path / "data",
        auction_interval_seconds=1.0, solve_time_limit_seconds=5.0, order_entry_connections=4,
        fills_stream=f"test:{tag}:fills", auctions_stream=f"test:{tag}:auctions",
        orders_stream=f"test:{tag}:orders", supply_stream=f"test:{tag}:supply")
