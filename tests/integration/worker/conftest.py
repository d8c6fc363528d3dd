"""Resources on the test servers for the worker tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest


@pytest.fixture
async def resources(settings: Any, engine: Any, database_url: str,
                    redis_url: str) -> AsyncIterator[Any]:
    """Resources sharing the test's engine, with a Redis client of their own."""
    import redis.asyncio as aioredis

    from gpux.bootstrap import Resources

    client = aioredis.from_url(redis_url)
    try:
        yield Resources(settings, database_url, redis_url, engine, client)
    finally:
        await client.delete(settings.fills_stream, settings.auctions_stream)
        await client.aclose()
