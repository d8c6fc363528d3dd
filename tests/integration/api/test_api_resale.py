"""Resale offers over HTTP: `POST /contracts/{id}/offers` and every rule it enforces, with
nothing written when it refuses."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from apihelp import ADMIN, account, ask, bid, count, hour, pool
from sqlalchemy import insert, text

PROVIDER, HOLDER, OTHER = "acme", "lab", "lab-9"


async def _held(client: httpx.AsyncClient, resources: Any) -> tuple[dict[str, str], int]:
    """The holder's headers and its contract: 4 GPUs of p1 over hours [2, 6) from now."""
    from gpux.entrypoints.worker import rounds_of

    prov = await account(client, PROVIDER, "provider")
    lab = await account(client, HOLDER, "buyer")
    await pool(client, prov, "p1", gpus=8)
    r = await client.post("/asks", headers=prov, json=ask(gpus=4, start=0, end=24, price="1"))
    assert r.status_code == 201, r.text
    r = await client.post("/bids", headers=lab, json=bid(gpus=4, hours=4, start=2, end=6))
    assert r.status_code == 201, r.text
    outcomes = await rounds_of(resources).clear_round(datetime.now(UTC))
    assert outcomes[-1].status == "cleared" and outcomes[-1].fills == 2, outcomes
    (held,) = (await client.get("/contracts", headers=lab)).json()["items"]
    return lab, int(held["id"])


def _offer(client_order_id: str = "o-1", *, gpus: int = 2, start: int = 3, end: int = 5,
           price: str = "1.50") -> dict[str, Any]:
    return {"client_order_id": client_order_id, "gpus": gpus, "starts_at": hour(start),
            "ends_at": hour(end), "price": price}


async def _live(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    return list((await client.get("/contracts", headers=headers)).json()["items"])


async def _rows(engine: Any) -> tuple[int, int]:
    return await count(engine, "orders"), await count(engine, "contracts")


async def test_a_holder_offers_part_of_a_contract_and_it_splits_into_marked_pieces(
        client: httpx.AsyncClient, resources: Any, engine: Any) -> None:
    lab, cid = await _held(client, resources)
    r = await client.post(f"/contracts/{cid}/offers", headers=lab, json=_offer())
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["side"], order["status"], order["pool"], order["gpus"], order["price"],
            order["contract_id"]) == ("ask", "open", "p1", 2, "1.5", cid)
    pieces = await _live(client, lab)
    assert cid not in {p["id"] for p in pieces}
    assert {p["parent_id"] for p in pieces} == {cid}
    assert sorted((p["gpus"], p["starts_at"], p["ends_at"], p["offered"], p["offer_id"])
                  for p in pieces) == sorted([
        (2, hour(3), hour(5), True, order["id"]), (2, hour(3), hour(5), False, None),
        (4, hour(2), hour(3), False, None), (4, hour(5), hour(6), False, None)])
    everything = (await client.get("/contracts", headers=lab,
                                   params={"superseded": "true"})).json()["items"]
    (parent,) = [c for c in everything if c["id"] == cid]
    assert parent["status"] == "superseded"
    assert sum(Decimal(p["price"]) for p in pieces) == Decimal(parent["price"])
    assert sum(p["gpu_hours"] for p in pieces) == parent["gpu_hours"] == 16


async def test_offering_a_whole_contract_marks_it_without_splitting_it(
        client: httpx.AsyncClient, resources: Any, engine: Any) -> None:
    lab, cid = await _held(client, resources)
    r = await client.post(f"/contracts/{cid}/offers", headers=lab,
                          json=_offer(gpus=4, start=2, end=6))
    assert r.status_code == 201, r.text
    (held,) = await _live(client, lab)
    assert (held["id"], held["offered"], held["offer_id"]) == (cid, True, r.json()["id"])
    # Like every placement, the offer's `placed` event is in the outbox with it.
    async with engine.connect() as conn:
        payload = (await conn.execute(text(
            "SELECT payload FROM outbox WHERE event_id = :e"),
            {"e": f"order:{r.json()['id']}:placed"})).scalar_one()
    assert (payload["event"], payload["side"], payload["account_id"]) == (
        "placed", "ask", "lab")


async def _refused(client: httpx.AsyncClient, engine: Any, headers: dict[str, str], cid: int,
                   body: dict[str, Any], status: int, code: str, field: str) -> None:
    before = await _rows(engine)
    r = await client.post(f"/contracts/{cid}/offers", headers=headers, json=body)
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (status, code, field), r.text
    assert await _rows(engine) == before


async def test_an_offer_of_someone_elses_contract_is_refused(
        client: httpx.AsyncClient, resources: Any, engine: Any) -> None:
    _, cid = await _held(client, resources)
    other = await account(client, OTHER, "buyer")
    await _refused(client, engine, other, cid, _offer(), 403, "contract_not_held",
                   "contract_id")
    await _refused(client, engine, other, 10**9, _offer(), 404, "not_found", "contract_id")


async def test_an_offer_outside_the_contracts_hours_is_refused(
        client: httpx.AsyncClient, resources: Any, engine: Any) -> None:
    lab, cid = await _held(client, resources)
    await _refused(client, engine, lab, cid, _offer(start=1, end=4), 422,
                   "offer_outside_contract", "starts_at")
    await _refused(client, engine, lab, cid, _offer(start=3, end=7), 422,
                   "offer_outside_contract", "ends_at")


async def test_an_offer_of_hours_that_have_started_is_refused(
        client: httpx.AsyncClient, resources: Any, engine: Any) -> None:
    from gpux.adapters.postgres.tables import contracts

    lab, _ = await _held(client, resources)
    started = datetime.fromisoformat(hour(-1).replace("Z", "+00:00"))
    async with engine.begin() as conn:
        cid = (await conn.execute(insert(contracts).values(
            holder_id=HOLDER, provider_id=PROVIDER, pool_id="p1", gpus=2, starts_at=started,
            ends_at=datetime.fromisoformat(hour(4).replace("Z", "+00:00")), price="10")
            .returning(contracts.c.id))).scalar_one()
    await _refused(client, engine, lab, cid, _offer(start=-1, end=3), 422,
                   "offer_outside_contract", "starts_at")


async def test_an_offer_of_more_gpus_than_the_contract_holds_is_refused(
        client: httpx.AsyncClient, resources: Any, engine: Any) -> None:
    lab, cid = await _held(client, resources)
    await _refused(client, engine, lab, cid, _offer(gpus=5), 409, "offer_exceeds_contract",
                   "gpus")


async def test_the_same_gpu_hours_cannot_be_offered_twice(
        client: httpx.AsyncClient, resources: Any, engine: Any) -> None:
    lab, cid = await _held(client, resources)
    first = (await client.post(f"/contracts/{cid}/offers", headers=lab, json=_offer())).json()
    await _refused(client, engine, lab, cid, _offer("o-2"), 409, "contract_superseded",
                   "contract_id")
    pieces = await _live(client, lab)
    (offered,) = [p for p in pieces if p["offered"]]
    assert offered["offer_id"] == first["id"]
    await _refused(client, engine, lab, offered["id"], _offer("o-3", gpus=1), 409,
                   "offer_exceeds_contract", "gpus")
    # The GPU-hours beside it are the holder's to offer.
    spare = next(p for p in pieces if not p["offered"] and p["starts_at"] == hour(3))
    r = await client.post(f"/contracts/{spare['id']}/offers", headers=lab,
                          json=_offer("o-4", gpus=2))
    assert r.status_code == 201, r.text


async def test_cancelling_an_offer_unmarks_its_piece_so_it_can_be_offered_again(
        client: httpx.AsyncClient, resources: Any, engine: Any) -> None:
    lab, cid = await _held(client, resources)
    first = (await client.post(f"/contracts/{cid}/offers", headers=lab,
                               json=_offer(gpus=4, start=2, end=6))).json()
    r = await client.delete(f"/orders/{first['id']}", headers=lab)
    assert (r.status_code, r.json()["status"]) == (200, "cancelled")
    (held,) = await _live(client, lab)
    assert (held["offered"], held["offer_id"]) == (False, None)
    r = await client.post(f"/contracts/{cid}/offers", headers=lab, json=_offer("o-2"))
    assert r.status_code == 201, r.text


async def test_a_retried_offer_returns_the_first_and_a_different_body_is_refused(
        client: httpx.AsyncClient, resources: Any, engine: Any) -> None:
    lab, cid = await _held(client, resources)
    first = await client.post(f"/contracts/{cid}/offers", headers=lab, json=_offer())
    before = await _rows(engine)
    again = await client.post(f"/contracts/{cid}/offers", headers=lab, json=_offer())
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (201, "true")
    assert again.json()["id"] == first.json()["id"]
    assert await _rows(engine) == before
    await _refused(client, engine, lab, cid, _offer(gpus=1), 409, "client_order_id_reused",
                   "client_order_id")


async def test_resale_offers_do_not_count_against_the_pools_oversell_check(
        client: httpx.AsyncClient, resources: Any, engine: Any) -> None:
    lab, cid = await _held(client, resources)
    key = (await client.post(f"/accounts/{PROVIDER}/keys", headers=ADMIN)).json()["key"]
    prov = {"Authorization": f"Bearer {key}"}
    r = await client.post(f"/contracts/{cid}/offers", headers=lab,
                          json=_offer(gpus=4, start=2, end=6))
    assert r.status_code == 201, r.text
    # 8 GPUs: the open ask's 4 and 4 more; the offer resells 4 of the ask's, already sold.
    r = await client.post("/asks", headers=prov, json=ask("a-2", gpus=4, start=0, end=24))
    assert r.status_code == 201, r.text
    r = await client.post("/asks", headers=prov, json=ask("a-3", gpus=1, start=0, end=24))
    assert (r.status_code, r.json()["code"]) == (409, "pool_oversold")

