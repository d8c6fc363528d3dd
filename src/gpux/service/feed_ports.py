"""The ports of the market-data feed: the event log it tails, the book it aggregates.

Sequence numbers are the ids of Redis Streams entries (`<milliseconds>-<n>`), assigned once
when an event is appended, so every gateway process reading the same stream sees the same
number for the same message, and a client may resume on any gateway. Public channels number
by their stream's entry ids. A private event is appended (atomically, once per event id) to
its account's own stream, `account_stream(...)`, whose ids are `0-1`, `0-2`, ...: the
account's number on that channel, contiguous, which the shared stream's entry carries as
`account_seq`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

ZERO = "0-0"
"""The sequence number before the first entry of any stream."""


def seq_key(seq: str) -> tuple[int, int]:
    """A sequence number as a sortable pair; ValueError if it is not `<int>-<int>`."""
    ms, _, n = seq.partition("-")
    if not ms.isdigit() or not (n or "0").isdigit():
        raise ValueError(f"a sequence number is <milliseconds>-<n>, was {seq!r}")
    key = int(ms), int(n or 0)
    if max(key) >= 2**64:  # Redis stream ids are two 64-bit numbers
        raise ValueError(f"a sequence number's parts are below 2^64, was {seq!r}")
    return key


def account_stream(stream: str, account_id: str) -> str:
    """The stream of one account's events of a private channel's `stream`."""
    return f"{stream}:acct:{account_id}"


def account_seq(n: int) -> str:
    """The account's `n`th message of a private channel as a sequence number (`0-<n>`)."""
    if n < 0:
        raise ValueError(f"a message number is not negative, was {n}")
    return f"0-{n}"


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One entry of an event stream: its sequence number, event id, type and payload, and
    for a private event on the shared stream its number in its account's stream."""

    seq: str
    event_id: str
    type: str
    payload: dict[str, object]
    account_seq: str | None = None


class FeedSource(Protocol):
    """The event streams the outbox relay writes (Redis Streams)."""

    async def heads(self, streams: Sequence[str]) -> dict[str, str]:
        """The last sequence number of each stream (`ZERO` if it is empty)."""
        ...

    async def read(self, after: Mapping[str, str],
                   block_ms: int) -> list[tuple[str, FeedEvent]]:
        """Entries after the given sequence numbers, waiting up to `block_ms` for one."""
        ...

    async def range(self, stream: str, after: str, count: int) -> list[FeedEvent]:
        """Up to `count` entries strictly after `after`, oldest first."""
        ...

    async def latest(self, stream: str, count: int) -> list[FeedEvent]:
        """The last `count` entries, oldest first."""
        ...

    async def first(self, stream: str) -> str | None:
        """The sequence number of the oldest entry still kept, None if the stream is empty."""
        ...


class FeedQueries(Protocol):
    """What the feed reads from the order book (PostgreSQL) for its snapshots."""

    async def supply(self) -> list[dict[str, object]]:
        """Open supply and demand per GPU model, region and day: totals, never orders."""
        ...

    async def open_orders(self, account_id: str) -> list[dict[str, object]]:
        """The account's open orders, oldest first."""
        ...

    async def recent_fills(self, account_id: str, limit: int) -> list[dict[str, object]]:
        """The account's last `limit` fills, oldest first."""
        ...
