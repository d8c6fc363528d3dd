"""Helpers for the API tests: accounts with keys, pools, order bodies, row counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

ADMIN_KEY = "gpux_test_admin_key"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def hour(offset_hours: int) -> str:
    """A whole UTC hour `offset_hours` from the next one, as ISO 8601."""
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return (base + timedelta(hours=offset_hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


FUNDS = "1000000"


async def account(client: httpx.AsyncClient, account_id: str, role: str,
                  funds: str | None = FUNDS) -> dict[str, str]:
    """Create an account and a key for it; the headers that authenticate as it. Buyers get
    `funds` deposited (and admins), so their bids can be held."""
    r = await client.post("/accounts", headers=ADMIN,
                          json={"id": account_id, "name": account_id.title(), "role": role})
    assert r.status_code == 201, r.text
    r = await client.post(f"/accounts/{account_id}/keys", headers=ADMIN)
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {r.json()['key']}"}
    if funds is not None and role in ("buyer", "admin"):
        r = await client.post(f"/accounts/{account_id}/deposits", headers=ADMIN,
                              json={"amount": funds})
        assert r.status_code == 201, r.text
    return headers


async def pool(client: httpx.AsyncClient, headers: dict[str, str], pool_id: str,
               gpus: int = 8, gpu: str = "H100") -> None:
    r = await client.post("/pools", headers=headers, json={
        "id": pool_id, "gpu": gpu, "region": "us-east", "uptime": "99.9", "gpus": gpus})
    assert r.status_code == 201, r.text


def bid(client_order_id: str = "b-1", *, gpus: int = 4, hours: int = 4,
        value: Any = "100.50", start: int = 0, end: int = 24, **leg: Any) -> dict[str, Any]:
    return {"client_order_id": client_order_id, "alternatives": [{
        "value": value, "earliest_start": hour(start), "latest_end": hour(end),
        "legs": [{"gpus": gpus, "duration_hours": hours, "gpu": ["H100"], **leg}]}]}


def ask(client_order_id: str = "a-1", *, pool_id: str = "p1", gpus: int = 4,
        start: int = 0, end: int = 24, price: Any = "1.85") -> dict[str, Any]:
    return {"client_order_id": client_order_id, "pool": pool_id, "gpus": gpus,
            "starts_at": hour(start), "ends_at": hour(end), "price": price}


async def count(engine: Any, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def order_rows(engine: Any) -> tuple[int, int, int]:
    """Rows in orders, bid_alternatives and bid_legs."""
    return (await count(engine, "orders"), await count(engine, "bid_alternatives"),
            await count(engine, "bid_legs"))
