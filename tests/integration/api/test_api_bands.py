"""Price bands: orders priced outside the band around their GPU model's latest price index
are refused (code, field, nothing written); with no index there is no band."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from apihelp import account, ask, bid, order_rows, pool
from sqlalchemy import insert

from gpux.adapters.postgres.tables import auctions, price_index


@pytest.fixture
async def banded(resources: Any) -> AsyncIterator[httpx.AsyncClient]:
    from gpux.entrypoints.api.app import create_app

    conf = resources.settings.model_copy(update={"price_band_pct": Decimal("20")})
    res = type(resources)(conf, resources.database_url, resources.redis_url,
                          resources.engine, resources.redis)
    app = create_app(conf, res)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gpux.test") as c:
            yield c


async def _index(engine: Any, gpu: str, price: str) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        auction_id = (await conn.execute(insert(auctions).values(
            partition="main", cutoff=now, horizon_start=now.replace(minute=0, second=0,
                                                                    microsecond=0),
            slots=1, status="cleared", book={}, bids=0, asks=0).returning(auctions.c.id)
        )).scalar_one()
        await conn.execute(insert(price_index).values(
            auction_id=auction_id, gpu=gpu, price=Decimal(price), gpu_hours=1))


async def test_without_an_index_any_price_goes_in(banded: httpx.AsyncClient) -> None:
    lab = await account(banded, "lab-7", "buyer")
    assert (await banded.post("/bids", headers=lab, json=bid(value="1600"))).status_code == 201


async def test_bids_and_asks_outside_the_band_are_refused(banded: httpx.AsyncClient,
                                                          engine: Any) -> None:
    lab = await account(banded, "lab-7", "buyer")
    prov = await account(banded, "acme", "provider")
    await pool(banded, prov, "p1")
    await _index(engine, "H100", "2.00")
    # 4 GPUs x 4 hours = 16 GPU-hours; the band is 1.60 .. 2.40 per GPU-hour.
    r = await banded.post("/bids", headers=lab, json=bid(value="40"))
    assert r.status_code == 422
    assert (r.json()["code"], r.json()["field"], r.json()["value"]) == (
        "price_out_of_band", "alternatives[0].value", "2.5")
    r = await banded.post("/asks", headers=prov, json=ask(price="1.5"))
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (
        422, "price_out_of_band", "price")
    assert await order_rows(engine) == (0, 0, 0)
    assert (await banded.post("/bids", headers=lab, json=bid(value="38.4"))).status_code == 201
    assert (await banded.post("/asks", headers=prov, json=ask(price="1.6"))).status_code == 201
