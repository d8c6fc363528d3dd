"""The feed's `supply` totals between rounds: recomputed from the book and appended to the
supply stream whenever the book changed, so every gateway serves the same entries.

One publisher runs, in the worker leading the partition map's first partition (should two
run, say a worker pinned to a partition outside the map, the append below still never
repeats an entry: it checks the stream's last fingerprint and appends in one script). Every
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


# Append the entry unless the stream's last one already carries this book fingerprint, in
# one step (two publishers cannot both append the same book). KEYS: the stream; ARGV:
# book, maxlen, event id, payload. Returns 1 if appended.
_APPEND = """
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then
  local fields = last[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'book' and fields[i + 1] == ARGV[1] then return 0 end
  end
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event_id', ARGV[3],
           'type', 'supply', 'book', ARGV[1], 'payload', ARGV[4])
return 1
"""


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
        self._append = redis.register_script(_APPEND)

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
        added = await self._append(keys=[self.stream], args=[
            book, self.maxlen, f"supply:{book}",
            dumps({"type": "supply", "supply": supply}, indent=None)])
        self.published = book
        return bool(added)

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
