"""Every integrity rule refuses with a 4xx, a stable code and the field, and writes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from apihelp import account, ask, bid, hour, order_rows, pool
from sqlalchemy import text


@pytest.fixture
async def parties(client: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    prov = await account(client, "acme", "provider")
    other = await account(client, "rival", "provider")
    buyer = await account(client, "lab-7", "buyer")
    await pool(client, prov, "p1", gpus=8)
    await pool(client, other, "p2", gpus=8)
    return {"prov": prov, "other": other, "buyer": buyer}


BAD_BIDS = [
    ("window_in_past", "alternatives[0].latest_end",
     lambda: bid(start=-48, end=-24)),
    ("limit_exceeded", "alternatives[0].legs[0].gpus", lambda: bid(gpus=5000)),
    ("limit_exceeded", "alternatives[0].value", lambda: bid(gpus=1, hours=1, value="101")),
    ("invalid_order", "alternatives[0].value", lambda: bid(value="1.0000001")),
    ("invalid_order", "alternatives[0].legs[0].gpus", lambda: bid(gpus=0)),
    ("invalid_order", "alternatives[0].legs[0].gpu[0]", lambda: bid(gpu=["H9000"])),
    ("invalid_order", "alternatives[0].legs[0].regions[0]", lambda: bid(regions=["mars"])),
    ("invalid_order", "alternatives[0].legs[0].min_uptime", lambda: bid(min_uptime="97")),
    ("invalid_order", "alternatives[0].legs", lambda: bid(hours=30, start=0, end=24)),
    ("invalid_order", "alternatives[0].earliest_start",
     lambda: {**bid(), "alternatives": [{**bid()["alternatives"][0],
                                         "earliest_start": "2030-01-01T10:30:00Z"}]}),
    ("invalid_order", "alternatives[0].latest_end",
     lambda: {**bid(), "alternatives": [{**bid()["alternatives"][0],
                                         "latest_end": "2030-01-01T10:00:00+02:00"}]}),
]


@pytest.mark.parametrize(("code", "field", "body"), BAD_BIDS,
                         ids=[f"{c}:{f}" for c, f, _ in BAD_BIDS])
async def test_a_bad_bid_is_refused_with_its_code_and_field_and_nothing_written(
        client: httpx.AsyncClient, engine: Any, parties: dict[str, dict[str, str]],
        code: str, field: str, body: Any) -> None:
    r = await client.post("/bids", headers=parties["buyer"], json=body())
    assert r.status_code == 422, r.text
    problem = r.json()
    assert (problem["code"], problem["field"]) == (code, field)
    assert any(e["field"] == field for e in problem["errors"])
    assert await order_rows(engine) == (0, 0, 0)


async def test_every_problem_of_a_bid_is_listed_with_its_path_and_value(
        client: httpx.AsyncClient, parties: dict[str, dict[str, str]]) -> None:
    body = bid(gpus=0)
    body["alternatives"][0]["legs"].append({"gpus": 2, "duration_hours": -1, "gpu": ["X"]})
    r = await client.post("/bids", headers=parties["buyer"], json=body)
    errors = {(e["field"], e["value"]) for e in r.json()["errors"]}
    assert ("alternatives[0].legs[0].gpus", 0) in errors
    assert ("alternatives[0].legs[1].duration_hours", -1) in errors
    assert ("alternatives[0].legs[1].gpu[0]", "X") in errors
    assert r.json()["detail"].startswith("alternatives[0].legs[0].gpus: must be positive, was 0")


BAD_ASKS = [
    (422, "window_in_past", "ends_at", lambda: ask(start=-30, end=-2)),
    (422, "limit_exceeded", "price", lambda: ask(price="100.01")),
    (422, "invalid_order", "price", lambda: ask(price="1.0000005")),
    (422, "limit_exceeded", "gpus", lambda: ask(gpus=4097)),
    (422, "limit_exceeded", "ends_at", lambda: ask(end=24 * 40)),
    (422, "unknown_pool", "pool", lambda: ask(pool_id="nowhere")),
    (403, "forbidden", "pool", lambda: ask(pool_id="p2")),
    (409, "pool_oversold", "gpus", lambda: ask(gpus=9)),
]


@pytest.mark.parametrize(("status", "code", "field", "body"), BAD_ASKS,
                         ids=[f"{c}:{f}" for _, c, f, _ in BAD_ASKS])
async def test_a_bad_ask_is_refused_with_its_code_and_field_and_nothing_written(
        client: httpx.AsyncClient, engine: Any, parties: dict[str, dict[str, str]],
        status: int, code: str, field: str, body: Any) -> None:
    r = await client.post("/asks", headers=parties["prov"], json=body())
    assert r.status_code == status, r.text
    assert (r.json()["code"], r.json()["field"]) == (code, field)
    assert await order_rows(engine) == (0, 0, 0)


async def test_overlapping_asks_may_not_together_exceed_the_pool_in_any_hour(
        client: httpx.AsyncClient, engine: Any, parties: dict[str, dict[str, str]]) -> None:
    prov = parties["prov"]
    assert (await client.post("/asks", headers=prov,
                              json=ask("a", gpus=5, start=0, end=10))).status_code == 201
    assert (await client.post("/asks", headers=prov,
                              json=ask("b", gpus=3, start=5, end=20))).status_code == 201
    # Hours 10..20 hold only 3, so 5 more fit there, but not where the two overlap.
    assert (await client.post("/asks", headers=prov,
                              json=ask("c", gpus=5, start=10, end=20))).status_code == 201
    r = await client.post("/asks", headers=prov, json=ask("d", gpus=1, start=9, end=11))
    assert (r.status_code, r.json()["code"]) == (409, "pool_oversold")
    assert (await order_rows(engine))[0] == 3


async def test_gpus_sold_by_closed_asks_still_count_against_the_pool(
        client: httpx.AsyncClient, engine: Any, parties: dict[str, dict[str, str]]) -> None:
    prov = parties["prov"]
    r = await client.post("/asks", headers=prov, json=ask("sold", gpus=8, start=0, end=10))
    ask_id = r.json()["id"]
    async with engine.begin() as conn:
        await conn.execute(text("""
            INSERT INTO auctions (partition, cutoff, horizon_start, slots, status, book, bids,
                                  asks) VALUES ('main', now(), now(), 24, 'cleared', '{}', 0, 1)
        """))
        await conn.execute(text("""
            INSERT INTO fills (auction_id, order_id, account_id, side, pool_id, starts_at,
                               ends_at, gpus, amount)
            VALUES (1, :o, 'acme', 'ask', 'p1', :s, :e, 6, 10)
        """), {"o": ask_id, "s": _dt(hour(2)), "e": _dt(hour(4))})
        await conn.execute(text("UPDATE orders SET status = 'filled' WHERE id = :o"),
                           {"o": ask_id})
    r = await client.post("/asks", headers=prov, json=ask("x", gpus=3, start=0, end=10))
    assert (r.status_code, r.json()["code"]) == (409, "pool_oversold")
    r = await client.post("/asks", headers=prov, json=ask("y", gpus=2, start=0, end=10))
    assert r.status_code == 201
    r = await client.post("/asks", headers=prov, json=ask("z", gpus=6, start=4, end=10))
    assert r.status_code == 201


async def test_the_open_order_cap_refuses_one_more_order(
        client: httpx.AsyncClient, engine: Any, resources: Any,
        parties: dict[str, dict[str, str]], app: Any) -> None:
    from dataclasses import replace

    svc = app.state.services
    svc.orders._limits = replace(svc.orders._limits, max_open_orders=2)
    buyer = parties["buyer"]
    for i in range(2):
        assert (await client.post("/bids", headers=buyer, json=bid(f"b{i}"))).status_code == 201
    r = await client.post("/bids", headers=buyer, json=bid("b2"))
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (
        409, "too_many_open_orders", "client_order_id")
    assert (await order_rows(engine))[0] == 2
    # A cancelled order no longer counts.
    first = (await client.get("/orders", headers=buyer)).json()["items"][-1]["id"]
    await client.delete(f"/orders/{first}", headers=buyer)
    assert (await client.post("/bids", headers=buyer, json=bid("b2"))).status_code == 201


async def test_a_halted_account_cannot_place_orders(
        client: httpx.AsyncClient, engine: Any, parties: dict[str, dict[str, str]]) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE accounts SET halted = true WHERE id = 'lab-7'"))
    r = await client.post("/bids", headers=parties["buyer"], json=bid())
    assert (r.status_code, r.json()["code"]) == (403, "account_halted")
    assert await order_rows(engine) == (0, 0, 0)


def _dt(iso: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(iso)
