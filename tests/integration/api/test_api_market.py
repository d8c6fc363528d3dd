"""Fills, contracts, auctions and the price index, as the clearing worker writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from apihelp import account, ask, bid, pool
from sqlalchemy import insert

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)


async def _cleared_round(engine: Any, bid_id: int, ask_id: int) -> None:
    from gpux.adapters.postgres.tables import auctions, contracts, fills, price_index, prices

    async with engine.begin() as conn:
        for i, gpu_price in ((1, "2.5"), (2, "2.25")):
            await conn.execute(insert(auctions).values(
                id=i, partition="main", cutoff=T0 + timedelta(minutes=i), horizon_start=T0,
                slots=168, status="cleared", book={"secret": "orders"}, solve_status="optimal",
                surplus="12.5", bound="12.5", volume_gpu_hours=16, solve_seconds="0.125",
                bids=1, asks=1))
            await conn.execute(insert(price_index).values(
                auction_id=i, gpu="H100", price=gpu_price, gpu_hours=16))
        await conn.execute(insert(prices).values(
            auction_id=2, pool_id="p1", starts_at=T0, ends_at=T0 + timedelta(hours=4),
            price="2.25"))
        common = {"auction_id": 2, "pool_id": "p1", "starts_at": T0,
                  "ends_at": T0 + timedelta(hours=4), "gpus": 4, "amount": "36"}
        await conn.execute(insert(fills).values(id=1, order_id=bid_id, account_id="lab-7",
                                                side="bid", alternative=0, leg=0, **common))
        await conn.execute(insert(fills).values(id=2, order_id=ask_id, account_id="acme",
                                                side="ask", **common))
        await conn.execute(insert(contracts).values(
            fill_id=1, holder_id="lab-7", provider_id="acme", pool_id="p1", gpus=4,
            starts_at=T0, ends_at=T0 + timedelta(hours=4), price="2.25"))


async def test_each_account_sees_its_own_fills_and_contracts(
        client: httpx.AsyncClient, engine: Any) -> None:
    prov = await account(client, "acme", "provider")
    buyer = await account(client, "lab-7", "buyer")
    other = await account(client, "lab-9", "buyer")
    await pool(client, prov, "p1")
    ask_id = (await client.post("/asks", headers=prov, json=ask())).json()["id"]
    bid_id = (await client.post("/bids", headers=buyer, json=bid())).json()["id"]
    await _cleared_round(engine, bid_id, ask_id)

    fills = (await client.get("/fills", headers=buyer)).json()["items"]
    assert [(f["order_id"], f["side"], f["amount"]) for f in fills] == [(bid_id, "bid", "36")]
    assert [f["side"] for f in (await client.get("/fills", headers=prov)).json()["items"]] == [
        "ask"]
    assert (await client.get("/fills", headers=other)).json()["items"] == []
    contracts = (await client.get("/contracts", headers=buyer)).json()["items"]
    assert [(c["holder_id"], c["pool"], c["price"]) for c in contracts] == [
        ("lab-7", "p1", "2.25")]
    assert len((await client.get("/contracts", headers=prov)).json()["items"]) == 1
    assert (await client.get("/contracts", headers=other)).json()["items"] == []


async def test_auctions_show_public_summaries_and_clearing_prices(
        client: httpx.AsyncClient, engine: Any) -> None:
    prov = await account(client, "acme", "provider")
    buyer = await account(client, "lab-7", "buyer")
    await pool(client, prov, "p1")
    ask_id = (await client.post("/asks", headers=prov, json=ask())).json()["id"]
    bid_id = (await client.post("/bids", headers=buyer, json=bid())).json()["id"]
    await _cleared_round(engine, bid_id, ask_id)

    page = (await client.get("/auctions", params={"limit": 1})).json()
    assert [a["id"] for a in page["items"]] == [2] and page["next_cursor"] == "2"
    rest = (await client.get("/auctions", params={"cursor": "2"})).json()
    assert [a["id"] for a in rest["items"]] == [1] and rest["next_cursor"] is None
    one = (await client.get("/auctions/2")).json()
    assert "book" not in one and "secret" not in str(one)
    assert (one["surplus"], one["solve_status"], one["solve_seconds"]) == (
        "12.5", "optimal", "0.125")
    assert one["prices"] == [{"pool": "p1", "starts_at": "2026-12-01T08:00:00Z",
                              "ends_at": "2026-12-01T12:00:00Z", "price": "2.25"}]
    assert (await client.get("/auctions/99")).status_code == 404


async def test_the_price_index_gives_the_latest_price_of_each_gpu_model(
        client: httpx.AsyncClient, engine: Any) -> None:
    prov = await account(client, "acme", "provider")
    buyer = await account(client, "lab-7", "buyer")
    await pool(client, prov, "p1")
    ask_id = (await client.post("/asks", headers=prov, json=ask())).json()["id"]
    bid_id = (await client.post("/bids", headers=buyer, json=bid())).json()["id"]
    await _cleared_round(engine, bid_id, ask_id)
    index = (await client.get("/prices/index")).json()
    assert index == [{"gpu": "H100", "price": "2.25", "gpu_hours": 16, "auction_id": 2,
                      "cutoff": "2026-12-01T08:02:00Z"}]


async def test_a_buyer_lists_what_it_holds_and_what_is_yet_to_be_delivered(
        client: httpx.AsyncClient, engine: Any) -> None:
    prov = await account(client, "acme", "provider")
    buyer = await account(client, "lab-7", "buyer")
    await pool(client, prov, "p1")
    ask_id = (await client.post("/asks", headers=prov, json=ask())).json()["id"]
    bid_id = (await client.post("/bids", headers=buyer, json=bid())).json()["id"]
    await _cleared_round(engine, bid_id, ask_id)

    (held,) = (await client.get("/contracts", headers=buyer,
                                params={"role": "holder"})).json()["items"]
    ahead = datetime.now(UTC) < T0 + timedelta(hours=4)
    assert (held["amount"], held["gpu_hours"]) == ("36", 16)
    assert held["delivery"] == ("upcoming" if datetime.now(UTC) < T0
                                else "delivering" if ahead else "delivered")
    assert (await client.get("/contracts", headers=prov,
                             params={"role": "holder"})).json()["items"] == []
    assert len((await client.get("/contracts", headers=prov,
                                 params={"role": "provider"})).json()["items"]) == 1
    left = (await client.get("/contracts", headers=buyer,
                             params={"undelivered": "true"})).json()["items"]
    assert len(left) == (1 if ahead else 0)
