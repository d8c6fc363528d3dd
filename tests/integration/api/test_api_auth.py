"""Who may call what: a bearer key names the caller; roles decide what it may do."""

from __future__ import annotations

import httpx
from apihelp import ADMIN, account, ask, bid, pool


async def test_a_request_without_a_key_is_refused_with_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/orders")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["code"] == "unauthenticated"


async def test_an_unknown_key_is_refused_with_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/me", headers={"Authorization": "Bearer gpux_not_a_key"})
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"


async def test_me_names_the_account_of_the_key(client: httpx.AsyncClient) -> None:
    buyer = await account(client, "lab-7", "buyer")
    r = await client.get("/me", headers=buyer)
    assert r.json() == {"id": "lab-7", "name": "Lab-7", "role": "buyer", "halted": False}


async def test_only_an_admin_creates_accounts_and_issues_keys(
        client: httpx.AsyncClient) -> None:
    buyer = await account(client, "lab-7", "buyer")
    r = await client.post("/accounts", headers=buyer,
                          json={"id": "x", "name": "X", "role": "admin"})
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = await client.post("/accounts/lab-7/keys", headers=buyer)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")


async def test_a_buyer_may_not_ask_nor_register_pools_and_a_provider_may_not_bid(
        client: httpx.AsyncClient) -> None:
    buyer = await account(client, "lab-7", "buyer")
    prov = await account(client, "acme", "provider")
    await pool(client, prov, "p1")
    assert (await client.post("/asks", headers=buyer, json=ask())).status_code == 403
    r = await client.post("/pools", headers=buyer, json={
        "id": "p2", "gpu": "H100", "region": "us-east", "uptime": "99.9", "gpus": 8})
    assert r.status_code == 403
    r = await client.post("/bids", headers=prov, json=bid())
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (403, "forbidden", "role")


async def test_an_account_id_may_be_created_only_once(client: httpx.AsyncClient) -> None:
    await account(client, "lab-7", "buyer")
    r = await client.post("/accounts", headers=ADMIN,
                          json={"id": "lab-7", "name": "Again", "role": "buyer"})
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (409, "already_exists", "id")


async def test_keys_for_a_missing_account_are_not_issued(client: httpx.AsyncClient) -> None:
    r = await client.post("/accounts/ghost/keys", headers=ADMIN)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
