"""Helpers for tests on real servers: admin SQL and database URLs on the PostgreSQL server."""

from __future__ import annotations

import asyncio

from gpux.adapters.postgres.engine import admin_sql as _admin_sql
from gpux.adapters.postgres.engine import database_url_for as database_of


def admin_sql(url: str, sql: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE) on the server at `url`."""
    asyncio.run(_admin_sql(url, sql))


__all__ = ["admin_sql", "database_of"]
