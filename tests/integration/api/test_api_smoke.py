"""A buyer's bid and a provider's ask go in and come back out."""

from __future__ import annotations

from typing import Any

import httpx
from apihelp import account, ask, bid, hour, order_rows, pool


async def test_a_provider_asks_and_a_buyer_bids(client: httpx.AsyncClient, engine: Any) -> None:
    prov = await account(client, "acme", "provider")
    buyer = await account(client, "lab-7", "buyer")
    await pool(client, prov, "p1", gpus=8)
    r = await client.post("/asks", headers=prov, json=ask(gpus=8))
    assert r.status_code == 201, r.text
    assert r.json()["price"] == "1.85"
    r = await client.post("/bids", headers=buyer, json=bid())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["side"] == "bid" and body["status"] == "open"
    assert body["max_value"] == "100.5"
    assert body["alternatives"][0]["legs"][0]["gpus"] == 4
    assert await order_rows(engine) == (2, 1, 1)
    r = await client.get(f"/orders/{body['id']}", headers=buyer)
    assert r.status_code == 200 and r.json()["id"] == body["id"]


async def test_a_bids_alternatives_and_legs_are_stored_as_given(
        client: httpx.AsyncClient, engine: Any) -> None:
    from sqlalchemy import text

    buyer = await account(client, "lab-7", "buyer")
    body = bid(gpus=4, hours=8, value="96.5", regions=["us-east"], min_uptime="99.9")
    body["alternatives"].append({
        "limit_per_gpu_hour": "1.25", "earliest_start": hour(2), "latest_end": hour(30),
        "legs": [{"gpus": 2, "duration_hours": 4, "pools": ["p9"]},
                 {"gpus": 1, "duration_hours": 4, "offset_hours": 4, "gpu": ["L4"]}]})
    order_id = (await client.post("/bids", headers=buyer, json=body)).json()["id"]
    async with engine.connect() as conn:
        alts = (await conn.execute(text(
            "SELECT idx, value, latest_end - earliest_start FROM bid_alternatives "
            "WHERE order_id = :o ORDER BY idx"), {"o": order_id})).all()
        legs = (await conn.execute(text(
            "SELECT alt_idx, idx, gpus, duration_hours, offset_hours, gpu, regions, "
            "min_uptime, pools FROM bid_legs WHERE order_id = :o ORDER BY alt_idx, idx"),
            {"o": order_id})).all()
    from datetime import timedelta
    from decimal import Decimal

    assert [tuple(a) for a in alts] == [(0, Decimal("96.5"), timedelta(hours=24)),
                                        (1, Decimal("15"), timedelta(hours=28))]
    assert [tuple(leg) for leg in legs] == [
        (0, 0, 4, 8, 0, ["H100"], ["us-east"], Decimal("99.9"), None),
        (1, 0, 2, 4, 0, None, None, None, ["p9"]),
        (1, 1, 1, 4, 4, ["L4"], None, None, None)]
