"""Deposits and withdrawals under a reference: a repeat (even a concurrent one) moves nothing
and says so; a reference reused for another amount is refused, writing nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from apihelp import ADMIN, account, count

from gpux.adapters.postgres.ledger import ledger_problems


async def _available(client: httpx.AsyncClient, who: str) -> str:
    r = await client.get(f"/accounts/{who}/statement", headers=ADMIN)
    return str(r.json()["balance"]["available"])


async def _move(client: httpx.AsyncClient, kind: str, amount: str,
                reference: str | None) -> httpx.Response:
    body: dict[str, Any] = {"amount": amount}
    if reference is not None:
        body["reference"] = reference
    return await client.post(f"/accounts/lab-7/{kind}", headers=ADMIN, json=body)


async def test_a_repeated_deposit_under_its_reference_moves_the_money_once(
        client: httpx.AsyncClient, engine: Any) -> None:
    await account(client, "lab-7", "buyer", funds=None)
    first = await _move(client, "deposits", "250", "wire-0042")
    again = await _move(client, "deposits", "250", "wire-0042")
    assert (first.status_code, again.status_code) == (201, 201)
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert first.json() == again.json() == {"account_id": "lab-7", "available": "250",
                                            "held": "0"}
    # Without a reference every request is a new deposit.
    await _move(client, "deposits", "1", None)
    await _move(client, "deposits", "1", None)
    assert await _available(client, "lab-7") == "252"
    assert await count(engine, "transfers") == 1
    async with engine.connect() as conn:
        assert await ledger_problems(conn) == []


async def test_a_reference_reused_for_another_amount_is_refused_and_writes_nothing(
        client: httpx.AsyncClient, engine: Any) -> None:
    await account(client, "lab-7", "buyer", funds=None)
    await _move(client, "deposits", "250", "wire-0042")
    entries = await count(engine, "ledger_entries")
    r = await _move(client, "deposits", "25", "wire-0042")
    assert r.status_code == 409
    assert (r.json()["code"], r.json()["field"], r.json()["value"]) == (
        "reference_reused", "reference", "wire-0042")
    assert await count(engine, "ledger_entries") == entries
    assert await _available(client, "lab-7") == "250"
    # A withdrawal is another kind of transfer: it may carry the same reference.
    r = await _move(client, "withdrawals", "50", "wire-0042")
    assert r.status_code == 201 and r.json()["available"] == "200"


async def test_concurrent_repeats_of_one_deposit_move_the_money_once(
        client: httpx.AsyncClient, engine: Any) -> None:
    await account(client, "lab-7", "buyer", funds=None)
    answers = await asyncio.gather(*(_move(client, "deposits", "10", "wire-7")
                                     for _ in range(6)))
    assert [r.status_code for r in answers] == [201] * 6
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == 5
    assert await _available(client, "lab-7") == "10"
    assert await count(engine, "transfers") == 1


async def test_a_refused_withdrawal_leaves_its_reference_free_for_the_retry(
        client: httpx.AsyncClient, engine: Any) -> None:
    await account(client, "lab-7", "buyer", funds=None)
    r = await _move(client, "withdrawals", "30", "payout-1")
    assert (r.status_code, r.json()["code"]) == (409, "insufficient_funds")
    assert await count(engine, "transfers") == 0
    await _move(client, "deposits", "100", "wire-1")
    r = await _move(client, "withdrawals", "30", "payout-1")
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    assert await _available(client, "lab-7") == "70"


async def test_a_reference_must_be_a_short_plain_id(client: httpx.AsyncClient,
                                                     engine: Any) -> None:
    await account(client, "lab-7", "buyer", funds=None)
    for bad in ("", "has space", "x" * 65):
        r = await _move(client, "deposits", "10", bad)
        assert r.status_code == 422, bad
        assert r.json()["field"] == "reference"
    assert await count(engine, "ledger_entries") == 0
