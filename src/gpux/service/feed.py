"""The market-data feed: one reader of the event streams per process, fanned out to local
subscribers; each subscription starts with a snapshot (or a replay) and then carries updates.

Channels: `auctions` (each cleared round), `supply` (open supply and demand totals, whole
state, published by the worker whenever the book changed), and the private `orders` and
`fills` (an account sees only its own). Every message carries `seq`, the Redis Streams entry
id of the event (see `feed_ports`), so the numbers are the same on every gateway: on public
channels the id in the channel's stream, on private ones the id in the account's own stream,
`0-<n>`, so an account's messages on a channel are numbered 1, 2, 3, ... with no holes.
Updates carry `prev`, the seq before theirs, so a client sees a gap. A subscription made with
`since` replays what came after it (from the account's stream, for a private channel); one
the streams no longer hold gets a snapshot with `reset: true` instead.

Catching up without losing or repeating a message: a subscription is indexed (so live events
queue up beside it) before its snapshot or replay is read; when that is done, the queued events
past the last sequence number read are delivered and the subscription goes live, with no await
in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from gpux.domain.errors import InvalidValue, Unauthenticated
from gpux.domain.jsonio import dumps
from gpux.service.feed_ports import (
    ZERO,
    FeedEvent,
    FeedQueries,
    FeedSource,
    account_seq,
    account_stream,
    seq_key,
)
from gpux.service.ports import Clock

log = logging.getLogger(__name__)

CHANNELS = ("auctions", "supply", "orders", "fills")
PRIVATE = frozenset({"orders", "fills"})
STREAMED = ("auctions", "supply", "orders", "fills")  # each reads a stream of its own
_PAGE = 500
_COMMIT_ORDER = {"fills": 0, "orders": 1, "auctions": 2, "supply": 3}


def encode(doc: Mapping[str, object]) -> str:
    """One feed message as exact JSON text (money as decimal numbers, never floats)."""
    return dumps(doc, indent=None)


def _data(event: FeedEvent) -> dict[str, object]:
    return {k: v for k, v in event.payload.items() if k != "type"}


def _before(seq: str) -> str:
    """The private seq before `seq` (`0-<n>` -> `0-<n-1>`)."""
    return account_seq(max(0, seq_key(seq)[1] - 1))


class Subscriber:
    """One client connection: its account, its outgoing queue and its channels' states."""

    def __init__(self, account_id: str | None, queue_max: int) -> None:
        self.account_id = account_id
        self.queue: asyncio.Queue[str] = asyncio.Queue(queue_max)
        self.syncing: dict[str, list[tuple[tuple[int, int], str]]] = {}
        # channel -> the seq it is in line at: a replay may have read past the process's
        # reader, so what the reader dispatches later at or below it is not sent again.
        self.live: dict[str, tuple[int, int]] = {}
        self.lagging = asyncio.Event()

    def push(self, text: str) -> None:
        """Queue a message; a full queue marks the subscriber as lagging (to be closed)."""
        if self.lagging.is_set():
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.lagging.set()

    def deliver(self, channel: str, key: tuple[int, int], text: str) -> None:
        """A live event: held while the channel catches up, sent once it is live."""
        held = self.syncing.get(channel)
        if held is not None:
            held.append((key, text))
        else:
            floor = self.live.get(channel)
            if floor is not None and key > floor:
                self.push(text)


class FeedHub:
    """Tails the event streams once per process and fans each event out to subscribers."""

    def __init__(self, source: FeedSource, queries: FeedQueries, clock: Clock,
                 streams: Mapping[str, str], *, snapshot_rounds: int = 10,
                 snapshot_fills: int = 100, heartbeat_seconds: float = 15.0,
                 catch_up_concurrency: int = 8) -> None:
        self.source = source
        self.queries = queries
        self.clock = clock
        self.streams = dict(streams)  # channel -> stream name, for the STREAMED channels
        missing = [c for c in STREAMED if c not in self.streams]
        if missing:
            raise ValueError(f"the feed needs a stream for {', '.join(missing)}, "
                             f"had {sorted(self.streams)}")
        self.channel_of = {name: channel for channel, name in self.streams.items()}
        self.snapshot_rounds = snapshot_rounds
        self.snapshot_fills = snapshot_fills
        self.heartbeat_seconds = heartbeat_seconds
        self.last: dict[str, str] = {}  # stream -> the last sequence number dispatched
        self.rounds: list[FeedEvent] = []  # the last `snapshot_rounds` auction events
        self.supply: list[dict[str, object]] = []
        self.supply_seq = ZERO
        self.everyone: set[Subscriber] = set()
        self.public: dict[str, set[Subscriber]] = defaultdict(set)
        self.private: dict[tuple[str, str], set[Subscriber]] = defaultdict(set)
        # (channel, account) -> the newest number this process dispatched on it, kept
        # while the account has a subscriber there (the heartbeat's only reader).
        self.private_last: dict[tuple[str, str], str] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._starting = asyncio.Lock()
        # Snapshots and replays of many subscribers at once queue here rather than take
        # every Redis and PostgreSQL connection of the process.
        self._reading = asyncio.Semaphore(catch_up_concurrency)

    async def start(self) -> None:
        """Start reading the streams from their current ends (once; later calls return)."""
        async with self._starting:
            if self._tasks:
                return
            self.last = await self.source.heads(list(self.streams.values()))
            self.rounds = await self.source.latest(self.streams["auctions"],
                                                   self.snapshot_rounds)
            if self.rounds:  # the reader goes on after the last round held
                self.last[self.streams["auctions"]] = self.rounds[-1].seq
            latest = await self.source.latest(self.streams["supply"], 1)
            if latest:
                self.supply_seq, self.supply = latest[0].seq, _supply(latest[0])
            else:  # no worker published any yet: the book as it is now, before the first
                self.supply_seq, self.supply = ZERO, await self.queries.supply()
            self._tasks = [asyncio.create_task(self._read_forever(), name="feed-reader"),
                           asyncio.create_task(self._beat_forever(), name="feed-heartbeat")]

    async def close(self) -> None:
        """Stop the reader and the heartbeat."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def join(self, sub: Subscriber) -> None:
        """A new connection (it receives heartbeats)."""
        self.everyone.add(sub)

    def leave(self, sub: Subscriber) -> None:
        """A closed connection: drop every subscription it had."""
        for channel in CHANNELS:
            self._unindex(sub, channel)
        self.everyone.discard(sub)

    async def subscribe(self, sub: Subscriber, channel: str, since: str | None = None) -> None:
        """Subscribe `sub` to `channel`: a snapshot (or the replay after `since`), then live."""
        if channel not in CHANNELS:
            raise InvalidValue("channel", f"must be one of {', '.join(CHANNELS)}", channel)
        if channel in PRIVATE and sub.account_id is None:
            raise Unauthenticated(f"the {channel} channel is private: send `Authorization: "
                                  "Bearer <API key>` with the upgrade, or an auth op first")
        if since is not None:
            try:
                seq_key(since)
            except ValueError as err:
                raise InvalidValue("since", str(err), since) from None
        await self.start()
        sub.push(encode({"type": "subscribed", "channel": channel}))
        self._unindex(sub, channel)
        self._index(sub, channel)
        sub.syncing[channel] = []
        try:
            upto = seq_key(await self._catch_up(sub, channel, since))
        except BaseException:
            self._unindex(sub, channel)
            raise
        for key, text in sub.syncing.pop(channel):
            if key > upto:
                sub.push(text)
                upto = key
        sub.live[channel] = upto

    def unsubscribe(self, sub: Subscriber, channel: str) -> None:
        """Stop sending `channel` to `sub`."""
        if channel not in CHANNELS:
            raise InvalidValue("channel", f"must be one of {', '.join(CHANNELS)}", channel)
        self._unindex(sub, channel)

    def _index(self, sub: Subscriber, channel: str) -> None:
        if channel in PRIVATE:
            assert sub.account_id is not None
            self.private[channel, sub.account_id].add(sub)
        else:
            self.public[channel].add(sub)

    def _unindex(self, sub: Subscriber, channel: str) -> None:
        sub.syncing.pop(channel, None)
        sub.live.pop(channel, None)
        if channel in PRIVATE and sub.account_id is not None:
            subs = self.private.get((channel, sub.account_id))
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self.private[channel, sub.account_id]
                    self.private_last.pop((channel, str(sub.account_id)), None)
        else:
            self.public[channel].discard(sub)

    async def _catch_up(self, sub: Subscriber, channel: str, since: str | None) -> str:
        """Send the snapshot or replay; the sequence number the subscriber is now in line at."""
        if channel == "supply":
            sub.push(encode({"channel": "supply", "type": "snapshot", "seq": self.supply_seq,
                             "data": {"supply": self.supply}}))
            return self.supply_seq
        if channel == "auctions" and since is None:
            return await self._snapshot(sub, channel, reset=False)
        async with self._reading:
            if since is not None:
                upto = await self._replay(sub, channel, since)
                if upto is not None:
                    return upto
            return await self._snapshot(sub, channel, reset=since is not None)

    def _stream(self, sub: Subscriber, channel: str) -> str:
        """Where a subscription reads its snapshot seq and replays: the account's stream on
        a private channel."""
        if channel in PRIVATE:
            assert sub.account_id is not None
            return account_stream(self.streams[channel], sub.account_id)
        return self.streams[channel]

    async def _replay(self, sub: Subscriber, channel: str, since: str) -> str | None:
        """Resend what came after `since`; None if the stream may no longer hold all of it."""
        stream = self._stream(sub, channel)
        first = await self.source.first(stream)
        head = (await self.source.heads([stream]))[stream]
        if channel in PRIVATE:
            # Numbered 1, 2, 3, ...: the stream holds all after `since` if it holds the next.
            if seq_key(since) > seq_key(head) or (
                    first is not None and seq_key(first)[1] > seq_key(since)[1] + 1):
                return None
        elif since != ZERO and (seq_key(since) > seq_key(head) or (
                first is not None and seq_key(first) > seq_key(since))):
            return None
        after = since
        while True:
            page = await self.source.range(stream, after, _PAGE)
            for event in page:
                prev = _before(event.seq) if channel in PRIVATE else after
                sub.push(self._update(channel, event, event.seq, prev))
                after = event.seq
            if len(page) < _PAGE:
                return after

    async def _snapshot(self, sub: Subscriber, channel: str, *, reset: bool) -> str:
        stream = self.streams[channel]
        data: dict[str, object]
        if channel == "auctions":
            # From memory, with no await: the reader keeps the last rounds as it dispatches.
            seq = self.last[stream]
            data = {"rounds": [_data(r) for r in self.rounds]}
        else:
            # The head first: what the query then reads includes at least every event up to
            # it, and anything later comes as an update (perhaps repeating the snapshot).
            own = self._stream(sub, channel)
            seq = (await self.source.heads([own]))[own]
            assert sub.account_id is not None
            if channel == "orders":
                data = {"orders": await self.queries.open_orders(sub.account_id)}
            else:
                data = {"fills": await self.queries.recent_fills(sub.account_id,
                                                                 self.snapshot_fills)}
        sub.push(encode({"channel": channel, "type": "snapshot", "seq": seq, "reset": reset,
                         "data": data}))
        return seq

    @staticmethod
    def _update(channel: str, event: FeedEvent, seq: str, prev: str) -> str:
        # `prev`: the channel's previous seq, so a client that had another one saw a gap.
        return encode({"channel": channel, "type": "update", "seq": seq, "prev": prev,
                       "data": _data(event)})

    async def _read_forever(self) -> None:
        while True:
            try:
                batch = await self.source.read(self.last, block_ms=1000)
            except asyncio.CancelledError:
                raise
            except Exception:  # the feed outlives a Redis outage and picks up where it was
                log.exception("feed reader failed; retrying")
                await asyncio.sleep(1.0)
                continue
            for stream, event in sorted(batch, key=self._commit_order):
                await self.dispatch(stream, event)

    def _commit_order(self, item: tuple[str, FeedEvent]) -> tuple[int, int, int]:
        """Events in the order a round's commit wrote them: a fill before the status of its
        order, both before the round (ids in one millisecond count per stream, so tie-break)."""
        ms, n = seq_key(item[1].seq)
        return ms, _COMMIT_ORDER.get(self.channel_of.get(item[0], ""), 3), n

    async def dispatch(self, stream: str, event: FeedEvent) -> None:
        """Fan one stream entry out to the subscribers that may see it."""
        channel = self.channel_of.get(stream)
        prev = self.last.get(stream, ZERO)
        self.last[stream] = event.seq
        if channel is None:
            return
        if channel in PRIVATE:
            if event.account_seq is None:  # not numbered (a relay of an older version)
                log.warning("feed: %s entry %s has no account_seq; not sent", stream, event.seq)
                return
            account = event.payload.get("account_id")
            subs = self.private.get((channel, str(account)), ())
            if subs:
                # A subscriber arriving later reads its snapshot's number from the stream.
                self.private_last[channel, str(account)] = event.account_seq
                text = self._update(channel, event, event.account_seq,
                                    _before(event.account_seq))
                key = seq_key(event.account_seq)
                for sub in list(subs):
                    sub.deliver(channel, key, text)
            return
        if channel == "supply":
            prev, self.supply_seq, self.supply = self.supply_seq, event.seq, _supply(event)
        else:
            self.rounds = [*self.rounds, event][-self.snapshot_rounds:]
        text = self._update(channel, event, event.seq, prev)
        key = seq_key(event.seq)
        for sub in list(self.public[channel]):
            sub.deliver(channel, key, text)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            self.heartbeat()

    def heartbeat(self) -> None:
        """Tell every connection the time and the last sequence numbers: the public channels',
        and on each private channel it is in line on, its account's newest (so a client that
        lost the last message of a burst sees the gap without waiting for the next)."""
        seqs: dict[str, Any] = {"auctions": self.last.get(self.streams["auctions"], ZERO),
                                "supply": self.supply_seq}
        now = _iso(self.clock.now())
        text = encode({"type": "heartbeat", "time": now, "seqs": seqs})
        for sub in list(self.everyone):
            own = {channel: self.private_last[channel, str(sub.account_id)]
                   for channel in sorted(PRIVATE.intersection(sub.live))
                   if (channel, str(sub.account_id)) in self.private_last}
            sub.push(encode({"type": "heartbeat", "time": now, "seqs": {**seqs, **own}})
                     if own else text)


def _supply(event: FeedEvent) -> list[dict[str, object]]:
    rows = event.payload.get("supply")
    return list(rows) if isinstance(rows, list) else []


def _iso(moment: Any) -> str:
    return str(moment.isoformat()).replace("+00:00", "Z")
