"""The Alembic migrations build exactly the tables the code declares, and undo cleanly."""

from __future__ import annotations

import asyncio
import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from gpux.adapters.postgres.engine import make_engine
from gpux.adapters.postgres.migrate import downgrade, upgrade
from gpux.adapters.postgres.tables import metadata
from servers import admin_sql, database_of


def _diff(url: str) -> list[object]:
    async def run() -> list[object]:
        eng = make_engine(url, pool_size=1)
        async with eng.connect() as conn:
            diff = await conn.run_sync(lambda c: compare_metadata(
                MigrationContext.configure(c, opts={"compare_type": True}), metadata))
        await eng.dispose()
        return list(diff)
    return asyncio.run(run())


def _tables(url: str) -> set[str]:
    async def run() -> set[str]:
        eng = make_engine(url, pool_size=1)
        async with eng.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        await eng.dispose()
        return names
    return asyncio.run(run())


def test_models_and_migrations_agree(database_url: str) -> None:
    assert _diff(database_url) == []


def test_upgrade_on_an_empty_database_then_downgrade_and_upgrade_again(
        server_urls: tuple[str, str]) -> None:
    name = f"gpux_mig_{uuid.uuid4().hex[:8]}"
    admin_sql(server_urls[0], f'CREATE DATABASE "{name}"')
    url = database_of(server_urls[0], name)
    try:
        upgrade(url)
        assert {t.name for t in metadata.sorted_tables} <= _tables(url)
        downgrade(url, "base")
        assert _tables(url) == {"alembic_version"}
        upgrade(url)
        assert _diff(url) == []
    finally:
        admin_sql(server_urls[0], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
