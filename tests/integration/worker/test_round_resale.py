"""Resale through real rounds: an offered piece sells, the contract splits, the reseller is
paid, the provider owes the same GPU-hours; chains of three holders keep every GPU-hour with
exactly one live contract; the book never offers more of a pool than it has."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from orderrows import HOUR, Alt, Leg, add_account, add_ask, add_bid, add_pool, rows, this_hour
from sqlalchemy import select

from gpux.adapters.postgres.ledger import ledger_problems
from gpux.adapters.postgres.tables import auctions, balances, contracts, fills, orders
from gpux.domain.accounts import Account
from gpux.domain.errors import PoolOversold
from gpux.domain.orders import AskOrder
from gpux.domain.resale import ResaleOffer

H0 = this_hour()
FEE_BPS = 100


@pytest.fixture
async def svc(resources: Any) -> AsyncIterator[Any]:
    from gpux.entrypoints.api.deps import build_services

    services = build_services(resources)
    yield services
    await services.entry.close()
    await services.engine.dispose()


@pytest.fixture
def settings(settings: Any) -> Any:
    return settings.model_copy(update={"fee_bps": FEE_BPS})


@pytest.fixture
def rounds(resources: Any) -> Any:
    from gpux.entrypoints.worker import rounds_of

    return rounds_of(resources)


async def _round(rounds: Any) -> None:
    outcomes = await rounds.clear_round(datetime.now(UTC))
    assert outcomes[-1].status == "cleared", outcomes


def _hours(start: datetime, end: datetime) -> list[datetime]:
    return [start + k * HOUR for k in range(int((end - start) / HOUR))]


async def _live(engine: Any, *where: Any) -> list[Any]:
    return await rows(engine, contracts, contracts.c.superseded_at.is_(None), *where)


def _per_hour(items: list[Any]) -> dict[datetime, int]:
    out: dict[datetime, int] = defaultdict(int)
    for c in items:
        for t in _hours(c.starts_at, c.ends_at):
            out[t] += c.gpus
    return dict(out)


async def _provider_sold(engine: Any, pool: str) -> dict[datetime, int]:
    """GPUs per hour the pool's provider sold: fills of asks that resell nothing."""
    async with engine.connect() as conn:
        sold = list(await conn.execute(
            select(fills).join(orders, orders.c.id == fills.c.order_id)
            .where(fills.c.side == "ask", fills.c.pool_id == pool,
                   orders.c.contract_id.is_(None))))
    return _per_hour(sold)


async def _owned_once(engine: Any, root_id: int) -> dict[datetime, list[str]]:
    """Every GPU-hour of contract `root_id`: the holders of the live contracts descended from
    it, one entry per GPU; asserts no live contract descends from a live one."""
    every = {c.id: c for c in await rows(engine, contracts)}
    children: dict[int, list[int]] = defaultdict(list)
    for c in every.values():
        if c.parent_id is not None:
            children[c.parent_id].append(c.id)
    owners: dict[datetime, list[str]] = defaultdict(list)
    stack = [root_id]
    while stack:
        c = every[stack.pop()]
        if c.superseded_at is None:
            assert not children[c.id], f"live contract {c.id} has children"
            for t in _hours(c.starts_at, c.ends_at):
                owners[t] += [c.holder_id] * c.gpus
        else:
            assert children[c.id], f"superseded contract {c.id} has no pieces"
            stack += children[c.id]
    return dict(owners)


async def _book_supply(engine: Any) -> list[int]:
    """GPUs the asks of every stored book offer, per auction, pool and slot."""
    offered: dict[tuple[int, str, int], int] = defaultdict(int)
    for auction in await rows(engine, auctions):
        for a in auction.book["asks"]:
            for t in range(a["start"], a["end"]):
                offered[auction.id, a["pool"], t] += a["gpus"]
    return list(offered.values())


async def _available(engine: Any, account: str) -> Decimal:
    async with engine.connect() as conn:
        return Decimal((await conn.execute(select(balances.c.available).where(
            balances.c.account_id == account))).scalar_one())


async def _setup(engine: Any, *, pool_gpus: int = 4) -> None:
    async with engine.begin() as conn:
        await add_account(conn, "acme", "provider")
        for who in ("ann", "bob", "cat"):
            await add_account(conn, who, "buyer")
        await add_pool(conn, "p1", "acme", gpus=pool_gpus)
        await add_ask(conn, "acme", "p1", gpus=4, price="1", starts_at=H0 + HOUR,
                      ends_at=H0 + 12 * HOUR)


async def _bid(engine: Any, who: str, gpus: int, start: int, end: int,
               value: str = "200") -> int:
    async with engine.begin() as conn:
        return await add_bid(conn, who, Alt(Decimal(value), H0 + start * HOUR,
                                            H0 + end * HOUR, (Leg(gpus, end - start),)))


async def _offer(svc: Any, who: str, contract_id: int, gpus: int, start: int, end: int,
                 price: str = "1.5") -> int:
    placed = await svc.resale.offer(Account(who, who, "buyer"), ResaleOffer(
        f"{who}-{contract_id}-{start}", contract_id, gpus, H0 + start * HOUR, H0 + end * HOUR,
        Decimal(price)))
    return int(placed.order.id)


async def test_a_resold_piece_goes_to_its_buyer_and_the_reseller_is_paid(
        engine: Any, svc: Any, rounds: Any) -> None:
    await _setup(engine)
    await _bid(engine, "ann", 4, 2, 10)
    await _round(rounds)
    (root,) = await _live(engine)
    owed = _per_hour(await _live(engine))
    offer = await _offer(svc, "ann", root.id, 2, 4, 8)
    ann_before = await _available(engine, "ann")
    bob_bid = await _bid(engine, "bob", 2, 4, 8)
    await _round(rounds)

    (bought,) = await _live(engine, contracts.c.holder_id == "bob")
    assert (bought.gpus, bought.starts_at, bought.ends_at, bought.provider_id) == (
        2, H0 + 4 * HOUR, H0 + 8 * HOUR, "acme")
    offered = (await rows(engine, contracts, contracts.c.id == bought.parent_id))[0]
    assert (offered.offer_id, offered.parent_id, offered.superseded_at is not None) == (
        offer, root.id, True)
    (bob_fill,) = await rows(engine, fills, fills.c.order_id == bob_bid)
    (ann_fill,) = await rows(engine, fills, fills.c.order_id == offer)
    assert bought.fill_id == bob_fill.id and bought.price == bob_fill.amount
    assert ann_fill.account_id == "ann" and ann_fill.amount == bob_fill.amount
    fee = (ann_fill.amount * FEE_BPS / 10000).quantize(Decimal("0.000001"), "ROUND_FLOOR")
    assert await _available(engine, "ann") == ann_before + ann_fill.amount - fee
    # The provider owes exactly what it owed, and sold nothing more.
    assert _per_hour(await _live(engine)) == owed == await _provider_sold(engine, "p1")
    assert {c.provider_id for c in await _live(engine)} == {"acme"}
    owners = await _owned_once(engine, root.id)
    assert {t: sorted(o) for t, o in owners.items()} == {
        t: (["ann", "ann", "bob", "bob"] if H0 + 4 * HOUR <= t < H0 + 8 * HOUR
            else ["ann"] * 4) for t in _hours(H0 + 2 * HOUR, H0 + 10 * HOUR)}
    statuses = {o.id: o.status for o in await rows(engine, orders)}
    assert (statuses[offer], statuses[bob_bid]) == ("filled", "filled")
    async with engine.connect() as conn:
        assert await ledger_problems(conn) == []


async def test_resale_chains_of_three_holders_keep_every_gpu_hour_with_one_holder(
        engine: Any, svc: Any, rounds: Any) -> None:
    await _setup(engine)
    await _bid(engine, "ann", 4, 2, 10)
    await _round(rounds)
    (root,) = await _live(engine)
    span = _hours(H0 + 2 * HOUR, H0 + 10 * HOUR)

    async def check(expected: dict[str, int]) -> None:
        owners = await _owned_once(engine, root.id)
        assert sorted(owners) == span and all(len(o) == 4 for o in owners.values())
        gpu_hours: dict[str, int] = defaultdict(int)
        for o in owners.values():
            for holder in o:
                gpu_hours[holder] += 1
        assert dict(gpu_hours) == expected
        assert _per_hour(await _live(engine)) == await _provider_sold(engine, "p1")
        assert max(await _book_supply(engine), default=0) <= 4
        async with engine.connect() as conn:
            assert await ledger_problems(conn) == []

    await check({"ann": 32})
    await _offer(svc, "ann", root.id, 2, 3, 9)        # 12 GPU-hours on offer
    await _bid(engine, "bob", 2, 4, 8)                # buys 8 of them
    await _round(rounds)
    await check({"ann": 24, "bob": 8})
    (bobs,) = await _live(engine, contracts.c.holder_id == "bob")
    await _offer(svc, "bob", bobs.id, 1, 5, 7)
    await _bid(engine, "cat", 1, 5, 7)                # only bob's offer has hours 5-7 left
    await _round(rounds)
    await check({"ann": 24, "bob": 6, "cat": 2})
    (cats,) = await _live(engine, contracts.c.holder_id == "cat")
    lineage = []
    c = cats
    while c.parent_id is not None:
        c = (await rows(engine, contracts, contracts.c.id == c.parent_id))[0]
        lineage.append(c.holder_id)
    # bob's offered piece, the piece bob bought, ann's offered piece, ann's contract.
    assert lineage == ["bob", "bob", "ann", "ann"] and c.id == root.id
    # What is left of ann's offer (hours 3 and 8) sells too; still one holder per GPU-hour.
    await _bid(engine, "cat", 2, 8, 9, value="300")
    await _round(rounds)
    await check({"ann": 22, "bob": 6, "cat": 4})


async def test_the_book_never_offers_more_of_a_pool_than_it_has_in_any_hour(
        engine: Any, svc: Any, rounds: Any) -> None:
    await _setup(engine)
    await _bid(engine, "ann", 4, 2, 6)
    await _round(rounds)
    (root,) = await _live(engine)
    # The provider's first ask sold hours 2-6 out; a new ask cannot sell them again, even
    # once the holder offers them back.
    async with engine.begin() as conn:
        await conn.execute(orders.update().where(orders.c.side == "ask")
                           .values(status="cancelled"))
    await _offer(svc, "ann", root.id, 4, 2, 6)
    acme = Account("acme", "Acme", "provider")
    with pytest.raises(PoolOversold):
        await svc.orders.place_ask(acme, AskOrder("a-2", "p1", 1, H0 + 2 * HOUR,
                                                  H0 + 12 * HOUR, Decimal(1)))
    await svc.orders.place_ask(acme, AskOrder("a-3", "p1", 4, H0 + 6 * HOUR, H0 + 12 * HOUR,
                                              Decimal(1)))
    await _bid(engine, "bob", 4, 2, 12, value="400")
    await _round(rounds)
    (book,) = [a.book for a in await rows(engine, auctions) if a.id == 2]
    assert {a["seller"] for a in book["asks"]} == {"acme", "ann"}
    assert max(await _book_supply(engine)) <= 4
    assert max(_per_hour(await _live(engine)).values()) <= 4
    assert {c.holder_id for c in await _live(engine)} == {"bob"}
    async with engine.connect() as conn:
        assert await ledger_problems(conn) == []


async def test_an_unsold_offer_expires_when_its_first_hour_starts_and_is_unmarked(
        engine: Any, svc: Any, rounds: Any) -> None:
    await _setup(engine)
    await _bid(engine, "ann", 4, 2, 10)
    await _round(rounds)
    (root,) = await _live(engine)
    offer = await _offer(svc, "ann", root.id, 4, 2, 10, price="50")
    await _round(rounds)  # nobody buys at 50
    assert {o.id: o.status for o in await rows(engine, orders)}[offer] == "open"
    outcomes = await rounds.clear_round(H0 + 2 * HOUR)  # the offer's first hour has begun
    assert outcomes[-1].status == "cleared"
    assert {o.id: o.status for o in await rows(engine, orders)}[offer] == "expired"
    page = await svc.market.contracts(Account("ann", "Ann", "buyer"))
    assert [(c.id, c.offer_id) for c in page.items] == [(root.id, None)]


async def test_concurrent_offers_of_one_contract_never_offer_a_gpu_hour_twice(
        engine: Any, svc: Any, rounds: Any) -> None:
    import asyncio

    from gpux.domain.errors import ContractSuperseded, OfferExceedsContract

    await _setup(engine)
    await _bid(engine, "ann", 4, 2, 10)
    await _round(rounds)
    (root,) = await _live(engine)
    ann = Account("ann", "Ann", "buyer")
    outcomes = await asyncio.gather(*(svc.resale.offer(ann, ResaleOffer(
        f"c{k}", root.id, 3, H0 + 3 * HOUR, H0 + 9 * HOUR, Decimal(2))) for k in range(4)),
        return_exceptions=True)
    placed = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(placed) == 1, outcomes
    assert all(isinstance(e, ContractSuperseded | OfferExceedsContract) for e in refused)
    marked = await _live(engine, contracts.c.offer_id.is_not(None))
    assert [(c.gpus, c.offer_id) for c in marked] == [(3, placed[0].order.id)]


async def test_a_holders_own_bid_never_buys_its_own_offer(
        engine: Any, svc: Any, rounds: Any) -> None:
    await _setup(engine)
    await _bid(engine, "ann", 4, 2, 10)
    await _round(rounds)
    (root,) = await _live(engine)
    offer = await _offer(svc, "ann", root.id, 4, 2, 10, price="1")
    own = await _bid(engine, "ann", 2, 4, 6, value="500")
    await _round(rounds)
    statuses = {o.id: o.status for o in await rows(engine, orders)}
    assert (statuses[offer], statuses[own]) == ("open", "open")
    assert [c.id for c in await _live(engine)] == [root.id]
