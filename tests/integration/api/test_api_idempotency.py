"""A client order id makes placing an order safe to retry."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from apihelp import account, ask, bid, order_rows, pool


async def test_a_retried_bid_returns_the_first_order_and_creates_nothing(
        client: httpx.AsyncClient, engine: Any) -> None:
    buyer = await account(client, "lab-7", "buyer")
    body = bid("retry-me")
    first = await client.post("/bids", headers=buyer, json=body)
    again = await client.post("/bids", headers=buyer, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await order_rows(engine) == (1, 1, 1)


async def test_a_retry_spelling_the_same_money_differently_is_the_same_order(
        client: httpx.AsyncClient, engine: Any) -> None:
    buyer = await account(client, "lab-7", "buyer")
    first = await client.post("/bids", headers=buyer, json=bid("m", value="100.500"))
    again = await client.post("/bids", headers=buyer, json=bid("m", value=100.5))
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert await order_rows(engine) == (1, 1, 1)


async def test_a_reused_client_order_id_with_a_different_body_is_a_409(
        client: httpx.AsyncClient, engine: Any) -> None:
    buyer = await account(client, "lab-7", "buyer")
    await client.post("/bids", headers=buyer, json=bid("dup", gpus=4))
    r = await client.post("/bids", headers=buyer, json=bid("dup", gpus=5))
    assert r.status_code == 409
    assert (r.json()["code"], r.json()["field"], r.json()["value"]) == (
        "client_order_id_reused", "client_order_id", "dup")
    assert await order_rows(engine) == (1, 1, 1)


async def test_a_bid_and_an_ask_may_not_share_a_client_order_id(
        client: httpx.AsyncClient) -> None:
    admin_like = await account(client, "ops", "admin")
    prov = await account(client, "acme", "provider")
    await pool(client, prov, "p1")
    assert (await client.post("/bids", headers=admin_like, json=bid("x"))).status_code == 201
    r = await client.post("/asks", headers=admin_like, json=ask("x"))
    assert r.json()["code"] == "client_order_id_reused"


async def test_concurrent_retries_create_one_order(client: httpx.AsyncClient,
                                                   engine: Any) -> None:
    buyer = await account(client, "lab-7", "buyer")
    body = bid("race")
    answers = await asyncio.gather(*(client.post("/bids", headers=buyer, json=body)
                                     for _ in range(8)))
    assert {r.status_code for r in answers} == {201}
    assert len({r.json()["id"] for r in answers}) == 1
    assert await order_rows(engine) == (1, 1, 1)


async def test_a_retry_after_the_window_passed_still_returns_the_first_order(
        client: httpx.AsyncClient, app: Any) -> None:
    from datetime import UTC, datetime, timedelta

    class Later:
        def now(self) -> datetime:
            return datetime.now(UTC) + timedelta(days=30)

    buyer = await account(client, "lab-7", "buyer")
    body = bid("late")
    first = await client.post("/bids", headers=buyer, json=body)
    app.state.services.orders._clock = Later()
    again = await client.post("/bids", headers=buyer, json=body)
    assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])
    fresh = await client.post("/bids", headers=buyer, json=bid("new"))
    assert (fresh.status_code, fresh.json()["code"]) == (422, "window_in_past")
