"""Asks placed at the same moment cannot together oversell their pool."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from apihelp import account, ask, count, pool


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
