"""The kill switches over the API: an account's and the market's halt cancel open orders
(releasing their holds), refuse new ones, survive a new app, and stop the worker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from apihelp import ADMIN, account, ask, bid, count, pool

from gpux.adapters.postgres.ledger import ledger_problems


async def _held(client: httpx.AsyncClient, who: str) -> str:
    r = await client.get(f"/accounts/{who}/statement", headers=ADMIN)
    return str(r.json()["balance"]["held"])


async def test_an_account_halts_itself_cancelling_its_orders_until_an_admin_resumes_it(
        client: httpx.AsyncClient, engine: Any) -> None:
    lab = await account(client, "lab-7", "buyer")
    other = await account(client, "lab-8", "buyer")
    mine = (await client.post("/bids", headers=lab, json=bid("b1"))).json()["id"]
    theirs = (await client.post("/bids", headers=other, json=bid("b1"))).json()["id"]
    r = await client.post("/accounts/lab-7/halt", headers=lab)
    assert r.status_code == 200
    assert r.json() == {"halted": True, "cancelled": [mine], "cancel_pending": []}
    assert (await client.get(f"/orders/{mine}", headers=lab)).json()["status"] == "cancelled"
    assert (await client.get(f"/orders/{theirs}", headers=other)).json()["status"] == "open"
    assert await _held(client, "lab-7") == "0"
    r = await client.post("/bids", headers=lab, json=bid("b2"))
    assert (r.status_code, r.json()["code"]) == (403, "account_halted")
    r = await client.post("/accounts/lab-7/resume", headers=lab)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = await client.post("/accounts/lab-8/halt", headers=lab)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    assert (await client.post("/accounts/lab-7/resume", headers=ADMIN)).status_code == 200
    assert (await client.post("/bids", headers=lab, json=bid("b2"))).status_code == 201
    async with engine.connect() as conn:
        assert await ledger_problems(conn) == []


async def test_a_market_halt_cancels_everything_refuses_orders_and_survives_a_new_app(
        client: httpx.AsyncClient, engine: Any, resources: Any) -> None:
    from gpux.entrypoints.api.app import create_app
    from gpux.entrypoints.worker import rounds_of

    lab = await account(client, "lab-7", "buyer")
    prov = await account(client, "acme", "provider")
    await pool(client, prov, "p1")
    await client.post("/bids", headers=lab, json=bid("b1"))
    await client.post("/asks", headers=prov, json=ask("a1"))
    r = await client.post("/market/halt", headers=lab)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = await client.post("/market/halt", headers=ADMIN)
    assert r.status_code == 200 and len(r.json()["cancelled"]) == 2
    assert await _held(client, "lab-7") == "0"

    fresh = create_app(resources.settings, resources)
    async with fresh.router.lifespan_context(fresh):
        transport = httpx.ASGITransport(app=fresh)
        async with httpx.AsyncClient(transport=transport, base_url="http://gpux.test") as c2:
            assert (await c2.get("/market")).json() == {"halted": True}
            r = await c2.post("/bids", headers=lab, json=bid("b2"))
            assert (r.status_code, r.json()["code"]) == (409, "market_halted")
            r = await c2.post("/asks", headers=prov, json=ask("a2"))
            assert (r.status_code, r.json()["code"]) == (409, "market_halted")

    outcomes = await rounds_of(resources).clear_round(datetime.now(UTC))
    assert [o.status for o in outcomes] == ["halted"]
    assert await count(engine, "auctions") == 0

    assert (await client.post("/market/resume", headers=ADMIN)).status_code == 200
    assert (await client.post("/bids", headers=lab, json=bid("b2"))).status_code == 201
    assert (await client.get("/market")).json() == {"halted": False}
