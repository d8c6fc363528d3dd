"""The OpenAPI document builds and shows examples of what to send."""

from __future__ import annotations

import httpx


async def test_the_openapi_document_lists_every_route_with_examples(
        client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    paths = set(doc["paths"])
    assert {"/accounts", "/accounts/{account_id}/keys", "/me", "/pools", "/bids", "/asks",
            "/orders", "/orders/{order_id}", "/fills", "/contracts", "/auctions",
            "/auctions/{auction_id}", "/prices/index", "/healthz"} <= paths
    schemas = doc["components"]["schemas"]
    for name in ("BidIn", "AskIn", "PoolIn", "AccountIn", "OrderOut", "ProblemOut"):
        assert schemas[name].get("examples"), name
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert doc["paths"]["/bids"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in doc["paths"]["/auctions"]["get"]
    assert "409" in doc["paths"]["/bids"]["post"]["responses"]


async def test_health_answers_without_a_key(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
