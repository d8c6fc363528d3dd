"""The round store contract suite runs every test on the in-memory fake and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from storeworld import FakeWorld, PgWorld, World


@pytest.fixture(params=["fake", "postgres"])
def world(request: pytest.FixtureRequest) -> World:
    """The store under test with its writers and readers; PostgreSQL on the session's
    database (tables emptied after each test by the `engine` fixture)."""
    if request.param == "fake":
        return FakeWorld()
    engine: Any = request.getfixturevalue("engine")
    return PgWorld(engine)
