"""Alembic environment: runs migrations over asyncpg against `sqlalchemy.url`."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from gpux.adapters.postgres.engine import make_engine
from gpux.adapters.postgres.tables import metadata

config = context.config


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("alembic: no sqlalchemy.url; run migrations with `gpux db upgrade`")
    engine = make_engine(url, pool_size=1)
    async with engine.connect() as conn:
        await conn.run_sync(_migrate)
        await conn.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("gpux migrations run online only")
asyncio.run(_run())
