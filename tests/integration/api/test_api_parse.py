"""Plain-English orders over the API: parsed and shown, never placed by the parse itself; the
returned request places exactly that order, once, however often the user confirms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from apihelp import account, count, pool

from gpux.domain.jsonio import dumps, loads


def _next_hour() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


async def test_parse_shows_the_order_and_places_nothing(client: Any, engine: Any) -> None:
    lab = await account(client, "lab", "buyer")
    r = await client.post("/orders/parse?placement=true", headers=lab, json={
        "text": "8 H100 for 10 hours in us-east, $2.10 per GPU-hour, within 2 days"})
    assert r.status_code == 200, r.text
    doc = loads(r.text)
    (alt,) = doc["order"]["alternatives"]
    assert alt["legs"][0]["gpus"] == 8 and alt["legs"][0]["gpu"] == ["H100"]
    assert str(alt["value"]) == "168"
    assert doc["place"]["method"] == "POST" and doc["place"]["path"] == "/bids"
    assert await count(engine, "orders") == 0


async def test_confirming_twice_places_the_parsed_order_once(client: Any, engine: Any) -> None:
    lab = await account(client, "lab", "buyer")
    now = _next_hour().strftime("%Y-%m-%dT%H:%M:%SZ")
    text = "two nodes of H100 for 48h next week, up to $2.40/GPU-hour, us-east or us-west"
    doc = loads((await client.post("/orders/parse?placement=true", headers=lab,
                                   json={"text": text, "now": now})).text)
    place = doc["place"]
    for _ in range(2):
        r = await client.request(place["method"], place["path"], headers={
            **lab, "content-type": "application/json"}, content=dumps(place["body"]))
        assert r.status_code in (200, 201), r.text
    assert await count(engine, "orders") == 1
    (order,) = (await client.get("/orders", headers=lab)).json()["items"]
    assert order["alternatives"][0]["legs"][0]["gpus"] == 16
    assert order["alternatives"][0]["legs"][0]["duration_hours"] == 48


async def test_a_provider_can_parse_a_sell_order_for_its_own_pool(client: Any) -> None:
    acme = await account(client, "acme", "provider")
    await pool(client, acme, "acme-h100", gpus=16)
    start = _next_hour() + timedelta(days=1)
    end = start + timedelta(days=3)
    r = await client.post("/orders/parse?placement=true", headers=acme, json={
        "text": f"sell 8 GPUs of pool acme-h100 from {start:%b %-d} to {end:%b %-d} "
                "at $1.90 per GPU-hour",
        "now": _next_hour().strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert r.status_code == 200, r.text
    doc = loads(r.text)
    assert doc["order"]["side"] == "sell" and doc["order"]["pool"] == "acme-h100"
    assert doc["place"]["path"] == "/asks"


async def test_text_without_a_price_is_a_problem_naming_the_price(client: Any) -> None:
    lab = await account(client, "lab", "buyer")
    r = await client.post("/orders/parse?placement=true", headers=lab,
                          json={"text": "8 H100 for 10 hours tomorrow"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["field"] == "price"


async def test_by_default_the_answer_is_exactly_what_gpux_parse_prints(client: Any) -> None:
    from datetime import datetime as dt

    from gpux.nlorders.order import to_doc
    from gpux.nlorders.parser import parse

    lab = await account(client, "lab", "buyer")
    text = "need 64 H100s for three days next week in us-east, up to $2.40 an hour each"
    now = "2026-11-29T05:00:00Z"
    r = await client.post("/orders/parse", headers=lab, json={"text": text, "now": now})
    assert r.status_code == 200, r.text
    expected = to_doc(parse(text, dt.fromisoformat(now.replace("Z", "+00:00"))))
    assert r.text == dumps(expected, indent=None)


async def test_parse_needs_an_api_key(client: Any) -> None:
    r = await client.post("/orders/parse", json={"text": "8 H100 for 10 hours at $2"})
    assert r.status_code == 401
