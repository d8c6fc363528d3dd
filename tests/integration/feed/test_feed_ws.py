"""The WebSocket feed against a running API and worker, with real WebSocket clients."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from feedkit import Exchange
from websockets.asyncio.client import ClientConnection, connect

from gpux.domain.jsonio import dumps, loads


async def _next(ws: ClientConnection, timeout: float = 30.0, *,
                skip: tuple[str, ...] = ("heartbeat",)) -> dict[str, Any]:
    while True:
        msg: dict[str, Any] = loads(await asyncio.wait_for(ws.recv(), timeout))
        if msg.get("type") not in skip:
            return msg


async def _until(ws: ClientConnection, want: Any, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Messages up to and including the first for which `want` holds."""
    seen: list[dict[str, Any]] = []
    while True:
        msg = await _next(ws, timeout)
        seen.append(msg)
        if want(msg):
            return seen


async def _send(ws: ClientConnection, **op: Any) -> None:
    await ws.send(dumps(op, indent=None))


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_subscriber_gets_a_snapshot_then_the_rounds_updates_with_sequence_numbers(
        exchange: Exchange) -> None:
    async with connect(exchange.ws_url) as ws:
        assert (await _next(ws))["type"] == "welcome"
        await _send(ws, op="subscribe", channel="auctions")
        assert await _next(ws) == {"type": "subscribed", "channel": "auctions"}
        snap = await _next(ws)
        assert (snap["channel"], snap["type"], snap["data"]) == (
            "auctions", "snapshot", {"rounds": []})
        await _send(ws, op="subscribe", channel="supply")
        await _next(ws)
        await exchange.seed_book()
        supply = await _next(ws)
        assert supply["type"] == "snapshot" and supply["channel"] == "supply"
        auction_id = await exchange.clear_until_traded()
        msgs = await _until(ws, lambda m: m.get("channel") == "auctions"
                            and m["data"]["auction_id"] == auction_id)
        updates = [m for m in msgs if m.get("channel") == "auctions"]
        assert all(m["type"] == "update" for m in updates)
        assert updates[0]["prev"] == snap["seq"]
        for a, b in itertools.pairwise(updates):
            assert b["prev"] == a["seq"]
        traded = updates[-1]["data"]
        assert traded["fills"] > 0 and traded["prices"] and traded["price_index"][0]["gpu"] == (
            "H100")
        after = await _until(ws, lambda m: m.get("channel") == "supply"
                             and m["seq"] == updates[-1]["seq"])
        rows = after[-1]["data"]["supply"]
        assert all(set(r) == {"gpu", "region", "day", "supply_gpu_hours", "asks",
                              "demand_gpu_hours", "bids"} for r in rows)
        assert "account_id" not in dumps(after[-1])


@pytest.mark.skip(reason="hung once in a fresh-clone CI run on 2026-11-29 (waiting for private "
                  "fill updates); to be fixed with the SDK resume test")
async def test_private_channels_need_a_key_and_carry_only_the_accounts_own_messages(
        exchange: Exchange) -> None:
    async with connect(exchange.ws_url) as anon:
        await _next(anon)
        await _send(anon, op="subscribe", channel="fills")
        err = await _next(anon)
        assert (err["type"], err["code"]) == ("error", "unauthenticated")
    async with connect(exchange.ws_url, additional_headers=_auth(exchange.keys["lab"])) as lab, \
            connect(exchange.ws_url) as uni:
        assert (await _next(lab))["account_id"] == "lab"
        await _next(uni)
        await _send(uni, op="auth", key=exchange.keys["uni"])
        assert (await _next(uni))["account_id"] == "uni"
        for ws in (lab, uni):
            for channel in ("orders", "fills"):
                await _send(ws, op="subscribe", channel=channel)
                await _next(ws)
                snap = await _next(ws)
                assert snap["type"] == "snapshot" and snap["data"] == {channel: []}
        await exchange.seed_book()
        await exchange.clear_until_traded()
        for ws, me in ((lab, "lab"), (uni, "uni")):
            msgs = await _until(ws, lambda m: m.get("channel") == "orders")
            fills = [m for m in msgs if m.get("channel") == "fills"]
            assert fills and all(m["data"]["account_id"] == me for m in fills)
            assert msgs[-1]["data"]["status"] == "filled"
            assert msgs[-1]["data"]["account_id"] == me
            assert all("prev" not in m for m in msgs)


async def test_a_client_that_reconnects_with_its_last_seq_gets_exactly_what_it_missed(
        exchange: Exchange) -> None:
    async with connect(exchange.ws_url, additional_headers=_auth(exchange.keys["lab"])) as ws:
        await _next(ws)
        await _send(ws, op="subscribe", channel="fills")
        await _next(ws)
        last = (await _next(ws))["seq"]
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
    missed = [e.entry_id for e in stream if e.payload["account_id"] == "lab"]
    assert missed
    async with connect(exchange.ws_url, additional_headers=_auth(exchange.keys["lab"])) as ws:
        await _next(ws)
        await _send(ws, op="subscribe", channel="fills", since=last)
        assert (await _next(ws))["type"] == "subscribed"
        got = [await _next(ws) for _ in missed]
        assert [m["seq"] for m in got] == missed
        assert all(m["type"] == "update" and m["data"]["account_id"] == "lab" for m in got)
        # Nothing else is pending: the next message is a heartbeat.
        beat = await _next(ws, skip=())
        assert beat["type"] == "heartbeat"
        # A seq the stream no longer holds (or never held) gets a fresh snapshot, flagged.
        await _send(ws, op="subscribe", channel="fills", since="99999999999999-0")
        await _next(ws)
        snap = await _next(ws)
        assert snap["type"] == "snapshot" and snap["reset"] is True
        assert [f["fill_id"] for f in snap["data"]["fills"]] == [
            m["data"]["fill_id"] for m in got]


async def test_bad_ops_are_answered_with_an_error_naming_the_field(exchange: Exchange) -> None:
    async with connect(exchange.ws_url) as ws:
        await _next(ws)
        await _send(ws, op="subscribe", channel="trades")
        err = await _next(ws)
        assert (err["code"], err["field"], err["value"]) == ("invalid_value", "channel", "trades")
        await _send(ws, op="subscribe", channel="auctions", since="yesterday")
        err = await _next(ws)
        assert (err["field"], err["value"]) == ("since", "yesterday")
        await ws.send("not json")
        assert (await _next(ws))["field"] == "message"
        await _send(ws, op="ping", id=7)
        assert await _next(ws) == {"type": "pong", "id": 7}
    async with connect(exchange.ws_url, additional_headers=_auth("nope")) as ws:
        err = await _next(ws)
        assert err["code"] == "unauthenticated"
