"""Reading, listing (filters, keyset pages) and cancelling one's own orders."""

from __future__ import annotations

from typing import Any

import httpx
from apihelp import account, ask, bid, pool
from sqlalchemy import text


async def test_pagination_walks_every_order_exactly_once(client: httpx.AsyncClient) -> None:
    buyer = await account(client, "lab-7", "buyer")
    placed = {(await client.post("/bids", headers=buyer, json=bid(f"b{i}"))).json()["id"]
              for i in range(23)}
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/orders", headers=buyer, params=params)).json()
        seen += [o["id"] for o in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23 and set(seen) == placed
    assert seen == sorted(seen, reverse=True)


async def test_orders_are_listed_by_side_status_and_pool(client: httpx.AsyncClient) -> None:
    ops = await account(client, "ops", "admin")
    await pool(client, ops, "p1", gpus=16)
    await pool(client, ops, "p2", gpus=16)
    await client.post("/bids", headers=ops, json=bid("b1"))
    a1 = (await client.post("/asks", headers=ops, json=ask("a1", pool_id="p1"))).json()
    await client.post("/asks", headers=ops, json=ask("a2", pool_id="p2"))
    await client.delete(f"/orders/{a1['id']}", headers=ops)

    async def ids(**params: str) -> list[str]:
        page = (await client.get("/orders", headers=ops, params=params)).json()
        return [o["client_order_id"] for o in page["items"]]

    assert await ids(side="bid") == ["b1"]
    assert await ids(side="ask") == ["a2", "a1"]
    assert await ids(status="cancelled") == ["a1"]
    assert await ids(pool="p2") == ["a2"]
    assert await ids(side="ask", status="open") == ["a2"]


async def test_a_page_larger_than_the_maximum_is_refused(client: httpx.AsyncClient) -> None:
    buyer = await account(client, "lab-7", "buyer")
    r = await client.get("/orders", headers=buyer, params={"limit": 501})
    assert (r.status_code, r.json()["field"]) == (422, "limit")
    r = await client.get("/orders", headers=buyer, params={"cursor": "abc"})
    assert (r.status_code, r.json()["field"]) == (422, "cursor")
    r = await client.get("/orders", headers=buyer, params={"side": "sideways"})
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (
        422, "invalid_request", "side")


async def test_cancelling_an_open_order_cancels_it_once(client: httpx.AsyncClient) -> None:
    buyer = await account(client, "lab-7", "buyer")
    order_id = (await client.post("/bids", headers=buyer, json=bid())).json()["id"]
    r = await client.delete(f"/orders/{order_id}", headers=buyer)
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["cancel_pending"]) == ("cancelled", False)
    r = await client.delete(f"/orders/{order_id}", headers=buyer)
    assert (r.status_code, r.json()["code"]) == (409, "order_not_open")


async def test_cancelling_an_order_a_round_is_solving_waits_for_the_round(
        client: httpx.AsyncClient, engine: Any) -> None:
    buyer = await account(client, "lab-7", "buyer")
    order_id = (await client.post("/bids", headers=buyer, json=bid())).json()["id"]
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE orders SET frozen_auction_id = 41 WHERE id = :o"),
                           {"o": order_id})
    r = await client.delete(f"/orders/{order_id}", headers=buyer)
    assert r.status_code == 202
    body = r.json()
    assert (body["status"], body["cancel_pending"], body["frozen_auction_id"]) == (
        "open", True, 41)
    async with engine.connect() as conn:
        flag = (await conn.execute(text("SELECT cancel_requested FROM orders WHERE id = :o"),
                                   {"o": order_id})).scalar_one()
    assert flag is True
    again = await client.delete(f"/orders/{order_id}", headers=buyer)
    assert (again.status_code, again.json()["cancel_pending"]) == (202, True)


async def test_a_bid_value_may_be_given_per_gpu_hour(client: httpx.AsyncClient) -> None:
    buyer = await account(client, "lab-7", "buyer")
    body = bid(gpus=4, hours=10)
    alt = body["alternatives"][0]
    del alt["value"]
    alt["limit_per_gpu_hour"] = "2.125"
    r = await client.post("/bids", headers=buyer, json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["max_value"] == "85"
    assert out["alternatives"][0]["limit_per_gpu_hour"] == "2.125"
    assert out["alternatives"][0]["value"] == "85"


async def test_money_in_a_request_is_read_exactly_not_through_a_float(
        client: httpx.AsyncClient) -> None:
    prov = await account(client, "acme", "provider")
    await pool(client, prov, "p1")
    r = await client.post("/asks", headers={**prov, "Content-Type": "application/json"},
                          content=b'{"client_order_id": "x", "pool": "p1", "gpus": 1, '
                          b'"starts_at": "' + ask()["starts_at"].encode() + b'", "ends_at": "'
                          + ask()["ends_at"].encode() + b'", "price": 12345678901234.123456}')
    assert (r.status_code, r.json()["code"]) == (422, "limit_exceeded")
    assert r.json()["value"] == "12345678901234.123456"  # a float would keep 17 digits
