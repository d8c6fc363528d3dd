"""Every error is RFC 9457 problem JSON with a stable code and the offending field."""

from __future__ import annotations

import httpx
from apihelp import account, bid

KEYS = {"type", "title", "status", "detail", "code", "field", "value", "errors"}


async def test_a_domain_error_is_problem_json_naming_the_first_field(
        client: httpx.AsyncClient) -> None:
    buyer = await account(client, "lab-7", "buyer")
    r = await client.post("/bids", headers=buyer, json=bid(gpus=0))
    assert r.headers["content-type"] == "application/problem+json"
    p = r.json()
    assert set(p) == KEYS
    assert p["type"] == "/problems/invalid_order"
    assert p["status"] == r.status_code == 422
    assert (p["field"], p["value"]) == ("alternatives[0].legs[0].gpus", 0)
    assert p["errors"][0] == {"field": "alternatives[0].legs[0].gpus",
                              "message": "must be positive", "value": 0}


async def test_a_body_that_does_not_match_the_schema_is_an_invalid_request(
        client: httpx.AsyncClient) -> None:
    buyer = await account(client, "lab-7", "buyer")
    body = bid()
    body["alternatives"][0]["legs"][0]["gpus"] = "many"
    del body["alternatives"][0]["latest_end"]
    body["colour"] = "blue"
    r = await client.post("/bids", headers=buyer, json=body)
    p = r.json()
    assert set(p) == KEYS
    assert (r.status_code, p["code"]) == (422, "invalid_request")
    fields = {e["field"] for e in p["errors"]}
    assert {"alternatives[0].legs[0].gpus", "alternatives[0].latest_end", "colour"} <= fields


async def test_malformed_json_is_an_invalid_request(client: httpx.AsyncClient) -> None:
    buyer = await account(client, "lab-7", "buyer")
    r = await client.post("/bids", headers={**buyer, "Content-Type": "application/json"},
                          content=b'{"client_order_id": ')
    assert (r.status_code, r.json()["code"]) == (422, "invalid_request")


async def test_an_unknown_route_is_a_problem_too(client: httpx.AsyncClient) -> None:
    r = await client.get("/nowhere")
    assert r.headers["content-type"] == "application/problem+json"
    assert (r.status_code, r.json()["code"]) == (404, "not_found")


async def test_money_in_a_problem_keeps_every_digit(client: httpx.AsyncClient) -> None:
    buyer = await account(client, "lab-7", "buyer")
    r = await client.post("/bids", headers=buyer, json=bid(value="1.0000001"))
    assert r.json()["value"] == "1.0000001"


async def test_an_id_beyond_bigint_is_an_invalid_request_naming_it_not_a_server_error(
        client: httpx.AsyncClient) -> None:
    lab = await account(client, "lab-7", "buyer")
    huge = "10000000000000000000"
    for method, path, field in (
            ("GET", f"/orders/{huge}", "order_id"), ("DELETE", f"/orders/{huge}", "order_id"),
            ("GET", f"/auctions/{huge}", "auction_id"),
            ("GET", f"/contracts/{huge}/credits", "contract_id"),
            ("GET", f"/fills?order_id={huge}", "order_id")):
        r = await client.request(method, path, headers=lab)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["field"].endswith(field), (path, r.json())
    r = await client.post(f"/contracts/{huge}/offers", headers=lab, json={
        "client_order_id": "o", "gpus": 1, "starts_at": "2030-01-01T00:00:00Z",
        "ends_at": "2030-01-01T01:00:00Z", "price": "1"})
    assert r.status_code == 422 and r.json()["field"].endswith("contract_id"), r.text
