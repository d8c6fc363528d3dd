"""The feed's `supply` totals between rounds: recomputed from the book and appended to the
supply stream whenever the book changed, so every gateway serves the same entries.

One publisher runs, in the worker leading the partition map's first partition. Every
`every_seconds` (and when woken, after a round) it reads the book's fingerprint
(`PgFeedQueries.book_version`); if that differs from the one the stream's last entry carries,
it recomputes the totals and appends them (whole, never an order). The fingerprint is read
before the totals, so a change that lands in between is published again at the next check,
never missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from gpux.adapters.postgres.feed import PgFeedQueries
from gpux.domain.jsonio import dumps

log = logging.getLogger(__name__)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class SupplyPublisher:
    """Appends the open supply and demand totals to `stream` each time the book changed."""

    def __init__(self, engine: AsyncEngine, redis: Any, stream: str, *, maxlen: int,
                 every_seconds: float) -> None:
        self.queries = PgFeedQueries(engine)
        self.redis = redis
        self.stream = stream
        self.maxlen = maxlen
        self.every_seconds = every_seconds
        self.published: str | None = None  # the fingerprint of the last entry, once read
        self.wake = asyncio.Event()

    async def _last_published(self) -> str:
        entries = await self.redis.xrevrange(self.stream, count=1)
        if not entries:
            return ""
        fields = {_text(k): _text(v) for k, v in entries[0][1].items()}
        return fields.get("book", "")

    async def publish_once(self) -> bool:
        """Append the totals if the book changed since the last entry; whether it did."""
        book = await self.queries.book_version()
        if self.published is None:
            self.published = await self._last_published()
        if book == self.published:
            return False
        supply = await self.queries.supply()
        await self.redis.xadd(self.stream, {
            "event_id": f"supply:{book}", "type": "supply", "book": book,
            "payload": dumps({"type": "supply", "supply": supply}, indent=None)},
            maxlen=self.maxlen, approximate=True)
        self.published = book
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set (or the task is cancelled), outliving outages."""
        while not stop.is_set():
            self.wake.clear()
            try:
                await self.publish_once()
            except Exception:  # a database or Redis outage: the next period tries again
                log.exception("supply publisher failed; retrying")
                self.published = None
            waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
            try:
                await asyncio.wait(waits, timeout=self.every_seconds,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await w
