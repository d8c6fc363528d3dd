"""Orders placed at the same moment: asks cannot together oversell their pool, bids cannot
together pass the open-order cap."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from apihelp import account, ask, bid, count, pool
from sqlalchemy import text


async def test_two_concurrent_asks_that_would_oversell_are_not_both_accepted(
        client: httpx.AsyncClient, engine: Any) -> None:
    prov = await account(client, "acme", "provider")
    await pool(client, prov, "p1", gpus=8)
    for round_ in range(5):
        bodies = [ask(f"r{round_}-{i}", gpus=5, start=round_ * 30, end=round_ * 30 + 24)
                  for i in range(2)]
        answers = await asyncio.gather(*(client.post("/asks", headers=prov, json=b)
                                         for b in bodies))
        assert sorted(r.status_code for r in answers) == [201, 409]
    assert await count(engine, "orders") == 5


async def test_concurrent_asks_from_two_providers_on_their_own_pools_all_pass(
        client: httpx.AsyncClient, engine: Any) -> None:
    a = await account(client, "acme", "provider")
    b = await account(client, "bolt", "provider")
    await pool(client, a, "pa", gpus=8)
    await pool(client, b, "pb", gpus=8)
    answers = await asyncio.gather(
        *(client.post("/asks", headers=h, json=ask(f"x{i}", pool_id=p, gpus=2))
          for i in range(4) for h, p in ((a, "pa"), (b, "pb"))))
    assert [r.status_code for r in answers] == [201] * 8
    assert await count(engine, "orders") == 8


async def _open_counts(engine: Any) -> dict[str, tuple[int, int]]:
    """Per account: (the counter on its balances row, its orders in status 'open')."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text("""
            SELECT b.account_id, b.open_orders,
                   (SELECT count(*) FROM orders o
                    WHERE o.account_id = b.account_id AND o.status = 'open') AS actual
            FROM balances b WHERE b.account_id NOT LIKE '%:%'"""))).all()
    return {r.account_id: (r.open_orders, r.actual) for r in rows}


async def test_concurrent_bids_never_pass_the_open_order_cap_together(
        client: httpx.AsyncClient, engine: Any, app: Any) -> None:
    from dataclasses import replace

    svc = app.state.services
    svc.orders._limits = replace(svc.orders._limits, max_open_orders=5)
    buyer = await account(client, "lab", "buyer")
    answers = await asyncio.gather(*(client.post("/bids", headers=buyer, json=bid(f"c{i}"))
                                     for i in range(16)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] * 5 + [409] * 11
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {
        "too_many_open_orders"}
    assert await count(engine, "orders") == 5
    assert (await _open_counts(engine))["lab"] == (5, 5)


async def test_the_open_order_count_follows_every_order_in_and_out_of_the_book(
        client: httpx.AsyncClient, engine: Any) -> None:
    buyer = await account(client, "lab", "buyer")
    prov = await account(client, "acme", "provider")
    await pool(client, prov, "p1", gpus=8)
    placed = [await client.post("/bids", headers=buyer, json=bid(f"b{i}")) for i in range(4)]
    await client.post("/asks", headers=prov, json=ask("a1", gpus=2))
    await client.post("/asks", headers=prov, json=ask("a2", gpus=2))
    assert await _open_counts(engine) == {"lab": (4, 4), "acme": (2, 2)}
    await client.delete(f"/orders/{placed[0].json()['id']}", headers=buyer)
    async with engine.begin() as conn:  # as a round closes orders: filled and expired
        await conn.execute(text("UPDATE orders SET status = 'filled' WHERE id = :o"),
                           {"o": placed[1].json()["id"]})
        await conn.execute(text(
            "UPDATE orders SET status = 'expired' WHERE side = 'ask' AND client_order_id = 'a1'"))
    assert await _open_counts(engine) == {"lab": (2, 2), "acme": (1, 1)}
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM bid_legs"))
        await conn.execute(text("DELETE FROM bid_alternatives"))
        await conn.execute(text("DELETE FROM orders WHERE side = 'bid' AND status = 'open'"))
    assert await _open_counts(engine) == {"lab": (0, 0), "acme": (1, 1)}


async def test_concurrent_asks_never_pass_the_open_order_cap_together(
        client: httpx.AsyncClient, engine: Any, app: Any) -> None:
    from dataclasses import replace

    svc = app.state.services
    svc.orders._limits = replace(svc.orders._limits, max_open_orders=5)
    prov = await account(client, "acme", "provider")
    await pool(client, prov, "p1", gpus=64)
    answers = await asyncio.gather(*(client.post("/asks", headers=prov,
                                                 json=ask(f"a{i}", gpus=1))
                                     for i in range(16)))
    assert sorted(r.status_code for r in answers) == [201] * 5 + [409] * 11
    assert {r.json()["code"] for r in answers if r.status_code == 409} == {
        "too_many_open_orders"}
    assert (await _open_counts(engine))["acme"] == (5, 5)
