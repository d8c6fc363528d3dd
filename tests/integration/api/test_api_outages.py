"""Outages and curtailments over the API: every contract they hit is credited by its tier's
schedule from the provider's account, exactly once (retried or raced), and every refusal has
its code and field and writes nothing."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from apihelp import ADMIN, account, count, pool
from sqlalchemy import insert, select

from gpux.adapters.postgres.ledger import ledger_problems
from gpux.service.accounts import ADMIN_ACCOUNT_ID

T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
H = timedelta(hours=1)
_ids = itertools.count(1)


def at(hours: int) -> str:
    return (T0 + hours * H).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _contract(engine: Any, holder: str, pool_id: str, gpus: int, start: int, end: int,
                    price: str, provider: str = "acme") -> int:
    """A contract as a cleared round leaves it (its bid order and fill too)."""
    from gpux.adapters.postgres.tables import auctions, contracts, fills, orders

    n = next(_ids)
    async with engine.begin() as conn:
        auction_id = (await conn.execute(insert(auctions).values(
            partition="main", cutoff=T0 - n * H, horizon_start=T0, slots=168,
            status="cleared", book={}, bids=1, asks=1).returning(auctions.c.id))).scalar_one()
        order_id = (await conn.execute(insert(orders).values(
            account_id=holder, side="bid", client_order_id=f"c-{n}", status="filled",
            starts_at=T0 + start * H, ends_at=T0 + end * H, max_value=price, request={},
        ).returning(orders.c.id))).scalar_one()
        fill_id = (await conn.execute(insert(fills).values(
            auction_id=auction_id, order_id=order_id, account_id=holder, side="bid", alternative=0,
            leg=0, pool_id=pool_id, starts_at=T0 + start * H, ends_at=T0 + end * H,
            gpus=gpus, amount=price).returning(fills.c.id))).scalar_one()
        return int((await conn.execute(insert(contracts).values(
            fill_id=fill_id, holder_id=holder, provider_id=provider, pool_id=pool_id,
            gpus=gpus, starts_at=T0 + start * H, ends_at=T0 + end * H, price=price,
        ).returning(contracts.c.id))).scalar_one())


async def _market(client: httpx.AsyncClient, engine: Any, collateral: str = "1000"
                  ) -> tuple[dict[str, str], dict[str, str], list[int]]:
    """acme's pool p1 (8 H100s, tier 99.9: 25 %), acme holding `collateral`; lab-7 holds
    4 GPUs for hours 0-10 (100.00) and 4 for hours 20-24; lab-8 2 GPUs for hours 5-8 (30)."""
    prov = await account(client, "acme", "provider")
    lab = await account(client, "lab-7", "buyer", funds=None)
    await account(client, "lab-8", "buyer", funds=None)
    await pool(client, prov, "p1")
    r = await client.post("/accounts/acme/deposits", headers=ADMIN, json={"amount": collateral})
    assert r.status_code == 201, r.text
    ids = [await _contract(engine, "lab-7", "p1", 4, 0, 10, "100"),
           await _contract(engine, "lab-8", "p1", 2, 5, 8, "30"),
           await _contract(engine, "lab-7", "p1", 4, 20, 24, "40")]
    return prov, lab, ids


async def _available(client: httpx.AsyncClient, who: str) -> str:
    r = await client.get(f"/accounts/{who}/statement", headers=ADMIN)
    return str(r.json()["balance"]["available"])


async def _ledger_ok(engine: Any) -> None:
    async with engine.connect() as conn:
        assert await ledger_problems(conn) == []


async def _written(engine: Any) -> tuple[int, int, int]:
    return (await count(engine, "outages"), await count(engine, "contract_credits"),
            await count(engine, "ledger_entries"))


def _credit_metrics() -> tuple[float, float]:
    from gpux.adapters.metrics import REGISTRY

    def value(name: str) -> float:
        return REGISTRY.get_sample_value(name, {"tier": "99.9"}) or 0.0

    return value("gpux_service_credits_total"), value("gpux_service_credits_usd_total")


async def test_an_outage_credits_each_contract_it_hits_by_the_tier_from_the_provider(
        client: httpx.AsyncClient, engine: Any) -> None:
    prov, lab, (c1, c2, c3) = await _market(client, engine)
    counted, usd = _credit_metrics()
    r = await client.post("/pools/p1/outages", headers=prov, json={
        "starts_at": at(4), "ends_at": at(6), "reason": "power"})
    assert r.status_code == 201, r.text
    doc = r.json()
    # lab-7: 8 of its 40 GPU-hours, 20.00 of 100.00, 25 % = 5; lab-8: 2 of 6, 10.00, 2.50.
    assert (doc["kind"], doc["gpus"], doc["contracts"], doc["owed"], doc["paid"]) == (
        "outage", 8, 2, "7.5", "7.5")
    assert [(c["contract_id"], c["holder_id"], c["gpu_hours"], c["owed"], c["paid"])
            for c in doc["credits"]] == [(c1, "lab-7", "8", "5", "5"),
                                         (c2, "lab-8", "2", "2.5", "2.5")]
    assert (await _available(client, "acme"), await _available(client, "lab-7"),
            await _available(client, "lab-8")) == ("992.5", "5", "2.5")
    statement = (await client.get("/accounts/lab-7/statement", headers=lab)).json()
    assert [(e["kind"], e["amount"]) for e in statement["items"]] == [("credit", "5")]
    r = await client.get(f"/contracts/{c1}/credits", headers=lab)
    assert [(c["outage_id"], c["paid"]) for c in r.json()["items"]] == [(doc["id"], "5")]
    assert (await client.get(f"/contracts/{c3}/credits", headers=lab)).json()["items"] == []
    assert (await client.get(f"/contracts/{c2}/credits", headers=lab)).status_code == 404
    assert _credit_metrics() == (counted + 2, usd + 7.5)
    listed = (await client.get("/pools/p1/outages", headers=lab)).json()["items"]
    assert [(o["id"], o["paid"], o["reason"], o["credits"]) for o in listed] == [
        (doc["id"], "7.5", "power", None)]
    await _ledger_ok(engine)


async def test_reporting_the_same_outage_again_returns_it_and_pays_nothing_more(
        client: httpx.AsyncClient, engine: Any) -> None:
    prov, _, _ = await _market(client, engine)
    body = {"starts_at": at(4), "ends_at": at(6)}
    first = await client.post("/pools/p1/outages", headers=prov, json=body)
    before = await _written(engine)
    again = await client.post("/pools/p1/outages", headers=ADMIN, json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["credits"] == first.json()["credits"]
    assert await _written(engine) == before
    assert await _available(client, "acme") == "992.5"


async def test_two_concurrent_reports_of_one_outage_credit_each_contract_once(
        client: httpx.AsyncClient, engine: Any) -> None:
    prov, _, _ = await _market(client, engine)
    body = {"starts_at": at(4), "ends_at": at(6)}
    answers = await asyncio.gather(*(client.post("/pools/p1/outages", headers=h, json=body)
                                     for h in (prov, ADMIN, prov)))
    assert sorted(a.status_code for a in answers) == [200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert (await count(engine, "outages"), await count(engine, "contract_credits")) == (1, 2)
    assert await _available(client, "acme") == "992.5"
    await _ledger_ok(engine)


async def test_a_curtailment_costs_holders_only_what_was_sold_beyond_the_gpus_still_up(
        client: httpx.AsyncClient, engine: Any) -> None:
    prov, _, (c1, c2, _) = await _market(client, engine)
    # Hours 5-7: 6 of 8 GPUs sold; 4 curtailed leave 4 up, so 2 GPUs a hour are lost, shared
    # 4:2 by lab-7 and lab-8. Hour 4: only lab-7's 4 sold, 4 still up: nothing lost.
    r = await client.post("/pools/p1/outages", headers=prov, json={
        "starts_at": at(4), "ends_at": at(7), "gpus": 4})
    assert r.status_code == 201, r.text
    got = {c["contract_id"]: (c["gpu_hours"], c["owed"]) for c in r.json()["credits"]}
    # lab-7: 2 h x 4/3 GPU = 8/3 GPU-hours of 40 at 100.00 -> 6.666..., 25 % -> 1.666666.
    # lab-8: 2 h x 2/3 GPU = 4/3 of 6 at 30.00 -> 6.666..., 25 % -> 1.666666.
    assert got == {c1: ("2.666666", "1.666666"), c2: ("1.333333", "1.666666")}
    assert r.json()["kind"] == "curtailment"
    await _ledger_ok(engine)


async def test_credits_beyond_the_providers_balance_are_paid_pro_rata_and_the_rest_recorded(
        client: httpx.AsyncClient, engine: Any) -> None:
    prov, _, (c1, c2, _) = await _market(client, engine, collateral="2")
    r = await client.post("/pools/p1/outages", headers=prov, json={
        "starts_at": at(4), "ends_at": at(6)})
    assert r.status_code == 201, r.text
    got = {c["contract_id"]: (c["owed"], c["paid"], c["shortfall"])
           for c in r.json()["credits"]}
    # 7.50 owed, 2.00 held: each paid 2/7.5 of its credit, rounded down.
    assert got == {c1: ("5", "1.333333", "3.666667"), c2: ("2.5", "0.666666", "1.833334")}
    assert await _available(client, "acme") == "0.000001"
    await _ledger_ok(engine)


async def test_a_planned_curtailment_credits_the_contracts_already_held_in_those_hours(
        client: httpx.AsyncClient, engine: Any) -> None:
    _, _, (_, _, c3) = await _market(client, engine)
    r = await client.post("/pools/p1/outages", headers=ADMIN, json={
        "starts_at": at(22), "ends_at": at(30), "gpus": 8, "reason": "maintenance"})
    assert r.status_code == 201, r.text
    # lab-7's 4 GPUs for hours 22-24: 8 of 16 GPU-hours at 40.00 -> 20.00, 25 % -> 5.
    assert [(c["contract_id"], c["owed"]) for c in r.json()["credits"]] == [(c3, "5")]
    assert (r.json()["reported_by"], r.json()["kind"]) == (ADMIN_ACCOUNT_ID, "curtailment")


async def test_bad_or_unauthorised_reports_are_refused_with_their_code_and_write_nothing(
        client: httpx.AsyncClient, engine: Any) -> None:
    prov, lab, _ = await _market(client, engine)
    other = await account(client, "rival", "provider")
    ok = {"starts_at": at(4), "ends_at": at(6)}
    assert (await client.post("/pools/p1/outages", headers=prov, json=ok)).status_code == 201
    before = await _written(engine)
    cases: list[tuple[str, dict[str, str], dict[str, Any], int, str, str | None]] = [
        ("/pools/nope/outages", prov, ok, 404, "not_found", "pool_id"),
        ("/pools/p1/outages", other, {**ok, "starts_at": at(30), "ends_at": at(31)}, 403,
         "forbidden", "pool_id"),
        ("/pools/p1/outages", lab, {**ok, "starts_at": at(30), "ends_at": at(31)}, 403,
         "forbidden", "pool_id"),
        ("/pools/p1/outages", prov, {"starts_at": at(9), "ends_at": at(9)}, 422,
         "invalid_outage", "ends_at"),
        ("/pools/p1/outages", prov, {"starts_at": at(9), "ends_at": at(8)}, 422,
         "invalid_outage", "ends_at"),
        ("/pools/p1/outages", prov, {"starts_at": "2026-12-01T09:30:00Z", "ends_at": at(8)},
         422, "invalid_outage", "starts_at"),
        ("/pools/p1/outages", prov, {"starts_at": at(9), "ends_at": at(10), "gpus": 9}, 422,
         "invalid_outage", "gpus"),
        ("/pools/p1/outages", prov, {"starts_at": at(9), "ends_at": at(10), "gpus": 0}, 422,
         "invalid_outage", "gpus"),
        ("/pools/p1/outages", prov, {"starts_at": at(5), "ends_at": at(9)}, 409,
         "outage_overlaps", "starts_at"),
        ("/pools/p1/outages", prov, {"starts_at": at(4), "ends_at": at(6), "gpus": 2}, 409,
         "outage_overlaps", "starts_at"),
        ("/pools/p1/outages", prov, {"starts_at": "soon", "ends_at": at(6)}, 422,
         "invalid_request", "starts_at"),
        ("/pools/p1/outages", {}, ok, 401, "unauthenticated", None),
    ]
    for path, headers, body, status, code, field in cases:
        r = await client.post(path, headers=headers, json=body)
        assert (r.status_code, r.json()["code"], r.json()["field"]) == (
            status, code, field), (body, r.text)
    assert await _written(engine) == before
    r = await client.get("/pools/nope/outages", headers=lab)
    assert (r.status_code, r.json()["field"]) == (404, "pool_id")


async def test_a_credit_is_stored_once_per_contract_and_outage(engine: Any,
                                                               client: httpx.AsyncClient
                                                               ) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    from gpux.adapters.postgres.tables import contract_credits

    prov, _, (c1, c2, _) = await _market(client, engine)
    outage = (await client.post("/pools/p1/outages", headers=prov, json={
        "starts_at": at(4), "ends_at": at(6)})).json()
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(contract_credits).values(
                contract_id=c1, outage_id=outage["id"], holder_id="lab-7", gpu_hours=1,
                owed=1, paid=1))
    async with engine.connect() as conn:
        rows = (await conn.execute(select(contract_credits.c.contract_id).where(
            contract_credits.c.outage_id == outage["id"]))).scalars().all()
    assert sorted(rows) == [c1, c2]
