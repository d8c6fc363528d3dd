"""The feed's event source on Redis Streams: XREAD to tail, XRANGE to replay and snapshot
(an account's stream, for a private channel)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from gpux.adapters.redis.streams import StreamEvent, parse_entry, read_new
from gpux.service.feed_ports import ZERO, FeedEvent


def _event(e: StreamEvent) -> FeedEvent:
    return FeedEvent(e.entry_id, e.event_id, e.type, e.payload, e.account_seq)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisFeedSource:
    """`gpux.service.feed_ports.FeedSource` on a redis.asyncio client."""

    def __init__(self, redis: Any, *, count: int = 1000) -> None:
        self.redis = redis
        self.count = count

    async def heads(self, streams: Sequence[str]) -> dict[str, str]:
        pipe = self.redis.pipeline(transaction=False)
        for name in streams:
            pipe.xrevrange(name, count=1)
        replies = await pipe.execute()
        return {name: _text(reply[0][0]) if reply else ZERO
                for name, reply in zip(streams, replies, strict=True)}

    async def read(self, after: Mapping[str, str],
                   block_ms: int) -> list[tuple[str, FeedEvent]]:
        found = await read_new(self.redis, dict(after), block_ms=block_ms, count=self.count)
        return [(name, _event(e)) for name, e in found]

    async def range(self, stream: str, after: str, count: int) -> list[FeedEvent]:
        entries = await self.redis.xrange(stream, min=f"({after}", max="+", count=count)
        return [_event(parse_entry(i, f)) for i, f in entries]

    async def latest(self, stream: str, count: int) -> list[FeedEvent]:
        entries = await self.redis.xrevrange(stream, count=count)
        return [_event(parse_entry(i, f)) for i, f in reversed(entries)]

    async def first(self, stream: str) -> str | None:
        entries = await self.redis.xrange(stream, count=1)
        return _text(entries[0][0]) if entries else None
