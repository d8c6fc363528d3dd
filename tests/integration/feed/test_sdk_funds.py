"""The SDK's funds and kill-switch methods against a running API: typed balances and
statements, admin-only money movement, halts that cancel orders, deposits never retried."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest
from feedkit import HOUR, Exchange, start_hour

from gpux.client import (
    AsyncClient,
    Balance,
    Client,
    ConnectionFailed,
    Forbidden,
    InvalidRequest,
    Retry,
    alternative,
)


def _bid() -> list[dict[str, object]]:
    h0 = start_hour()
    return [alternative(gpus=4, hours=4, gpu="H100", limit_per_gpu_hour="2.50",
                        earliest_start=h0, latest_end=h0 + 24 * HOUR)]


class LostAnswer(httpx.HTTPTransport):
    """The server handles every request; the answer to the first is lost on the way back."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        resp = super().handle_request(request)
        if self.sent == 1:
            resp.read()
            raise httpx.ReadError("connection reset", request=request)
        return resp


def _money_moves_and_the_statement_shows_it(exchange: Exchange) -> None:
    with Client(exchange.url, exchange.keys["admin"]) as admin:
        admin.create_account("lab9", "Lab Nine", "buyer")
        key = admin.create_key("lab9").key
        after = admin.deposit("lab9", "1000.25")
        assert after == Balance("lab9", Decimal("1000.25"), Decimal("0"))
        assert admin.withdraw("lab9", Decimal("0.25")).available == Decimal("1000.00")
        with pytest.raises(InvalidRequest) as refused:
            admin.deposit("lab9", "-5")
        assert refused.value.field == "amount"
    with Client(exchange.url, key) as lab:
        order = lab.bid(_bid())
        held = Decimal("2.50") * 16
        st = lab.statement("lab9")
        assert (st.balance.available, st.balance.held) == (Decimal("1000") - held, held)
        assert [e.kind for e in st.items] == ["hold", "hold", "withdrawal", "deposit"]
        assert all(e.order_id == order.id for e in st.items if e.kind == "hold")
        assert sum(e.amount for e in st.items if e.kind == "hold") == 0
        first = lab.statement("lab9", limit=2)
        assert len(first.items) == 2 and first.next_cursor is not None
        rest = lab.statement("lab9", cursor=first.next_cursor)
        assert [e.id for e in first.items + rest.items] == [e.id for e in st.items]
        with pytest.raises(Forbidden):
            lab.deposit("lab9", "1")
        halt = lab.halt_account("lab9")
        assert halt.halted and halt.cancelled == [order.id]
        assert lab.statement("lab9").balance.held == 0
    with Client(exchange.url, exchange.keys["admin"]) as admin:
        assert admin.resume_account("lab9").halted is False
        assert admin.market_halted() is False
        assert admin.halt_market().halted and admin.market_halted() is True
        admin.resume_market()
        assert admin.market_halted() is False


async def test_the_sync_client_moves_money_reads_statements_and_halts(
        exchange: Exchange) -> None:
    await asyncio.to_thread(_money_moves_and_the_statement_shows_it, exchange)


def _a_deposit_whose_answer_was_lost_is_not_sent_again(exchange: Exchange) -> None:
    with Client(exchange.url, exchange.keys["admin"]) as admin:
        admin.create_account("lab8", "Lab Eight", "buyer")
    lossy = LostAnswer()
    with Client(exchange.url, exchange.keys["admin"], transport=lossy,
                retry=Retry(attempts=3, backoff=0.01)) as admin:
        with pytest.raises(ConnectionFailed):
            admin.deposit("lab8", "10")
        assert lossy.sent == 1
        assert admin.statement("lab8").balance.available == Decimal("10")


async def test_a_deposit_whose_answer_was_lost_is_not_sent_again(exchange: Exchange) -> None:
    await asyncio.to_thread(_a_deposit_whose_answer_was_lost_is_not_sent_again, exchange)


def _a_deposit_with_a_reference_is_retried_and_moves_the_money_once(
        exchange: Exchange) -> None:
    with Client(exchange.url, exchange.keys["admin"]) as admin:
        admin.create_account("lab6", "Lab Six", "buyer")
    lossy = LostAnswer()
    with Client(exchange.url, exchange.keys["admin"], transport=lossy,
                retry=Retry(attempts=3, backoff=0.01)) as admin:
        after = admin.deposit("lab6", "10", reference="wire-lab6-1")
        assert lossy.sent == 2 and after.available == Decimal("10")
        st = admin.statement("lab6")
        assert st.balance.available == Decimal("10")
        assert [e.kind for e in st.items] == ["deposit"]


async def test_a_deposit_with_a_reference_is_retried_and_moves_the_money_once(
        exchange: Exchange) -> None:
    await asyncio.to_thread(_a_deposit_with_a_reference_is_retried_and_moves_the_money_once,
                            exchange)


async def test_the_async_client_has_the_same_funds_methods(exchange: Exchange) -> None:
    async with AsyncClient(exchange.url, exchange.keys["admin"]) as admin:
        await admin.create_account("lab7", "Lab Seven", "buyer")
        assert (await admin.deposit("lab7", "50")).available == Decimal("50")
        assert (await admin.withdraw("lab7", "20")).available == Decimal("30")
        st = await admin.statement("lab7")
        assert [e.kind for e in st.items] == ["withdrawal", "deposit"]
        assert (await admin.halt_account("lab7")).halted
        assert not (await admin.resume_account("lab7")).halted
        assert not await admin.market_halted()
