"""The outbox relay to Redis Streams, and a reader of those streams.

The relay takes the oldest unpublished outbox rows under a transaction-level advisory lock
(one relay publishes at a time, so an account's events keep their order), XADDs each to its
stream in one pipeline and only then marks them published and commits. A crash between the
XADD and the commit publishes those rows again: delivery is at least once, and each entry's
`event_id` lets a consumer drop the duplicates.

Rows of the private streams (`numbered`: orders, fills) go through one Lua script instead,
which numbers each event in its account's stream (`gpux.service.feed_ports.account_stream`,
ids `0-1`, `0-2`, ...) and appends it to the shared stream with that number as
`account_seq`, atomically and once per event id: a row published again gets its first number
back and is not appended a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine

from gpux.adapters import metrics
from gpux.adapters.postgres.lock import lock_key
from gpux.adapters.postgres.tables import outbox
from gpux.domain.jsonio import dumps, loads
from gpux.service.feed_ports import account_stream

log = logging.getLogger(__name__)

# KEYS: the shared stream, the account's stream, the account's hash of numbered event ids,
# the account's counter. ARGV: event id, type, payload, the shared stream's MAXLEN, the
# account stream's MAXLEN. The hash forgets an event id when its entry is trimmed from the
# account's stream. The number comes from a counter and goes in as an explicit id (`0-*`
# needs Redis 7; the embedded server is 6.2).
_NUMBER = """
local seq = redis.call('HGET', KEYS[3], ARGV[1])
if seq then return seq end
seq = '0-' .. redis.call('INCR', KEYS[4])
redis.call('XADD', KEYS[2], seq, 'event_id', ARGV[1], 'type', ARGV[2], 'payload', ARGV[3])
redis.call('HSET', KEYS[3], ARGV[1], seq)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 'event_id', ARGV[1], 'type', ARGV[2],
           'payload', ARGV[3], 'account_seq', seq)
local over = redis.call('XLEN', KEYS[2]) - tonumber(ARGV[5])
if over > 0 then
  for _, entry in ipairs(redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', over)) do
    local f = entry[2]
    for i = 1, #f, 2 do
      if f[i] == 'event_id' then redis.call('HDEL', KEYS[3], f[i + 1]) end
    end
  end
  redis.call('XTRIM', KEYS[2], 'MAXLEN', ARGV[5])
end
return seq
"""


_RELAY_KEY = lock_key("outbox-relay")
_ONE_RELAY = text("SELECT pg_try_advisory_xact_lock(:key)")


class OutboxRelay:
    """Publishes outbox rows to their Redis streams, at least once, oldest first."""

    def __init__(self, engine: AsyncEngine, redis: Any, *, maxlen: int, batch: int = 500,
                 idle_seconds: float = 0.2, numbered: Sequence[str] = ()) -> None:
        self.engine = engine
        self.redis = redis
        self.maxlen = maxlen
        self.batch = batch
        self.idle_seconds = idle_seconds
        self.numbered = frozenset(numbered)  # private streams: numbered per account
        self._number = redis.register_script(_NUMBER)
        self.wake = asyncio.Event()

    async def publish_once(self) -> int:
        """Publish one batch of unpublished rows; how many."""
        async with self.engine.begin() as conn:
            # One relay publishes at a time (every worker process runs one): batches taken
            # side by side could publish an account's later event before its earlier one,
            # and the account's numbers would then say the wrong order.
            if not (await conn.execute(_ONE_RELAY, {"key": _RELAY_KEY})).scalar_one():
                return 0
            rows = (await conn.execute(
                select(outbox.c.id, outbox.c.stream, outbox.c.event_id, outbox.c.payload,
                       outbox.c.created_at)
                .where(outbox.c.published_at.is_(None)).order_by(outbox.c.id)
                .limit(self.batch).with_for_update(skip_locked=True))).all()
            if not rows:
                metrics.OUTBOX_BACKLOG.set(0)
                return 0
            pipe = self.redis.pipeline(transaction=False)
            for r in rows:
                kind, text = str(r.payload.get("type", "")), dumps(r.payload, indent=None)
                account = r.payload.get("account_id")
                if r.stream in self.numbered and account is not None:
                    own = account_stream(r.stream, str(account))
                    await self._number(keys=[r.stream, own, f"{own}:ids", f"{own}:n"],
                                       args=[r.event_id, kind, text, self.maxlen,
                                             self.maxlen], client=pipe)
                else:
                    pipe.xadd(r.stream, {"event_id": r.event_id, "type": kind,
                                         "payload": text},
                              maxlen=self.maxlen, approximate=True)
            await pipe.execute()
            await conn.execute(
                update(outbox).where(outbox.c.id == func.any(
                    bindparam("ids", type_=ARRAY(BigInteger))))
                .values(published_at=func.now()), {"ids": [r.id for r in rows]})
            left = (await conn.execute(select(func.count()).select_from(outbox).where(
                outbox.c.published_at.is_(None)))).scalar_one()
        _observe(rows, int(left) - len(rows))
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set; between empty batches wait for a wake-up or a while."""
        while not stop.is_set():
            try:
                published = await self.publish_once()
            except Exception:  # the relay outlives a database or Redis outage and retries
                log.exception("outbox relay failed; retrying")
                published = 0
                await _wait(stop, 1.0)
            if published >= self.batch:
                continue
            if published == 0:
                self.wake.clear()
                await _wait_any(stop, self.wake, self.idle_seconds)
        await self.drain()

    async def drain(self) -> None:
        """Publish what is pending now (on the way out), giving up quietly on errors."""
        try:
            while await self.publish_once() >= self.batch:
                pass
        except Exception as err:
            log.warning("outbox relay could not drain: %s", err)


def _observe(rows: Sequence[Any], backlog: int) -> None:
    now = time.time()
    for r in rows:
        metrics.PUBLISH_LAG.observe(max(0.0, now - r.created_at.timestamp()))
        metrics.EVENTS_PUBLISHED.labels(r.stream).inc()
    metrics.OUTBOX_BACKLOG.set(max(0, backlog))


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One stream entry: its Redis id, the event id, its type and its payload."""

    entry_id: str
    event_id: str
    type: str
    payload: dict[str, Any]
    account_seq: str | None = None  # private streams: the event's number in its account's


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def parse_entry(entry_id: bytes | str, fields: dict[Any, Any]) -> StreamEvent:
    """A StreamEvent from one XRANGE/XREAD entry (bytes or str), payload exact (Decimal)."""
    f = {_text(k): _text(v) for k, v in fields.items()}
    return StreamEvent(_text(entry_id), f["event_id"], f.get("type", ""), loads(f["payload"]),
                       f.get("account_seq"))


async def read_stream(redis: Any, stream: str, *, after: str = "-",
                      count: int | None = None) -> list[StreamEvent]:
    """Entries of `stream` from `after` on (XRANGE; "-" = from the start)."""
    entries = await redis.xrange(stream, min=after, max="+", count=count)
    return [parse_entry(i, f) for i, f in entries]


async def read_new(redis: Any, streams: dict[str, str], *, block_ms: int = 1000,
                   count: int = 100) -> list[tuple[str, StreamEvent]]:
    """Entries after the given ids (XREAD), as (stream, event); `streams`: name -> last id."""
    reply = await redis.xread(streams, count=count, block=block_ms) or []
    return [(_text(name), parse_entry(i, f)) for name, entries in reply for i, f in entries]
