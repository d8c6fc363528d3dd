"""`Client` (sync) and `AsyncClient`: one method per REST endpoint, typed answers.

    from gpux.client import Client, alternative
    with Client("http://127.0.0.1:8000", key) as gx:
        order = gx.bid([alternative(gpus=16, hours=48, gpu="H100", limit_per_gpu_hour="2.40",
                                    earliest_start="2026-12-01T00:00:00Z",
                                    latest_end="2026-12-08T00:00:00Z")])

Bids and asks get a client order id when none is given, so a retry after a lost answer
returns the first order instead of placing a second (`Order.replayed` tells).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar

import httpx

from gpux.client import calls
from gpux.client import funds as funds_calls
from gpux.client import outages as outage_calls
from gpux.client.calls import Call
from gpux.client.funds import Balance, Halt, Statement
from gpux.client.models import (
    Account,
    ApiKey,
    Auction,
    Contract,
    Fill,
    Order,
    Page,
    Parsed,
    Pool,
    PriceIndex,
)
from gpux.client.outages import Credit, Outage
from gpux.client.transport import Retry, give_up, headers_of, read, request_args, retryable
from gpux.client.transport import settings_of as _settings

T = TypeVar("T")
When = datetime | str
Money = Decimal | str


class Client:
    """The REST API, synchronously. `url`/`key` default to `GPUX_API_URL`/`GPUX_API_KEY`."""

    def __init__(self, url: str | None = None, key: str | None = None, *,
                 timeout: float = 30.0, retry: Retry | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        base, self.key = _settings(url, key)
        self.retry = retry or Retry()
        self.http = httpx.Client(base_url=base, headers=headers_of(self.key), timeout=timeout,
                                 transport=transport)

    @property
    def url(self) -> str:
        return str(self.http.base_url).rstrip("/")

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def send(self, call: Call[T]) -> T:
        """Send one call, retrying what is safe to retry; its answer, or a GpuxError."""
        for attempt in range(self.retry.attempts):
            err: Exception | None = None
            resp: httpx.Response | None = None
            try:
                resp = self.http.request(**request_args(call))
            except httpx.TransportError as found:
                err = found
            if err is None and resp is not None and resp.status_code < 500:
                return read(call, resp)
            if attempt + 1 >= self.retry.attempts or not retryable(
                    call, err, None if resp is None else resp.status_code):
                raise give_up(self.http.base_url, err, resp, call)
            time.sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")

    def create_account(self, account_id: str, name: str, role: str) -> Account:
        return self.send(calls.create_account(account_id, name, role))

    def create_key(self, account_id: str) -> ApiKey:
        return self.send(calls.create_key(account_id))

    def me(self) -> Account:
        return self.send(calls.me())

    def create_pool(self, pool_id: str, gpu: str, region: str, uptime: Money,
                    gpus: int) -> Pool:
        return self.send(calls.create_pool(pool_id, gpu, region, uptime, gpus))

    def pools(self, cursor: str | None = None, limit: int | None = None) -> Page[Pool]:
        return self.send(calls.pools(cursor, limit))

    def bid(self, alternatives: Sequence[dict[str, Any]],
            client_order_id: str | None = None) -> Order:
        return self.send(calls.bid(alternatives, client_order_id))

    def ask(self, pool: str, gpus: int, starts_at: When, ends_at: When, price: Money,
            client_order_id: str | None = None) -> Order:
        return self.send(calls.ask(pool, gpus, starts_at, ends_at, price, client_order_id))

    def resell(self, contract_id: int, gpus: int, starts_at: When, ends_at: When,
               price: Money, client_order_id: str | None = None) -> Order:
        """Offer `gpus` GPUs of a contract you hold over [starts_at, ends_at) for resale."""
        return self.send(calls.resell(contract_id, gpus, starts_at, ends_at, price,
                                      client_order_id))

    def orders(self, side: str | None = None, status: str | None = None,
               pool: str | None = None, cursor: str | None = None,
               limit: int | None = None) -> Page[Order]:
        return self.send(calls.orders(side, status, pool, cursor, limit))

    def order(self, order_id: int) -> Order:
        return self.send(calls.order(order_id))

    def cancel(self, order_id: int) -> Order:
        return self.send(calls.cancel(order_id))

    def parse(self, text: str, now: When | None = None) -> Parsed:
        return self.send(calls.parse(text, now))

    def fills(self, order_id: int | None = None, auction_id: int | None = None,
              cursor: str | None = None, limit: int | None = None) -> Page[Fill]:
        return self.send(calls.fills(order_id, auction_id, cursor, limit))

    def contracts(self, cursor: str | None = None, limit: int | None = None,
                  superseded: bool | None = None) -> Page[Contract]:
        return self.send(calls.contracts(cursor, limit, superseded))

    def auctions(self, cursor: str | None = None, limit: int | None = None) -> Page[Auction]:
        return self.send(calls.auctions(cursor, limit))

    def auction(self, auction_id: int) -> Auction:
        return self.send(calls.auction(auction_id))

    def price_index(self) -> list[PriceIndex]:
        return self.send(calls.price_index())

    def report_outage(self, pool: str, starts_at: When, ends_at: When,
                      gpus: int | None = None, reason: str = "") -> Outage:
        """Record an outage (or, with `gpus`, a curtailment) of your pool; safe to retry."""
        return self.send(outage_calls.report_outage(pool, starts_at, ends_at, gpus, reason))

    def outages(self, pool: str, cursor: str | None = None,
                limit: int | None = None) -> Page[Outage]:
        return self.send(outage_calls.outages(pool, cursor, limit))

    def contract_credits(self, contract_id: int) -> list[Credit]:
        return self.send(outage_calls.contract_credits(contract_id))

    def deposit(self, account_id: str, amount: Money,
                reference: str | None = None) -> Balance:
        """Record money received for an account (admin). With a `reference` it is retried
        safely after a lost answer; without one, never."""
        return self.send(funds_calls.deposit(account_id, amount, reference))

    def withdraw(self, account_id: str, amount: Money,
                 reference: str | None = None) -> Balance:
        """Pay money out of an account's available balance (admin); retried only with a
        `reference`."""
        return self.send(funds_calls.withdraw(account_id, amount, reference))

    def statement(self, account_id: str, cursor: str | None = None,
                  limit: int | None = None) -> Statement:
        """An account's balances and ledger entries, newest first."""
        return self.send(funds_calls.statement(account_id, cursor, limit))

    def halt_account(self, account_id: str) -> Halt:
        """Halt an account (itself, or an admin): its open orders are cancelled."""
        return self.send(funds_calls.halt_account(account_id))

    def resume_account(self, account_id: str) -> Halt:
        return self.send(funds_calls.resume_account(account_id))

    def market_halted(self) -> bool:
        return self.send(funds_calls.market_halted())

    def halt_market(self) -> Halt:
        """Halt the whole market (admin): every open order is cancelled, no rounds run."""
        return self.send(funds_calls.halt_market())

    def resume_market(self) -> Halt:
        return self.send(funds_calls.resume_market())


class AsyncClient:
    """The REST API, asynchronously (the same methods as `Client`, awaited), and the feed."""

    def __init__(self, url: str | None = None, key: str | None = None, *,
                 timeout: float = 30.0, retry: Retry | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        base, self.key = _settings(url, key)
        self.retry = retry or Retry()
        self.http = httpx.AsyncClient(base_url=base, headers=headers_of(self.key),
                                      timeout=timeout, transport=transport)

    @property
    def url(self) -> str:
        return str(self.http.base_url).rstrip("/")

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, err: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def send(self, call: Call[T]) -> T:
        """Send one call, retrying what is safe to retry; its answer, or a GpuxError."""
        for attempt in range(self.retry.attempts):
            err: Exception | None = None
            resp: httpx.Response | None = None
            try:
                resp = await self.http.request(**request_args(call))
            except httpx.TransportError as found:
                err = found
            if err is None and resp is not None and resp.status_code < 500:
                return read(call, resp)
            if attempt + 1 >= self.retry.attempts or not retryable(
                    call, err, None if resp is None else resp.status_code):
                raise give_up(self.http.base_url, err, resp, call)
            await asyncio.sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")

    def feed(self, *channels: str, since: dict[str, str] | None = None) -> Any:
        """The WebSocket feed of `channels`: an async iterator of `FeedMessage` that
        reconnects and resumes from the last sequence number by itself (see `FeedClient`)."""
        from gpux.client.feed import FeedClient

        return FeedClient(self.url, self.key, channels, since=since)

    async def create_account(self, account_id: str, name: str, role: str) -> Account:
        return await self.send(calls.create_account(account_id, name, role))

    async def create_key(self, account_id: str) -> ApiKey:
        return await self.send(calls.create_key(account_id))

    async def me(self) -> Account:
        return await self.send(calls.me())

    async def create_pool(self, pool_id: str, gpu: str, region: str, uptime: Money,
                          gpus: int) -> Pool:
        return await self.send(calls.create_pool(pool_id, gpu, region, uptime, gpus))

    async def pools(self, cursor: str | None = None, limit: int | None = None) -> Page[Pool]:
        return await self.send(calls.pools(cursor, limit))

    async def bid(self, alternatives: Sequence[dict[str, Any]],
                  client_order_id: str | None = None) -> Order:
        return await self.send(calls.bid(alternatives, client_order_id))

    async def ask(self, pool: str, gpus: int, starts_at: When, ends_at: When, price: Money,
                  client_order_id: str | None = None) -> Order:
        return await self.send(calls.ask(pool, gpus, starts_at, ends_at, price,
                                         client_order_id))

    async def resell(self, contract_id: int, gpus: int, starts_at: When, ends_at: When,
                     price: Money, client_order_id: str | None = None) -> Order:
        """Offer `gpus` GPUs of a contract you hold over [starts_at, ends_at) for resale."""
        return await self.send(calls.resell(contract_id, gpus, starts_at, ends_at, price,
                                            client_order_id))

    async def orders(self, side: str | None = None, status: str | None = None,
                     pool: str | None = None, cursor: str | None = None,
                     limit: int | None = None) -> Page[Order]:
        return await self.send(calls.orders(side, status, pool, cursor, limit))

    async def order(self, order_id: int) -> Order:
        return await self.send(calls.order(order_id))

    async def cancel(self, order_id: int) -> Order:
        return await self.send(calls.cancel(order_id))

    async def parse(self, text: str, now: When | None = None) -> Parsed:
        return await self.send(calls.parse(text, now))

    async def fills(self, order_id: int | None = None, auction_id: int | None = None,
                    cursor: str | None = None, limit: int | None = None) -> Page[Fill]:
        return await self.send(calls.fills(order_id, auction_id, cursor, limit))

    async def contracts(self, cursor: str | None = None, limit: int | None = None,
                        superseded: bool | None = None) -> Page[Contract]:
        return await self.send(calls.contracts(cursor, limit, superseded))

    async def auctions(self, cursor: str | None = None,
                       limit: int | None = None) -> Page[Auction]:
        return await self.send(calls.auctions(cursor, limit))

    async def auction(self, auction_id: int) -> Auction:
        return await self.send(calls.auction(auction_id))

    async def price_index(self) -> list[PriceIndex]:
        return await self.send(calls.price_index())

    async def report_outage(self, pool: str, starts_at: When, ends_at: When,
                            gpus: int | None = None, reason: str = "") -> Outage:
        """Record an outage (or, with `gpus`, a curtailment) of your pool; safe to retry."""
        return await self.send(outage_calls.report_outage(pool, starts_at, ends_at, gpus,
                                                          reason))

    async def outages(self, pool: str, cursor: str | None = None,
                      limit: int | None = None) -> Page[Outage]:
        return await self.send(outage_calls.outages(pool, cursor, limit))

    async def contract_credits(self, contract_id: int) -> list[Credit]:
        return await self.send(outage_calls.contract_credits(contract_id))

    async def deposit(self, account_id: str, amount: Money,
                      reference: str | None = None) -> Balance:
        """Record money received for an account (admin). With a `reference` it is retried
        safely after a lost answer; without one, never."""
        return await self.send(funds_calls.deposit(account_id, amount, reference))

    async def withdraw(self, account_id: str, amount: Money,
                       reference: str | None = None) -> Balance:
        """Pay money out of an account's available balance (admin); retried only with a
        `reference`."""
        return await self.send(funds_calls.withdraw(account_id, amount, reference))

    async def statement(self, account_id: str, cursor: str | None = None,
                        limit: int | None = None) -> Statement:
        """An account's balances and ledger entries, newest first."""
        return await self.send(funds_calls.statement(account_id, cursor, limit))

    async def halt_account(self, account_id: str) -> Halt:
        """Halt an account (itself, or an admin): its open orders are cancelled."""
        return await self.send(funds_calls.halt_account(account_id))

    async def resume_account(self, account_id: str) -> Halt:
        return await self.send(funds_calls.resume_account(account_id))

    async def market_halted(self) -> bool:
        return await self.send(funds_calls.market_halted())

    async def halt_market(self) -> Halt:
        """Halt the whole market (admin): every open order is cancelled, no rounds run."""
        return await self.send(funds_calls.halt_market())

    async def resume_market(self) -> Halt:
        return await self.send(funds_calls.resume_market())
