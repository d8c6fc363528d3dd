"""The Python SDK against a running API: every endpoint, typed answers, errors from problem
JSON, safe retries, and the feed client's resume."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import pytest
from feedkit import HOUR, Exchange, start_hour

from gpux.client import (
    AsyncClient,
    Client,
    Conflict,
    ConnectionFailed,
    FeedClient,
    InvalidRequest,
    NotFound,
    Order,
    Retry,
    Unauthenticated,
    alternative,
)

FAST = Retry(attempts=3, backoff=0.01)


def _bid(gpus: int = 4) -> list[dict[str, Any]]:
    h0 = start_hour()
    return [alternative(gpus=gpus, hours=4, gpu="H100", limit_per_gpu_hour="2.40",
                        earliest_start=h0, latest_end=h0 + 24 * HOUR)]


class FlakyTransport(httpx.HTTPTransport):
    """Loses the answer to the first `fail` requests (after the server handled them)."""

    def __init__(self, fail: int) -> None:
        super().__init__()
        self.fail = fail
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        resp = super().handle_request(request)
        if self.sent <= self.fail:
            resp.read()
            raise httpx.ReadError("connection reset", request=request)
        return resp


def _the_sync_client_covers_the_rest_api_with_typed_answers(exchange: Exchange) -> None:
    with Client(exchange.url, exchange.keys["admin"]) as admin:
        account = admin.create_account("lab2", "Lab Two", "buyer")
        assert account.role == "buyer"
        key = admin.create_key("lab2").key
        admin.http.post("/accounts/lab2/deposits", json={"amount": "1000"})
    with Client(exchange.url, exchange.keys["acme"]) as acme:
        assert acme.me().id == "acme"
        pool = acme.create_pool("acme-a100", "A100-80GB", "us-west", "99.9", 8)
        assert pool.uptime == Decimal("99.9")
        assert {p.id for p in acme.pools().items} == {"acme-a100", "acme-h100"}
        h0 = start_hour()
        ask = acme.ask("acme-a100", 8, h0, h0 + 24 * HOUR, "1.10")
        assert ask.side == "ask" and ask.price == Decimal("1.10")
    with Client(exchange.url, key) as lab:
        order = lab.bid(_bid())
        assert isinstance(order, Order) and order.client_order_id.startswith("sdk-")
        assert order.alternatives and order.alternatives[0].legs[0].gpu == ["H100"]
        again = lab.bid(_bid(), order.client_order_id)
        assert (again.id, again.replayed) == (order.id, True)
        assert [o.id for o in lab.orders(side="bid").items] == [order.id]
        assert lab.order(order.id).status == "open"
        parsed = lab.parse("need 8 H100s for 10 hours next week, up to $2.00 an hour each")
        assert parsed.path == "/bids" and parsed.order["side"] == "buy"
        cancelled = lab.cancel(order.id)
        assert cancelled.status == "cancelled" or cancelled.cancel_pending
        assert lab.fills().items == [] and lab.contracts().items == []
        assert lab.price_index() == []
        assert lab.auctions().items == []


async def test_the_sync_client_covers_the_rest_api_with_typed_answers(exchange: Exchange) -> None:
    # The server runs on this event loop: the sync client must not block it.
    await asyncio.to_thread(_the_sync_client_covers_the_rest_api_with_typed_answers, exchange)


def _refusals_raise_the_exception_of_their_status_with_code_and_field(exchange: Exchange) -> None:
    with Client(exchange.url, exchange.keys["lab"]) as lab:
        with pytest.raises(NotFound) as missing:
            lab.order(999_999)
        assert missing.value.status == 404 and missing.value.code == "not_found"
        bad = _bid(gpus=0)
        with pytest.raises(InvalidRequest) as invalid:
            lab.bid(bad)
        assert invalid.value.status == 422
        assert invalid.value.field == "alternatives[0].legs[0].gpus"
        assert invalid.value.value == 0
        lab.bid(_bid(), "same-id")
        with pytest.raises(Conflict) as reused:
            lab.bid(_bid(gpus=5), "same-id")
        assert reused.value.code == "client_order_id_reused"
    with Client(exchange.url, "not-a-key") as nobody, pytest.raises(Unauthenticated):
        nobody.me()
    with Client("http://127.0.0.1:9", "k", retry=FAST) as gone, pytest.raises(ConnectionFailed):
        gone.me()


async def test_refusals_raise_the_exception_of_their_status_with_code_and_field(
        exchange: Exchange) -> None:
    await asyncio.to_thread(_refusals_raise_the_exception_of_their_status_with_code_and_field,
                            exchange)


def _a_bid_whose_answer_was_lost_is_retried_and_placed_once(exchange: Exchange) -> None:
    flaky = FlakyTransport(fail=2)
    with Client(exchange.url, exchange.keys["lab"], retry=FAST, transport=flaky) as lab:
        order = lab.bid(_bid())
    assert flaky.sent == 3 and order.replayed
    with Client(exchange.url, exchange.keys["lab"]) as lab:
        assert [o.id for o in lab.orders().items] == [order.id]
    # A cancel is not repeated after a lost answer: the error reaches the caller.
    flaky = FlakyTransport(fail=1)
    with Client(exchange.url, exchange.keys["lab"], retry=FAST, transport=flaky) as lab, \
            pytest.raises(ConnectionFailed):
        lab.cancel(order.id)
    assert flaky.sent == 1


async def test_a_bid_whose_answer_was_lost_is_retried_and_placed_once(exchange: Exchange) -> None:
    # The server runs on this event loop: the sync client must not block it.
    await asyncio.to_thread(_a_bid_whose_answer_was_lost_is_retried_and_placed_once, exchange)


async def test_the_async_client_and_its_feed_resume_from_the_last_sequence_number(
        exchange: Exchange) -> None:
    async with AsyncClient(exchange.url, exchange.keys["lab"]) as lab:
        assert (await lab.me()).id == "lab"
        feed = lab.feed("fills", "auctions")
        snapshots = 0
        async with asyncio.timeout(60):
            async for msg in feed:
                snapshots += msg.type == "snapshot"
                if snapshots == 2:
                    break
        await feed.close()
        since = dict(feed.last)
        assert set(since) == {"fills", "auctions"}

        await exchange.seed_book()
        auction_id = await exchange.clear_until_traded()
        fills = (await lab.fills()).items
        assert fills and (await lab.auction(auction_id)).prices

        resumed = FeedClient(lab.url, lab.key, ["fills", "auctions"], since=since)
        got: list[Any] = []
        async with asyncio.timeout(60):  # heartbeats keep coming: bound the whole wait
            async for msg in resumed:
                if msg.seq is not None:
                    got.append(msg)
                if any(m.channel == "auctions" and m.data.get("auction_id") == auction_id
                       for m in got):
                    break
        await resumed.close()
        assert all(m.type == "update" for m in got)
        assert sorted(m.data["fill_id"] for m in got if m.channel == "fills") == sorted(
            f.id for f in fills)

        # A dropped connection is reopened and resubscribed by itself.
        live = FeedClient(lab.url, lab.key, ["auctions"], backoff=0.05)
        seen = 0
        async with asyncio.timeout(60):
            async for msg in live:
                seen += msg.type == "snapshot"
                if seen == 1 and live.connects == 1:
                    await live.drop()
                if live.connects == 2 and msg.type == "subscribed":
                    break
        await live.close()
        assert live.connects == 2
