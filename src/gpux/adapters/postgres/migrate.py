"""Running the Alembic migrations in `migrations/` from code (`gpux db upgrade`, tests, demo)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config

_REPO = Path(__file__).resolve().parents[4]


def migrations_dir() -> Path:
    """Where the migrations live: `GPUX_MIGRATIONS`, else the source tree's `migrations/`."""
    return Path(os.environ.get("GPUX_MIGRATIONS", _REPO / "migrations"))


def alembic_config(url: str) -> Config:
    """An Alembic config for the database at `url`, without reading alembic.ini."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    # Alembic's config is ConfigParser: a literal % in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (blocking; call it off the event loop)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database at `url` down to `revision`."""
    command.downgrade(alembic_config(url), revision)
