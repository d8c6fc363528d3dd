"""Partitions by region group: pools, asks and bids go to the partition of their regions over
the API, a bid that could trade in two partitions is refused naming its leg, and two workers,
each clearing its own partition, clear every order in its own partition's auctions only."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from apihelp import ADMIN_KEY, account, ask, bid
from sqlalchemy import text

from gpux.domain.rounds import order_of
from gpux.entrypoints.worker import run_worker

MAP = ("americas:us-east,us-west,us-central;"
       "europe:eu-west,eu-central,ap-northeast,ap-southeast")


@pytest.fixture
async def partitioned(resources: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """(resources, client) of an app whose market has two partitions."""
    from gpux.entrypoints.api.app import create_app

    conf = resources.settings.model_copy(update={"partition_regions": MAP,
                                                 "admin_key": ADMIN_KEY})
    res = dataclasses.replace(resources, settings=conf)
    app = create_app(conf, res)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gpux.test") as c:
            yield res, c


async def _pool(client: httpx.AsyncClient, headers: dict[str, str], pool_id: str,
                region: str) -> dict[str, Any]:
    r = await client.post("/pools", headers=headers, json={
        "id": pool_id, "gpu": "H100", "region": region, "uptime": "99.9", "gpus": 8})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def _partition_of_orders(engine: Any) -> dict[str, str]:
    async with engine.connect() as conn:
        return {r[0]: r[1] for r in (await conn.execute(text(
            "SELECT client_order_id, partition FROM orders"))).all()}


async def test_pools_asks_and_bids_join_the_partition_of_their_regions(
        partitioned: tuple[Any, httpx.AsyncClient], engine: Any) -> None:
    _, client = partitioned
    acme = await account(client, "acme", "provider")
    lab = await account(client, "lab", "buyer")
    assert (await _pool(client, acme, "us-1", "us-east"))["partition"] == "americas"
    assert (await _pool(client, acme, "eu-1", "eu-west"))["partition"] == "europe"
    assert (await _pool(client, acme, "ap-1", "ap-northeast"))["partition"] == "europe"
    for pool_id in ("us-1", "eu-1"):
        r = await client.post("/asks", headers=acme, json=ask(f"a-{pool_id}", pool_id=pool_id))
        assert r.status_code == 201, r.text
    for body in (bid("b-us", regions=["us-east", "us-west"]), bid("b-eu", regions=["eu-west"]),
                 bid("b-eu-ap", regions=["eu-central", "ap-southeast"]),
                 bid("b-pool", pools=["eu-1", "ap-1"]),
                 # Only the named pool in an accepted region counts: us-1.
                 bid("b-pool-region", pools=["us-1", "eu-1"], regions=["us-east"])):
        r = await client.post("/bids", headers=lab, json=body)
        assert r.status_code == 201, r.text
    assert await _partition_of_orders(engine) == {
        "a-us-1": "americas", "a-eu-1": "europe", "b-us": "americas", "b-eu": "europe",
        "b-eu-ap": "europe", "b-pool": "europe", "b-pool-region": "americas"}


@pytest.mark.parametrize(("legs", "field", "value"), [
    ([{}], "alternatives[0].legs[0].regions", []),
    ([{"regions": ["us-east", "eu-west"]}], "alternatives[0].legs[0].regions",
     ["us-east", "eu-west"]),
    ([{"regions": ["us-east"]}, {"regions": ["eu-west"]}], "alternatives[0].legs[1].regions",
     ["eu-west"]),
    ([{"pools": ["us-1", "eu-1"]}], "alternatives[0].legs[0].pools", ["us-1", "eu-1"]),
])
async def test_a_bid_that_could_trade_in_two_partitions_is_refused_naming_its_leg(
        partitioned: tuple[Any, httpx.AsyncClient], engine: Any,
        legs: list[dict[str, Any]], field: str, value: list[str]) -> None:
    _, client = partitioned
    acme = await account(client, "acme", "provider")
    lab = await account(client, "lab", "buyer")
    await _pool(client, acme, "us-1", "us-east")
    await _pool(client, acme, "eu-1", "eu-west")
    body = bid("b-span")
    body["alternatives"][0]["legs"] = [{**body["alternatives"][0]["legs"][0], **leg}
                                       for leg in legs]
    r = await client.post("/bids", headers=lab, json=body)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert (problem["code"], problem["field"], problem["value"]) == (
        "spans_partitions", field, value)
    assert "americas" in problem["detail"] and "europe" in problem["detail"]
    assert await _partition_of_orders(engine) == {}


async def test_two_workers_clear_each_partition_in_its_own_auctions_and_orders_never_cross(
        partitioned: tuple[Any, httpx.AsyncClient], engine: Any) -> None:
    res, client = partitioned
    acme = await account(client, "acme", "provider")
    lab = await account(client, "lab", "buyer")
    for pool_id, region in (("us-1", "us-east"), ("eu-1", "eu-west")):
        await _pool(client, acme, pool_id, region)
        r = await client.post("/asks", headers=acme, json=ask(
            f"a-{pool_id}", pool_id=pool_id, gpus=8, price="1"))
        assert r.status_code == 201, r.text
    # Each bid's filter lets it use only its partition's pool; H100 everywhere, ample value.
    for cid, regions in (("b-us-1", ["us-east"]), ("b-us-2", ["us-east", "us-central"]),
                         ("b-eu-1", ["eu-west"]), ("b-eu-2", ["eu-west", "ap-southeast"])):
        r = await client.post("/bids", headers=lab, json=bid(cid, gpus=4, regions=regions))
        assert r.status_code == 201, r.text

    stop = asyncio.Event()
    workers = [asyncio.create_task(run_worker(res, stop=stop, name=name, partitions=[part]))
               for name, part in (("A", "americas"), ("B", "europe"))]
    try:
        deadline = time.monotonic() + 90
        while await _open_bids(engine):
            assert time.monotonic() < deadline, "timed out waiting for every bid to fill"
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.gather(*workers)

    async with engine.connect() as conn:
        auctions = (await conn.execute(text(
            "SELECT id, partition, book FROM auctions WHERE status = 'cleared'"))).all()
        order_part = {r[0]: r[1] for r in (await conn.execute(text(
            "SELECT id, partition FROM orders"))).all()}
        pool_part = {r[0]: r[1] for r in (await conn.execute(text(
            "SELECT id, partition FROM pools"))).all()}
        fills = (await conn.execute(text(
            "SELECT f.order_id, f.pool_id, a.partition FROM fills f "
            "JOIN auctions a ON a.id = f.auction_id"))).all()
    assert {a.partition for a in auctions} == {"americas", "europe"}
    for a in auctions:
        # Each auction's book holds its own partition's pools and orders alone.
        assert {p["region"] for p in a.book["pools"]} <= (
            {"us-east"} if a.partition == "americas" else {"eu-west"})
        for doc in [*a.book["bids"], *a.book["asks"]]:
            assert order_part[order_of(str(doc["id"]))] == a.partition
    assert len({f.order_id for f in fills}) == 6  # four bids and both asks traded
    for f in fills:
        assert order_part[f.order_id] == pool_part[f.pool_id] == f.partition


async def _open_bids(engine: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(
            "SELECT count(*) FROM orders WHERE side = 'bid' AND status = 'open'"))).scalar_one())
