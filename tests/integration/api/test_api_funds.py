"""Funds over the API: deposits, withdrawals, statements, holds on bids, and each refusal
(code, field, nothing written)."""

from __future__ import annotations

from typing import Any

import httpx
from apihelp import ADMIN, account, bid, count, order_rows

from gpux.adapters.postgres.ledger import ledger_problems


async def _statement(client: httpx.AsyncClient, who: str,
                     headers: dict[str, str] = ADMIN) -> dict[str, Any]:
    r = await client.get(f"/accounts/{who}/statement", headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _ledger_ok(engine: Any) -> None:
    async with engine.connect() as conn:
        assert await ledger_problems(conn) == []


async def test_deposits_and_withdrawals_move_the_available_balance(
        client: httpx.AsyncClient, engine: Any) -> None:
    lab = await account(client, "lab-7", "buyer", funds=None)
    r = await client.post("/accounts/lab-7/deposits", headers=ADMIN, json={"amount": "100.25"})
    assert r.status_code == 201
    assert r.json() == {"account_id": "lab-7", "available": "100.25", "held": "0"}
    r = await client.post("/accounts/lab-7/withdrawals", headers=ADMIN, json={"amount": 40})
    assert r.json()["available"] == "60.25"
    doc = await _statement(client, "lab-7", lab)
    assert [(e["kind"], e["amount"]) for e in doc["items"]] == [
        ("withdrawal", "-40"), ("deposit", "100.25")]
    assert doc["balance"]["available"] == "60.25"
    await _ledger_ok(engine)


async def test_a_withdrawal_beyond_the_available_balance_is_refused_and_writes_nothing(
        client: httpx.AsyncClient, engine: Any) -> None:
    await account(client, "lab-7", "buyer", funds="10")
    before = await count(engine, "ledger_entries")
    r = await client.post("/accounts/lab-7/withdrawals", headers=ADMIN, json={"amount": "10.5"})
    assert r.status_code == 409
    assert (r.json()["code"], r.json()["field"], r.json()["value"]) == (
        "insufficient_funds", "amount", "10.5")
    assert await count(engine, "ledger_entries") == before


async def test_amounts_must_be_positive_whole_micro_dollars(client: httpx.AsyncClient,
                                                            engine: Any) -> None:
    await account(client, "lab-7", "buyer", funds=None)
    for amount in ("0", "-5", "1.0000001"):
        r = await client.post("/accounts/lab-7/deposits", headers=ADMIN,
                              json={"amount": amount})
        assert r.status_code == 422, amount
        assert (r.json()["code"], r.json()["field"]) == ("invalid_value", "amount")
    assert await count(engine, "ledger_entries") == 0


async def test_only_an_admin_moves_money_and_statements_are_private(
        client: httpx.AsyncClient) -> None:
    lab = await account(client, "lab-7", "buyer")
    await account(client, "lab-8", "buyer")
    r = await client.post("/accounts/lab-7/deposits", headers=lab, json={"amount": "5"})
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = await client.get("/accounts/lab-8/statement", headers=lab)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    r = await client.post("/accounts/nobody/deposits", headers=ADMIN, json={"amount": "5"})
    assert (r.status_code, r.json()["field"]) == (404, "account_id")


async def test_a_bid_holds_its_largest_value_and_a_cancel_releases_it(
        client: httpx.AsyncClient, engine: Any) -> None:
    lab = await account(client, "lab-7", "buyer", funds="500")
    order = (await client.post("/bids", headers=lab, json=bid(value="120.5"))).json()
    balance = (await _statement(client, "lab-7"))["balance"]
    assert (balance["available"], balance["held"]) == ("379.5", "120.5")
    assert (await client.delete(f"/orders/{order['id']}", headers=lab)).status_code == 200
    doc = await _statement(client, "lab-7")
    assert (doc["balance"]["available"], doc["balance"]["held"]) == ("500", "0")
    assert [e["kind"] for e in doc["items"]] == ["release", "release", "hold", "hold",
                                                 "deposit"]
    await _ledger_ok(engine)


async def test_a_bid_the_balance_cannot_cover_is_refused_and_writes_nothing(
        client: httpx.AsyncClient, engine: Any) -> None:
    lab = await account(client, "lab-7", "buyer", funds="100")
    body = bid(value="60")
    body["alternatives"].append({**body["alternatives"][0], "value": "100.000001"})
    r = await client.post("/bids", headers=lab, json=body)
    assert r.status_code == 409
    problem = r.json()
    assert (problem["code"], problem["field"], problem["value"]) == (
        "insufficient_funds", "alternatives[1].value", "100.000001")
    assert await order_rows(engine) == (0, 0, 0)
    assert await count(engine, "ledger_entries") == 2  # the deposit alone
    assert (await _statement(client, "lab-7"))["balance"]["available"] == "100"


async def test_a_retry_of_a_placed_bid_holds_nothing_more(client: httpx.AsyncClient) -> None:
    lab = await account(client, "lab-7", "buyer", funds="100")
    first = await client.post("/bids", headers=lab, json=bid("same", value="70"))
    again = await client.post("/bids", headers=lab, json=bid("same", value="70"))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await _statement(client, "lab-7"))["balance"]["held"] == "70"
