"""An API app on the test database, and an HTTP client that talks to it in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from apihelp import ADMIN_KEY


@pytest.fixture
async def resources(settings: Any, engine: Any, database_url: str,
                    redis_url: str) -> AsyncIterator[Any]:
    import redis.asyncio as aioredis

    from gpux.bootstrap import Resources

    conf = settings.model_copy(update={"admin_key": ADMIN_KEY})
    client = aioredis.from_url(redis_url)
    yield Resources(conf, database_url, redis_url, engine, client)
    await client.aclose()


@pytest.fixture
async def app(resources: Any) -> AsyncIterator[Any]:
    from gpux.entrypoints.api.app import create_app

    application = create_app(resources.settings, resources)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gpux.test") as c:
        yield c
