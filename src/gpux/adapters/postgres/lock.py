"""The leader lock: a session-level advisory lock held on a connection of its own.

The lock lives as long as its connection: released on exit, or by the server as soon as the
connection dies, so a crashed leader never blocks its standby. The key is a stable 63-bit
hash of "gpux:" + partition, the same in every process and release.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)


def lock_key(partition: str) -> int:
    """The advisory lock key of a partition: 63 bits of sha256("gpux:" + partition)."""
    digest = hashlib.sha256(f"gpux:{partition}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class LeaderLock:
    """`pg_try_advisory_lock` on a dedicated connection, for one partition."""

    def __init__(self, engine: AsyncEngine, partition: str) -> None:
        self.engine = engine
        self.key = lock_key(partition)
        self._conn: AsyncConnection | None = None
        self.backend_pid: int | None = None

    @property
    def held(self) -> bool:
        """Whether this process believes it holds the lock (see `alive`)."""
        return self._conn is not None

    async def try_acquire(self) -> bool:
        """Take the lock if no one holds it; keep the connection while it is held."""
        if self._conn is not None:
            return await self.alive()
        conn = await self.engine.connect()
        try:
            got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                      {"k": self.key})).scalar()
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
            # Autocommit the lock query's transaction; the lock is the session's, not its.
            await conn.commit()
        except Exception:
            await conn.invalidate()
            await conn.close()
            raise
        if not got:
            await conn.close()
            return False
        self._conn, self.backend_pid = conn, int(pid or 0)
        return True

    async def alive(self) -> bool:
        """Whether the lock is still held: its connection still answers."""
        if self._conn is None:
            return False
        try:
            await self._conn.execute(text("SELECT 1"))
            await self._conn.commit()
            return True
        except Exception as err:  # any failure of the connection means the lock is gone
            log.warning("leader lock connection lost: %s", err)
            await self._drop(invalidate=True)
            return False

    async def release(self) -> None:
        """Give the lock up (and its connection)."""
        if self._conn is None:
            return
        try:
            await self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            await self._conn.commit()
        except Exception as err:
            log.warning("leader lock release failed, dropping the connection: %s", err)
            await self._drop(invalidate=True)
            return
        await self._drop(invalidate=False)

    async def _drop(self, *, invalidate: bool) -> None:
        conn, self._conn, self.backend_pid = self._conn, None, None
        if conn is None:
            return
        try:
            if invalidate:
                await conn.invalidate()
            await conn.close()
        except Exception as err:
            log.debug("closing the lock connection: %s", err)
