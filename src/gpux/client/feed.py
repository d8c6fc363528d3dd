"""The WebSocket feed from Python: an async iterator of `FeedMessage` that keeps itself in line.

    async with AsyncClient(url, key) as gx:
        async for msg in gx.feed("auctions", "fills"):
            ...

It remembers each channel's last sequence number; after a dropped connection it reconnects
(with backoff) and resubscribes with `since`, so the server replays what was missed. It drops
repeats (a seq at or below the last one) and, on an update whose `prev` is not the last seq it
saw (on a private channel, whose numbers go 1, 2, 3, ...: a seq that is not the next), it
resubscribes from there and drops that channel's updates until the server confirms, so the
replay brings them back in order. `last` may be saved and passed back as `since`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from gpux.client.errors import Unauthenticated
from gpux.client.models import FeedMessage
from gpux.domain.jsonio import dumps, loads

PRIVATE = frozenset({"orders", "fills"})


def seq_key(seq: str) -> tuple[int, int]:
    """A sequence number (`<ms>-<n>`, a Redis Streams id) as a sortable pair."""
    ms, _, n = seq.partition("-")
    return int(ms), int(n or 0)


class FeedClient:
    """A resuming subscription to some channels of `/ws`."""

    def __init__(self, url: str, key: str | None, channels: Sequence[str], *,
                 since: dict[str, str] | None = None, backoff: float = 0.5,
                 max_backoff: float = 10.0, open_timeout: float = 10.0) -> None:
        base = url.rstrip("/")
        self.ws_url = ("wss://" + base[8:] if base.startswith("https://") else
                       "ws://" + base.removeprefix("http://")) + "/ws"
        self.key = key
        self.channels = list(channels)
        self.last: dict[str, str] = dict(since or {})
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.open_timeout = open_timeout
        self.connects = 0
        self.gaps = 0  # how many times it saw a gap and resubscribed
        self._resyncing: set[str] = set()  # channels resubscribed after a gap, not yet confirmed
        self._ws: Any = None
        self._closed = False

    def __aiter__(self) -> AsyncIterator[FeedMessage]:
        return self._messages()

    async def close(self) -> None:
        """Stop: the iterator ends."""
        self._closed = True
        if self._ws is not None:
            await self._ws.close()

    async def drop(self) -> None:
        """Close the current connection as a network failure would (it reconnects)."""
        if self._ws is not None:
            await self._ws.close()

    async def _subscribe(self, ws: Any, channel: str) -> None:
        op: dict[str, Any] = {"op": "subscribe", "channel": channel}
        if channel in self.last:
            op["since"] = self.last[channel]
        await ws.send(dumps(op, indent=None))

    def _accept(self, msg: dict[str, Any]) -> str:
        """'yield', 'skip' (a repeat, or an update sent before a resubscription took effect),
        'gap' (the channel skipped a message) or 'gap:<channel>' (a heartbeat says a private
        channel is behind)."""
        channel, seq = msg.get("channel"), msg.get("seq")
        if msg.get("type") == "subscribed" and isinstance(channel, str):
            self._resyncing.discard(channel)
        if msg.get("type") == "heartbeat":
            return self._behind(msg.get("seqs"))
        if not isinstance(channel, str) or not isinstance(seq, str):
            return "yield"
        last = self.last.get(channel)
        if msg.get("type") == "update":
            if channel in self._resyncing:
                return "skip"
            if last is not None:
                if seq_key(seq) <= seq_key(last):
                    return "skip"
                prev = msg.get("prev")
                if prev is None and channel in PRIVATE:
                    prev = f"0-{seq_key(seq)[1] - 1}"
                if prev is not None and prev != last:
                    return "gap"
        self.last[channel] = seq
        return "yield"

    def _behind(self, seqs: object) -> str:
        """'gap:<channel>' when a heartbeat names a private message newer than the last one
        seen on a channel in line (the last of a burst was lost), else 'yield'."""
        if not isinstance(seqs, dict):
            return "yield"
        for channel in sorted(PRIVATE.intersection(self.channels) - self._resyncing):
            newest, last = seqs.get(channel), self.last.get(channel)
            if isinstance(newest, str) and last is not None and seq_key(newest) > seq_key(last):
                return f"gap:{channel}"
        return "yield"

    async def _messages(self) -> AsyncIterator[FeedMessage]:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake

        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        delay = self.backoff
        while not self._closed:
            try:
                async with connect(self.ws_url, additional_headers=headers,
                                   open_timeout=self.open_timeout) as ws:
                    self._ws = ws
                    self.connects += 1
                    self._resyncing.clear()
                    for channel in self.channels:
                        await self._subscribe(ws, channel)
                    async for text in ws:
                        delay = self.backoff
                        msg = loads(str(text))
                        verdict = self._accept(msg)
                        if verdict.startswith("gap"):
                            behind = verdict.partition(":")[2] or str(msg["channel"])
                            self.gaps += 1
                            self._resyncing.add(behind)
                            await self._subscribe(ws, behind)
                            if msg.get("type") == "heartbeat":
                                yield FeedMessage.of(msg)
                        elif verdict == "yield":
                            yield FeedMessage.of(msg)
                    if ws.close_code == 4401:
                        raise Unauthenticated("the feed refused the API key",
                                              code="unauthenticated", status=401)
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError):
                pass
            finally:
                self._ws = None
            if not self._closed:
                await asyncio.sleep(delay)
                delay = min(self.max_backoff, delay * 2)
