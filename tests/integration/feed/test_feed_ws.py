"""The WebSocket feed against a running API and worker, with real WebSocket clients."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from feedkit import HOUR, Exchange, auth, iso, next_message, send, start_hour, until
from websockets.asyncio.client import connect

from gpux.domain.jsonio import dumps


async def test_a_subscriber_gets_a_snapshot_then_the_rounds_updates_with_sequence_numbers(
        exchange: Exchange) -> None:
    async with connect(exchange.ws_url) as ws:
        assert (await next_message(ws))["type"] == "welcome"
        await send(ws, op="subscribe", channel="auctions")
        assert await next_message(ws) == {"type": "subscribed", "channel": "auctions"}
        snap = await next_message(ws)
        assert (snap["channel"], snap["type"], snap["data"]) == (
            "auctions", "snapshot", {"rounds": []})
        await send(ws, op="subscribe", channel="supply")
        await next_message(ws)
        await exchange.seed_book()
        supply = await next_message(ws)
        assert supply["type"] == "snapshot" and supply["channel"] == "supply"
        auction_id = await exchange.clear_until_traded()
        msgs = await until(ws, lambda m: m.get("channel") == "auctions"
                            and m["data"]["auction_id"] == auction_id)
        updates = [m for m in msgs if m.get("channel") == "auctions"]
        assert all(m["type"] == "update" for m in updates)
        assert updates[0]["prev"] == snap["seq"]
        for a, b in itertools.pairwise(updates):
            assert b["prev"] == a["seq"]
        traded = updates[-1]["data"]
        assert traded["fills"] > 0 and traded["prices"] and traded["price_index"][0]["gpu"] == (
            "H100")
        # The worker republishes supply when the rounds took the bids out of the book (it may
        # come before or after the round's own message): the first update without bids.
        def emptied(m: dict[str, Any]) -> bool:
            return m.get("channel") == "supply" and not any(
                r["bids"] for r in m["data"]["supply"])

        if not any(emptied(m) for m in msgs):
            msgs += await until(ws, emptied)
        after = [m for m in msgs if m.get("channel") == "supply"]
        assert after[0]["prev"] == supply["seq"]
        for a, b in itertools.pairwise(after):
            assert b["prev"] == a["seq"]
        rows = after[-1]["data"]["supply"]
        assert all(set(r) == {"gpu", "region", "day", "supply_gpu_hours", "asks",
                              "demand_gpu_hours", "bids"} for r in rows)
        assert "account_id" not in dumps(after[-1])


async def test_private_channels_need_a_key_and_carry_only_the_accounts_own_messages(
        exchange: Exchange) -> None:
    async with connect(exchange.ws_url) as anon:
        await next_message(anon)
        await send(anon, op="subscribe", channel="fills")
        err = await next_message(anon)
        assert (err["type"], err["code"]) == ("error", "unauthenticated")
    async with connect(exchange.ws_url, additional_headers=auth(exchange.keys["lab"])) as lab, \
            connect(exchange.ws_url) as uni:
        assert (await next_message(lab))["account_id"] == "lab"
        await next_message(uni)
        await send(uni, op="auth", key=exchange.keys["uni"])
        assert (await next_message(uni))["account_id"] == "uni"
        for ws in (lab, uni):
            for channel in ("orders", "fills"):
                await send(ws, op="subscribe", channel=channel)
                await next_message(ws)
                snap = await next_message(ws)
                assert snap["type"] == "snapshot" and snap["data"] == {channel: []}
        await exchange.seed_book()
        await exchange.clear_until_traded()
        for ws, me in ((lab, "lab"), (uni, "uni")):
            msgs = await until(ws, lambda m: m.get("channel") == "orders"
                                and m["data"]["status"] == "filled")
            fills = [m for m in msgs if m.get("channel") == "fills"]
            assert fills and all(m["data"]["account_id"] == me for m in fills)
            orders = [m for m in msgs if m.get("channel") == "orders"]
            assert [m["data"].get("event") for m in orders[:1]] == ["placed"]
            assert all(m["data"]["account_id"] == me for m in orders)
            # Each account's own numbers, 1, 2, 3, ... per channel, whatever the other's.
            for mine in (fills, orders):
                assert [(m["seq"], m["prev"]) for m in mine] == [
                    (f"0-{n}", f"0-{n - 1}") for n in range(1, len(mine) + 1)]


async def test_the_orders_channel_carries_each_order_as_it_is_placed_and_cancelled(
        exchange: Exchange) -> None:
    from sqlalchemy import text

    from gpux.adapters.redis.streams import OutboxRelay

    conf = exchange.res.settings
    relay = OutboxRelay(exchange.res.engine, exchange.res.redis, maxlen=1000,
                        numbered=[conf.orders_stream, conf.fills_stream])
    h0 = start_hour()
    bid = {"client_order_id": "b1", "alternatives": [{
        "value": "100", "earliest_start": iso(h0), "latest_end": iso(h0 + 24 * HOUR),
        "legs": [{"gpus": 2, "duration_hours": 4, "gpu": ["H100"]}]}]}
    async with connect(exchange.ws_url, additional_headers=auth(exchange.keys["lab"])) as lab, \
            connect(exchange.ws_url, additional_headers=auth(exchange.keys["uni"])) as uni, \
            connect(exchange.ws_url, additional_headers=auth(exchange.keys["acme"])) as acme:
        for ws in (lab, uni, acme):
            await next_message(ws)
            await send(ws, op="subscribe", channel="orders")
            await until(ws, lambda m: m.get("type") == "snapshot")
        async with exchange.http("lab") as http:
            placed = (await http.post("/bids", json=bid)).json()
            # The event is in the outbox with the order itself, before any relay runs.
            async with exchange.res.engine.connect() as conn:
                held = (await conn.execute(text(
                    "SELECT count(*) FROM outbox WHERE event_id = :e AND published_at IS NULL"),
                    {"e": f"order:{placed['id']}:placed"})).scalar_one()
            assert held == 1
            r = await http.delete(f"/orders/{placed['id']}")
            assert r.json()["status"] == "cancelled", r.text
        async with exchange.http("acme") as http:
            ask = (await http.post("/asks", json={
                "client_order_id": "a1", "pool": "acme-h100", "gpus": 4,
                "starts_at": iso(h0), "ends_at": iso(h0 + 8 * HOUR), "price": "1.50"})).json()
        async with exchange.http("uni") as http:
            mine = (await http.post("/bids", json={**bid, "client_order_id": "u1"})).json()
        assert await relay.publish_once() >= 4
        got = [m["data"] for m in await until(
            lab, lambda m: m.get("data", {}).get("event") == "cancelled")]
        assert [(d["order_id"], d["event"], d["status"], d["side"]) for d in got] == [
            (placed["id"], "placed", "open", "bid"),
            (placed["id"], "cancelled", "cancelled", "bid")]
        first = (await next_message(acme))["data"]
        assert (first["order_id"], first["event"], first["side"]) == (ask["id"], "placed", "ask")
        # uni's first update is its own order: lab's never reached it.
        theirs = (await next_message(uni))["data"]
        assert (theirs["order_id"], theirs["account_id"]) == (mine["id"], "uni")


async def test_a_client_that_reconnects_with_its_last_seq_gets_exactly_what_it_missed(
        exchange: Exchange) -> None:
    async with connect(exchange.ws_url, additional_headers=auth(exchange.keys["lab"])) as ws:
        await next_message(ws)
        await send(ws, op="subscribe", channel="fills")
        await next_message(ws)
        last = (await next_message(ws))["seq"]
    # Offline while a round fills lab's bid (and uni's, which lab must never see).
    await exchange.seed_book()
    await exchange.clear_until_traded()
    from gpux.adapters.redis.streams import read_stream

    conf = exchange.res.settings
    for _ in range(100):
        stream = await read_stream(exchange.res.redis, conf.fills_stream)
        if any(e.payload["account_id"] == "uni" for e in stream) and any(
                e.payload["account_id"] == "lab" for e in stream):
            break
        await asyncio.sleep(0.1)
    missed = [e.account_seq for e in stream if e.payload["account_id"] == "lab"]
    assert missed and missed[0] == "0-1"
    async with connect(exchange.ws_url, additional_headers=auth(exchange.keys["lab"])) as ws:
        await next_message(ws)
        await send(ws, op="subscribe", channel="fills", since=last)
        assert (await next_message(ws))["type"] == "subscribed"
        got = [await next_message(ws) for _ in missed]
        assert [m["seq"] for m in got] == missed
        assert all(m["type"] == "update" and m["data"]["account_id"] == "lab" for m in got)
        # Nothing else is pending: the next message is a heartbeat.
        beat = await next_message(ws, skip=())
        assert beat["type"] == "heartbeat"
        # A seq the stream no longer holds (or never held) gets a fresh snapshot, flagged.
        await send(ws, op="subscribe", channel="fills", since="99999999999999-0")
        await next_message(ws)
        snap = await next_message(ws)
        assert snap["type"] == "snapshot" and snap["reset"] is True
        assert [f["fill_id"] for f in snap["data"]["fills"]] == [
            m["data"]["fill_id"] for m in got]


async def test_bad_ops_are_answered_with_an_error_naming_the_field(exchange: Exchange) -> None:
    async with connect(exchange.ws_url) as ws:
        await next_message(ws)
        await send(ws, op="subscribe", channel="trades")
        err = await next_message(ws)
        assert (err["code"], err["field"], err["value"]) == ("invalid_value", "channel", "trades")
        await send(ws, op="subscribe", channel="auctions", since="yesterday")
        err = await next_message(ws)
        assert (err["field"], err["value"]) == ("since", "yesterday")
        huge = "1795932862393-99999999999999999999999"  # beyond a Redis stream id's 64 bits
        await send(ws, op="subscribe", channel="auctions", since=huge)
        err = await next_message(ws)
        assert (err["field"], err["value"]) == ("since", huge)
        await ws.send("not json")
        assert (await next_message(ws))["field"] == "message"
        await send(ws, op="ping", id=7)
        assert await next_message(ws) == {"type": "pong", "id": 7}
    async with connect(exchange.ws_url, additional_headers=auth("nope")) as ws:
        err = await next_message(ws)
        assert err["code"] == "unauthenticated"


async def test_a_halt_writes_a_cancelled_event_for_each_order_it_cancels(
        exchange: Exchange) -> None:
    from sqlalchemy import text

    h0 = start_hour()
    async with exchange.http("lab") as http:
        ids = [(await http.post("/bids", json={
            "client_order_id": f"h{k}", "alternatives": [{
                "value": "100", "earliest_start": iso(h0), "latest_end": iso(h0 + 24 * HOUR),
                "legs": [{"gpus": 1, "duration_hours": 4, "gpu": ["H100"]}]}]})).json()["id"]
               for k in range(2)]
        r = await http.post("/accounts/lab/halt")
        assert r.status_code == 200, r.text
    async with exchange.res.engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT payload FROM outbox WHERE stream = :s ORDER BY id"),
            {"s": exchange.res.settings.orders_stream})).scalars().all()
    assert [(p["order_id"], p["event"], p["status"]) for p in rows] == [
        (ids[0], "placed", "open"), (ids[1], "placed", "open"),
        (ids[0], "cancelled", "cancelled"), (ids[1], "cancelled", "cancelled")]
