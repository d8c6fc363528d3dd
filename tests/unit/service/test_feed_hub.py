"""The feed hub on fakes: snapshot then updates, nothing lost or repeated while catching up,
private events only to their account and numbered per account, supply from its stream."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from gpux.service.feed import FeedHub, Subscriber
from gpux.service.feed_ports import ZERO, FeedEvent, account_stream, seq_key

STREAMS = {"auctions": "a", "supply": "s", "orders": "o", "fills": "f"}


class FakeSource:
    """Streams in memory; `gate` holds range() until released (a slow replay). A private
    event also goes to its account's stream, numbered there, as the outbox relay does it."""

    def __init__(self) -> None:
        self.entries: dict[str, list[FeedEvent]] = defaultdict(list)
        self.gate: asyncio.Event | None = None
        self.n = 0

    def add(self, stream: str, payload: dict[str, object]) -> FeedEvent:
        self.n += 1
        own = None
        if stream in ("o", "f"):
            mine = self.entries[account_stream(stream, str(payload["account_id"]))]
            own = f"0-{len(mine) + 1}"
            mine.append(FeedEvent(own, f"e{self.n}", str(payload.get("type")), payload))
        event = FeedEvent(f"{self.n}-0", f"e{self.n}", str(payload.get("type")), payload, own)
        self.entries[stream].append(event)
        return event

    async def heads(self, streams: Sequence[str]) -> dict[str, str]:
        return {s: self.entries[s][-1].seq if self.entries[s] else ZERO for s in streams}

    async def read(self, after: Mapping[str, str],
                   block_ms: int) -> list[tuple[str, FeedEvent]]:
        await asyncio.sleep(3600)
        return []

    async def range(self, stream: str, after: str, count: int) -> list[FeedEvent]:
        if self.gate is not None:
            await self.gate.wait()
        return [e for e in self.entries[stream] if seq_key(e.seq) > seq_key(after)][:count]

    async def latest(self, stream: str, count: int) -> list[FeedEvent]:
        return self.entries[stream][-count:]

    async def first(self, stream: str) -> str | None:
        return self.entries[stream][0].seq if self.entries[stream] else None


class FakeQueries:
    async def supply(self) -> list[dict[str, object]]:
        return [{"gpu": "H100", "region": "us-east", "day": "2026-12-01",
                 "supply_gpu_hours": 10, "asks": 1, "demand_gpu_hours": 0, "bids": 0}]

    async def open_orders(self, account_id: str) -> list[dict[str, object]]:
        return []

    async def recent_fills(self, account_id: str, limit: int) -> list[dict[str, object]]:
        return []


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 12, 1, tzinfo=UTC)


def _drain(sub: Subscriber) -> list[dict[str, Any]]:
    out = []
    while not sub.queue.empty():
        out.append(json.loads(sub.queue.get_nowait()))
    return [m for m in out if "seq" in m]


def _fill(account: str, n: int) -> dict[str, object]:
    return {"type": "fill", "account_id": account, "fill_id": n}


async def test_a_subscriber_gets_the_snapshot_then_each_round_with_its_prev() -> None:
    source = FakeSource()
    source.add("a", {"type": "auction", "auction_id": 1})
    hub = FeedHub(source, FakeQueries(), FixedClock(), STREAMS)
    sub = Subscriber(None, 100)
    await hub.subscribe(sub, "auctions")
    new = source.add("a", {"type": "auction", "auction_id": 2})
    await hub.dispatch("a", new)
    snap, update = _drain(sub)
    assert snap["type"] == "snapshot" and snap["data"] == {"rounds": [{"auction_id": 1}]}
    assert (update["seq"], update["prev"]) == (new.seq, snap["seq"])
    await hub.close()


async def test_events_arriving_during_a_replay_are_delivered_once_after_it() -> None:
    source = FakeSource()
    hub = FeedHub(source, FakeQueries(), FixedClock(), STREAMS)
    await hub.start()
    old = source.add("f", _fill("lab", 1))
    missed = [source.add("f", _fill("lab", 2)), source.add("f", _fill("uni", 3))]
    source.gate = asyncio.Event()
    sub = Subscriber("lab", 100)
    task = asyncio.create_task(hub.subscribe(sub, "fills", since=old.account_seq))
    await asyncio.sleep(0.01)
    # The reader dispatches the missed entry (already in the replay) and a new one meanwhile.
    await hub.dispatch("f", missed[0])
    late = source.add("f", _fill("lab", 4))
    source.gate.set()
    await task
    await hub.dispatch("f", late)
    got = _drain(sub)
    assert [m["data"]["fill_id"] for m in got] == [2, 4]
    assert [(m["seq"], m["prev"]) for m in got] == [("0-2", "0-1"), ("0-3", "0-2")]
    assert all(m["type"] == "update" for m in got)
    await hub.close()


async def test_private_events_reach_only_their_account() -> None:
    source = FakeSource()
    hub = FeedHub(source, FakeQueries(), FixedClock(), STREAMS)
    lab, uni = Subscriber("lab", 100), Subscriber("uni", 100)
    for sub in (lab, uni):
        await hub.subscribe(sub, "fills")
        _drain(sub)
    await hub.dispatch("f", source.add("f", _fill("lab", 1)))
    assert [m["data"]["fill_id"] for m in _drain(lab)] == [1]
    assert _drain(uni) == []
    await hub.close()


async def test_a_subscriber_that_falls_too_far_behind_is_marked_lagging() -> None:
    source = FakeSource()
    hub = FeedHub(source, FakeQueries(), FixedClock(), STREAMS)
    sub = Subscriber(None, 10)
    await hub.subscribe(sub, "auctions")
    for k in range(20):
        await hub.dispatch("a", source.add("a", {"type": "auction", "auction_id": k}))
    assert sub.lagging.is_set()
    await hub.close()


class GatedQueries(FakeQueries):
    """Holds the private snapshot query until `gate` is set (a slow snapshot)."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.orders: list[dict[str, object]] = []

    async def open_orders(self, account_id: str) -> list[dict[str, object]]:
        await self.gate.wait()
        return self.orders


async def test_a_private_event_arriving_while_the_snapshot_is_read_follows_it_once() -> None:
    source = FakeSource()
    queries = GatedQueries()
    hub = FeedHub(source, queries, FixedClock(), STREAMS)
    await hub.start()
    # The process's reader is behind: `seen` is in the stream (and the snapshot) already.
    seen = source.add("o", {"type": "order", "account_id": "lab", "order_id": 1,
                            "status": "filled"})
    sub = Subscriber("lab", 100)
    task = asyncio.create_task(hub.subscribe(sub, "orders"))
    await asyncio.sleep(0.01)
    # In the gap between the snapshot's head and the subscription going live, the reader
    # dispatches the old entry and a new one.
    await hub.dispatch("o", seen)
    new = source.add("o", {"type": "order", "account_id": "lab", "order_id": 2,
                           "status": "cancelled"})
    await hub.dispatch("o", new)
    queries.gate.set()
    await task
    later = source.add("o", {"type": "order", "account_id": "lab", "order_id": 3,
                             "status": "filled"})
    await hub.dispatch("o", later)
    snap, *updates = _drain(sub)
    assert (snap["type"], snap["seq"]) == ("snapshot", seen.account_seq)
    assert [m["data"]["order_id"] for m in updates] == [2, 3]
    assert all(m["type"] == "update" for m in updates)
    await hub.close()


async def test_private_updates_number_each_accounts_messages_one_by_one_with_prev() -> None:
    source = FakeSource()
    hub = FeedHub(source, FakeQueries(), FixedClock(), STREAMS)
    lab, uni = Subscriber("lab", 100), Subscriber("uni", 100)
    for sub in (lab, uni):
        await hub.subscribe(sub, "fills")
    for n, who in enumerate(["lab", "uni", "uni", "lab", "lab"]):
        await hub.dispatch("f", source.add("f", _fill(who, n)))
    got = {who: [(m["type"], m["seq"], m.get("prev")) for m in _drain(sub)]
           for who, sub in (("lab", lab), ("uni", uni))}
    assert got == {
        "lab": [("snapshot", "0-0", None), ("update", "0-1", "0-0"), ("update", "0-2", "0-1"),
                ("update", "0-3", "0-2")],
        "uni": [("snapshot", "0-0", None), ("update", "0-1", "0-0"), ("update", "0-2", "0-1")]}
    await hub.close()


async def test_a_private_resume_from_before_what_the_account_stream_still_holds_is_reset() -> None:
    source = FakeSource()
    hub = FeedHub(source, FakeQueries(), FixedClock(), STREAMS)
    for n in range(4):
        source.add("f", _fill("lab", n))
    del source.entries[account_stream("f", "lab")][:2]  # trimmed: 0-3 and 0-4 are left
    kept, lost = Subscriber("lab", 100), Subscriber("lab", 100)
    await hub.subscribe(kept, "fills", since="0-2")
    await hub.subscribe(lost, "fills", since="0-1")
    assert [(m["type"], m["seq"]) for m in _drain(kept)] == [("update", "0-3"), ("update", "0-4")]
    assert [(m["type"], m["seq"], m["reset"]) for m in _drain(lost)] == [
        ("snapshot", "0-4", True)]
    await hub.close()


async def test_a_shared_stream_entry_without_an_account_number_is_not_sent() -> None:
    source = FakeSource()
    hub = FeedHub(source, FakeQueries(), FixedClock(), STREAMS)
    sub = Subscriber("lab", 100)
    await hub.subscribe(sub, "fills")
    _drain(sub)
    await hub.dispatch("f", FeedEvent("9-0", "old", "fill", _fill("lab", 9)))
    assert _drain(sub) == []
    await hub.close()


async def test_supply_comes_from_its_stream_with_the_entry_ids_as_seq_and_prev() -> None:
    source = FakeSource()
    first = source.add("s", {"type": "supply", "supply": [{"gpu": "H100", "bids": 0}]})
    hub = FeedHub(source, FakeQueries(), FixedClock(), STREAMS)
    sub = Subscriber(None, 100)
    await hub.subscribe(sub, "supply")
    # A round's result no longer recomputes supply: only the supply stream moves it.
    await hub.dispatch("a", source.add("a", {"type": "auction", "auction_id": 1}))
    new = source.add("s", {"type": "supply", "supply": [{"gpu": "H100", "bids": 1}]})
    await hub.dispatch("s", new)
    snap, update = _drain(sub)
    assert (snap["seq"], snap["data"]) == (first.seq, {"supply": [{"gpu": "H100", "bids": 0}]})
    assert (update["seq"], update["prev"], update["data"]) == (
        new.seq, first.seq, {"supply": [{"gpu": "H100", "bids": 1}]})
    await hub.close()


async def test_a_heartbeat_names_each_private_channels_newest_number_for_its_account() -> None:
    source = FakeSource()
    hub = FeedHub(source, FakeQueries(), FixedClock(), STREAMS)
    lab, uni, public = Subscriber("lab", 100), Subscriber("uni", 100), Subscriber(None, 100)
    for sub in (lab, uni, public):
        hub.join(sub)
    await hub.subscribe(lab, "fills")
    await hub.subscribe(uni, "fills")
    await hub.subscribe(public, "auctions")
    for n in range(2):
        await hub.dispatch("f", source.add("f", _fill("lab", n)))
    beats = {}
    hub.heartbeat()
    for who, sub in (("lab", lab), ("uni", uni), ("public", public)):
        msgs = [json.loads(sub.queue.get_nowait()) for _ in range(sub.queue.qsize())]
        (beat,) = [m for m in msgs if m["type"] == "heartbeat"]
        beats[who] = beat["seqs"]
    assert beats["lab"]["fills"] == "0-2"
    assert "fills" not in beats["uni"] and "fills" not in beats["public"]
    assert beats["public"] == {"auctions": ZERO, "supply": ZERO}
    await hub.close()


async def test_the_hub_keeps_an_accounts_newest_number_only_while_it_has_subscribers() -> None:
    # private_last once grew with every account whose events passed through the process
    source = FakeSource()
    hub = FeedHub(source, FakeQueries(), FixedClock(), STREAMS)
    lab = Subscriber("lab", 100)
    hub.join(lab)
    await hub.subscribe(lab, "fills")
    for n, account in enumerate(["lab", "uni", "org", "lab"]):
        await hub.dispatch("f", source.add("f", _fill(account, n)))
    assert hub.private_last == {("fills", "lab"): "0-2"}
    hub.unsubscribe(lab, "fills")
    assert hub.private_last == {}
    # back again: the snapshot carries the number, the heartbeat names it after the next
    await hub.subscribe(lab, "fills")
    snap = _drain(lab)[-1]
    assert (snap["type"], snap["seq"]) == ("snapshot", "0-2")
    await hub.dispatch("f", source.add("f", _fill("lab", 9)))
    hub.heartbeat()
    msgs = [json.loads(lab.queue.get_nowait()) for _ in range(lab.queue.qsize())]
    (beat,) = [m for m in msgs if m["type"] == "heartbeat"]
    assert beat["seqs"]["fills"] == "0-3"
    hub.leave(lab)
    assert hub.private_last == {}
    await hub.close()
