"""Private channels number each account's messages 1, 2, 3, ... (`seq` `0-<n>`, with `prev`):
the same on every gateway, once per event however often the relay publishes it, and a client
that resumes or missed some gets exactly those again."""

from __future__ import annotations

import asyncio
from typing import Any

from feedkit import HOUR, Exchange, auth, iso, next_message, send, start_hour
from sqlalchemy import text
from websockets.asyncio.client import ClientConnection, connect

from gpux.adapters.redis.streams import OutboxRelay, read_stream
from gpux.client import FeedClient
from gpux.service.feed_ports import account_stream


def _relay(exchange: Exchange) -> OutboxRelay:
    conf = exchange.res.settings
    return OutboxRelay(exchange.res.engine, exchange.res.redis, maxlen=1000,
                       numbered=[conf.orders_stream, conf.fills_stream])


async def _publish_all(relay: OutboxRelay) -> None:
    while await relay.publish_once():
        pass


async def _place(exchange: Exchange, who: str, cid: str) -> int:
    h0 = start_hour()
    async with exchange.http(who) as http:
        r = await http.post("/bids", json={"client_order_id": cid, "alternatives": [{
            "value": "100", "earliest_start": iso(h0), "latest_end": iso(h0 + 24 * HOUR),
            "legs": [{"gpus": 1, "duration_hours": 4, "gpu": ["H100"]}]}]})
        assert r.status_code == 201, r.text
        return int(r.json()["id"])


async def _cancel(exchange: Exchange, who: str, order_id: int) -> None:
    async with exchange.http(who) as http:
        r = await http.delete(f"/orders/{order_id}")
        assert r.status_code == 200, r.text


async def _subscribed(exchange: Exchange, who: str, **op: Any) -> ClientConnection:
    ws = await connect(exchange.ws_url, additional_headers=auth(exchange.keys[who]))
    await next_message(ws)
    await send(ws, op="subscribe", channel="orders", **op)
    assert (await next_message(ws))["type"] == "subscribed"
    return ws


async def _lab_and_uni_trade(exchange: Exchange) -> list[tuple[int, str]]:
    """lab places three bids and cancels two, uni places two between; all published.
    lab's (order id, event) in the order they happened."""
    lab = [await _place(exchange, "lab", f"l{k}") for k in range(2)]
    await _place(exchange, "uni", "u0")
    lab.append(await _place(exchange, "lab", "l2"))
    await _cancel(exchange, "lab", lab[0])
    await _place(exchange, "uni", "u1")
    await _cancel(exchange, "lab", lab[2])
    await _publish_all(_relay(exchange))
    return [(lab[0], "placed"), (lab[1], "placed"), (lab[2], "placed"),
            (lab[0], "cancelled"), (lab[2], "cancelled")]


def _numbered(msgs: list[dict[str, Any]]) -> list[tuple[str, str, int, str]]:
    return [(m["seq"], m["prev"], m["data"]["order_id"], m["data"]["event"]) for m in msgs]


async def _updates(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    got = [await next_message(ws) for _ in range(count)]
    assert all(m["type"] == "update" for m in got), got
    return got


async def test_an_accounts_messages_are_numbered_one_by_one_whatever_other_accounts_do(
        exchange: Exchange) -> None:
    lab = await _subscribed(exchange, "lab")
    uni = await _subscribed(exchange, "uni")
    try:
        for ws in (lab, uni):
            snap = await next_message(ws)
            assert (snap["type"], snap["seq"]) == ("snapshot", "0-0")
        events = await _lab_and_uni_trade(exchange)
        got = await _updates(lab, 5)
        assert _numbered(got) == [(f"0-{n}", f"0-{n - 1}", order_id, event)
                                  for n, (order_id, event) in enumerate(events, 1)]
        assert {m["data"]["account_id"] for m in got} == {"lab"}
        theirs = await _updates(uni, 2)
        assert [(m["seq"], m["data"]["account_id"]) for m in theirs] == [
            ("0-1", "uni"), ("0-2", "uni")]
    finally:
        await lab.close()
        await uni.close()


async def test_a_client_resuming_from_an_earlier_number_gets_exactly_the_messages_after_it(
        exchange: Exchange) -> None:
    events = await _lab_and_uni_trade(exchange)
    ws = await _subscribed(exchange, "lab", since="0-2")
    try:
        got = await _updates(ws, 3)
        assert _numbered(got) == [(f"0-{n}", f"0-{n - 1}", *events[n - 1]) for n in (3, 4, 5)]
        # Nothing else is pending: the next message is a heartbeat.
        assert (await next_message(ws, skip=()))["type"] == "heartbeat"
    finally:
        await ws.close()


async def test_a_client_that_skipped_messages_gets_them_again_when_it_resumes_from_before(
        exchange: Exchange) -> None:
    ws = await _subscribed(exchange, "lab")
    try:
        await next_message(ws)  # the snapshot
        await _lab_and_uni_trade(exchange)
        seen = await _updates(ws, 5)
        assert seen[-1]["seq"] == "0-5"
        # As if 0-4 and 0-5 had been lost: resume from 0-3 on the same connection.
        await send(ws, op="subscribe", channel="orders", since="0-3")
        assert (await next_message(ws))["type"] == "subscribed"
        again = await _updates(ws, 2)
        assert [(m["seq"], m["prev"], m["data"]) for m in again] == [
            (m["seq"], m["prev"], m["data"]) for m in seen[3:]]
        assert (await next_message(ws, skip=()))["type"] == "heartbeat"
    finally:
        await ws.close()


async def test_a_row_the_relay_publishes_twice_keeps_one_number_and_one_entry(
        exchange: Exchange) -> None:
    conf = exchange.res.settings
    relay = _relay(exchange)
    ws = await _subscribed(exchange, "lab")
    try:
        await next_message(ws)  # the snapshot
        first = await _place(exchange, "lab", "twice")
        assert await relay.publish_once() == 1
        # A crash after the XADD and before the rows were marked published: all of them go
        # out again.
        async with exchange.res.engine.begin() as conn:
            await conn.execute(text("UPDATE outbox SET published_at = NULL"))
        assert await relay.publish_once() == 1
        second = await _place(exchange, "lab", "after")
        await _publish_all(relay)
        got = await _updates(ws, 2)
        assert _numbered(got) == [("0-1", "0-0", first, "placed"),
                                  ("0-2", "0-1", second, "placed")]
        assert (await next_message(ws, skip=()))["type"] == "heartbeat"
    finally:
        await ws.close()
    shared = await read_stream(exchange.res.redis, conf.orders_stream)
    assert [(e.event_id, e.account_seq) for e in shared] == [
        (f"order:{first}:placed", "0-1"), (f"order:{second}:placed", "0-2")]
    own = await read_stream(exchange.res.redis, account_stream(conf.orders_stream, "lab"))
    assert [(e.entry_id, e.event_id) for e in own] == [
        ("0-1", f"order:{first}:placed"), ("0-2", f"order:{second}:placed")]


class LosesOne(FeedClient):
    """A feed client whose connection loses the first message numbered `lost`."""

    def __init__(self, *args: Any, lost: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lost: str | None = lost

    def _accept(self, msg: dict[str, Any]) -> str:
        if msg.get("type") == "update" and msg.get("seq") == self.lost:
            self.lost = None
            return "skip"
        return super()._accept(msg)


async def test_the_sdk_feed_client_sees_a_private_gap_and_gets_the_lost_message_back(
        exchange: Exchange) -> None:
    feed = LosesOne(exchange.url, exchange.keys["lab"], ["orders"], lost="0-2")
    live = asyncio.Event()
    got: list[Any] = []

    async def read() -> None:
        async for msg in feed:
            if msg.type == "snapshot":
                live.set()
            if msg.type == "update":
                got.append(msg)
                if msg.seq == "0-3":
                    return

    async with asyncio.timeout(60):
        reader = asyncio.create_task(read())
        await live.wait()
        for k in range(3):
            await _place(exchange, "lab", f"g{k}")
        await _publish_all(_relay(exchange))
        await reader
    await feed.close()
    assert [(m.seq, m.raw["prev"]) for m in got] == [("0-1", "0-0"), ("0-2", "0-1"),
                                                       ("0-3", "0-2")]
    assert feed.gaps == 1 and feed.connects == 1


async def test_a_second_relay_publishes_nothing_while_another_is_mid_batch(
        exchange: Exchange) -> None:
    from gpux.adapters.redis import streams

    conf = exchange.res.settings
    relay = OutboxRelay(exchange.res.engine, exchange.res.redis, maxlen=1000,
                        numbered=[conf.orders_stream, conf.fills_stream])
    h0 = start_hour()
    async with exchange.http("lab") as http:
        placed = (await http.post("/bids", json={"client_order_id": "x", "alternatives": [{
            "value": "100", "earliest_start": iso(h0), "latest_end": iso(h0 + 24 * HOUR),
            "legs": [{"gpus": 1, "duration_hours": 4, "gpu": ["H100"]}]}]})).json()
        assert (await http.delete(f"/orders/{placed['id']}")).status_code == 200
    # Another relay holds the publishing lock (it is between taking its batch and marking
    # it published): this one must not publish the later rows meanwhile.
    async with exchange.res.engine.begin() as other:
        await other.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                            {"k": streams._RELAY_KEY})
        assert await relay.publish_once() == 0
        own = account_stream(conf.orders_stream, "lab")
        assert await read_stream(exchange.res.redis, own) == []
    assert await relay.publish_once() >= 2
    events = await read_stream(exchange.res.redis, own)
    assert [(e.entry_id, e.payload["event"]) for e in events] == [
        ("0-1", "placed"), ("0-2", "cancelled")]
