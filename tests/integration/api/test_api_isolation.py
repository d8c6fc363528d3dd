"""No account can see or touch another's orders: they answer 404, as if absent."""

from __future__ import annotations

from typing import Any

import httpx
from apihelp import account, bid, count


async def test_another_account_cannot_get_list_or_cancel_an_order(
        client: httpx.AsyncClient, engine: Any) -> None:
    a = await account(client, "lab-a", "buyer")
    b = await account(client, "lab-b", "buyer")
    r = await client.post("/bids", headers=a, json=bid("mine"))
    order_id = r.json()["id"]

    r = await client.get(f"/orders/{order_id}", headers=b)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    r = await client.get("/orders", headers=b)
    assert r.json() == {"items": [], "next_cursor": None}
    r = await client.delete(f"/orders/{order_id}", headers=b)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")

    r = await client.get(f"/orders/{order_id}", headers=a)
    assert r.json()["status"] == "open"
    assert await count(engine, "orders") == 1


async def test_an_unknown_order_answers_the_same_404_as_another_accounts(
        client: httpx.AsyncClient) -> None:
    a = await account(client, "lab-a", "buyer")
    b = await account(client, "lab-b", "buyer")
    order_id = (await client.post("/bids", headers=a, json=bid())).json()["id"]
    theirs = await client.get(f"/orders/{order_id}", headers=b)
    missing = await client.get(f"/orders/{order_id + 1000}", headers=b)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["title"] == missing.json()["title"]


async def test_the_same_client_order_id_is_independent_per_account(
        client: httpx.AsyncClient, engine: Any) -> None:
    a = await account(client, "lab-a", "buyer")
    b = await account(client, "lab-b", "buyer")
    ra = await client.post("/bids", headers=a, json=bid("same", gpus=1))
    rb = await client.post("/bids", headers=b, json=bid("same", gpus=2))
    assert ra.status_code == rb.status_code == 201
    assert ra.json()["id"] != rb.json()["id"]
    assert await count(engine, "orders") == 2
