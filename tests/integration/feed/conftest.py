"""A running exchange (uvicorn on a free port) for the feed, SDK and CLI tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from clikit import cli_home  # noqa: F401  (the CLI tests' fixture)
from feedkit import Exchange, open_exchange


@pytest.fixture
async def exchange(settings: Any, engine: Any) -> AsyncIterator[Exchange]:
    ex, server, (task, stack) = await open_exchange(settings)
    try:
        yield ex
    finally:
        server.should_exit = True
        await task
        await stack.__aexit__(None, None, None)
