"""Connecting to PostgreSQL: URLs for asyncpg and psycopg-free Alembic, and exact JSONB."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gpux.domain.jsonio import dumps, loads


def async_url(url: str) -> str:
    """The SQLAlchemy URL that drives `url` through asyncpg (unix-socket hosts kept)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2",
                             "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def _compact(doc: object) -> str:
    return dumps(doc, indent=None)


def make_engine(url: str, *, pool_size: int = 10, pre_ping: bool = True) -> AsyncEngine:
    """An async engine whose JSONB columns keep every number exact (Decimal, never float).

    `pre_ping` tests each connection as it leaves the pool: three round trips (BEGIN, a
    ping, ROLLBACK with asyncpg), which the order-entry path cannot afford per request.
    """
    return create_async_engine(
        async_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=pre_ping,
        json_serializer=_compact, json_deserializer=loads)


def database_url_for(server_url: str, name: str) -> str:
    """The URL of database `name` on the server that `server_url` points at."""
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def admin_sql(server_url: str, *statements: str) -> None:
    """Run statements outside a transaction (CREATE/DROP DATABASE ...) on the server at
    `server_url`, connected to its `postgres` database."""
    import asyncpg

    parsed = make_url(server_url)
    conn = await asyncpg.connect(
        user=parsed.username or "postgres", password=parsed.password or None,
        host=parsed.query.get("host") or parsed.host, port=parsed.port, database="postgres")
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


async def recreate_database(server_url: str, name: str) -> str:
    """Drop (if present) and create database `name` on the server; returns its URL."""
    await admin_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                    f'CREATE DATABASE "{name}"')
    return database_url_for(server_url, name)


async def driver_in_transaction(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`, inside `conn`'s transaction (for COPY and
    fetches that skip SQLAlchemy's result machinery)."""
    # SQLAlchemy's asyncpg adapter sends BEGIN with its own first statement: until then the
    # driver connection is in autocommit, and a FOR UPDATE or a row written through it would
    # not belong to the transaction (locks released at once, rows kept on rollback).
    await conn.execute(text("SELECT 1"))
    raw = await conn.get_raw_connection()
    return raw.driver_connection
