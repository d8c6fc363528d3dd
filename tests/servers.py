"""Helpers for tests on real servers: run admin SQL against the PostgreSQL server."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import make_url


async def admin_sql_async(url: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE) on the server at `url`."""
    import asyncpg

    parsed = make_url(url)
    conn = await asyncpg.connect(
        user=parsed.username or "postgres", password=parsed.password or None,
        host=parsed.query.get("host") or parsed.host, port=parsed.port,
        database=parsed.database or "postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def admin_sql(url: str, sql: str) -> None:
    """`admin_sql_async`, from synchronous code."""
    asyncio.run(admin_sql_async(url, sql))


def database_of(server_url: str, name: str) -> str:
    """The URL of database `name` on the server at `server_url`."""
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)
