"""What the `RoundStore` port promises, held against the in-memory fake and PostgreSQL alike:
one auction per partition and cutoff, open orders as a round may freeze them, closing and
freezing orders, a commit that happens once or not at all, what a restarted worker resumes,
the kill switch, and the resale pieces a commit splits."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

import asyncpg
import pytest
from sqlalchemy.exc import IntegrityError
from storeworld import H0, HOUR, OrderView, World

from fakes.fake_ledger import NegativeBalance
from fakes.fake_rounds import ConstraintViolation
from gpux.domain import ledger as rules
from gpux.domain.ledger import Hold
from gpux.domain.orders import BidLeg
from gpux.domain.resale import NewContract, Piece
from gpux.domain.resale_round import Split
from gpux.domain.rounds import (
    Fill,
    Horizon,
    IndexRow,
    OpenAlternative,
    OpenAsk,
    OpenBid,
    OpenPool,
    PriceRow,
    SoldRange,
    freeze_round,
)
from gpux.service.round_ports import AuctionSummary, Event, StoredAuction

POOL = OpenPool("acme-h100", "acme", "H100", "us-east", Decimal("99.9"))
EU_POOL = OpenPool("acme-eu", "acme", "H100", "eu-west", Decimal("99.9"))
SLOTS = 48


def _alt(value: str, gpus: int = 4, hours: int = 3, start: datetime = H0 + 3 * HOUR,
         end: datetime = H0 + 30 * HOUR) -> OpenAlternative:
    return OpenAlternative(Decimal(value), start, end, (BidLeg(gpus, hours),))


async def _market(world: World) -> tuple[int, int, int]:
    """acme asks 8 GPUs of its pool for two days; alice bids 100, bob 1 for 4 GPUs x 3 h."""
    await world.add_account("acme", "provider")
    await world.add_account("alice", "buyer")
    await world.add_account("bob", "buyer")
    await world.add_pool(POOL)
    ask = await world.add_ask("acme", POOL.id, gpus=8, price="2", starts_at=H0 - HOUR,
                              ends_at=H0 + 48 * HOUR)
    alice = await world.add_bid("alice", _alt("100"))
    bob = await world.add_bid("bob", _alt("1"))
    return ask, alice, bob


async def _freeze(world: World, cutoff: datetime = H0, partition: str = "main") -> int:
    """Freeze what is open at `cutoff` as a round does; the new auction's id."""
    async with world.store.freezing() as tx:
        orders = await tx.open_orders(partition, cutoff)
        frozen = freeze_round(Horizon.after(cutoff, SLOTS), orders.pools, orders.bids,
                              orders.asks)
        auction_id = await tx.store_auction(partition, cutoff, frozen)
        assert auction_id is not None
        await tx.mark_frozen(frozen.in_book, auction_id)
    return auction_id


def _fills(ask: int, bid: int) -> list[Fill]:
    start, end = H0 + 3 * HOUR, H0 + 6 * HOUR
    return [Fill(bid, "alice", "bid", POOL.id, start, end, 4, Decimal("24.000000"), 0, 0),
            Fill(ask, "acme", "ask", POOL.id, start, end, 4, Decimal("24.000000"))]


def _summary(surplus: str = "76") -> AuctionSummary:
    return AuctionSummary({"status": "optimal"}, "optimal", Decimal(surplus), Decimal(surplus),
                          12, 0.25)


# -- freezing ------------------------------------------------------------------------------


async def test_a_partition_stores_one_auction_per_cutoff_and_none_for_a_cutoff_it_has(
        world: World) -> None:
    await _market(world)
    await world.add_pool(EU_POOL, partition="eu")
    async with world.store.freezing() as tx:
        orders = await tx.open_orders("main", H0)
        frozen = freeze_round(Horizon.after(H0, SLOTS), orders.pools, orders.bids, orders.asks)
        first = await tx.store_auction("main", H0, frozen)
    async with world.store.freezing() as tx:
        again = await tx.store_auction("main", H0, frozen)
        other = await tx.store_auction("eu", H0, frozen)
        later = await tx.store_auction("main", H0 + HOUR, frozen)
    assert first is not None and other is not None and later is not None
    assert again is None
    assert len({first, other, later}) == 3
    stored = await world.store.frozen_auctions("main")
    assert stored == [StoredAuction(first, "main", H0, frozen.book),
                      StoredAuction(later, "main", H0 + HOUR, frozen.book)]
    assert [(a.id, a.status) for a in await world.auctions()] == [
        (first, "frozen"), (other, "frozen"), (later, "frozen")]


async def test_open_orders_are_the_partitions_open_unfrozen_orders_placed_by_the_cutoff(
        world: World) -> None:
    ask, alice, bob = await _market(world)
    await world.add_pool(EU_POOL, partition="eu")
    eu_ask = await world.add_ask("acme", EU_POOL.id, gpus=2, price="1", starts_at=H0,
                                 ends_at=H0 + 9 * HOUR, partition="eu")
    eu_bid = await world.add_bid("alice", _alt("50"), partition="eu")
    late = await world.add_bid("alice", _alt("70"), created_at=H0 + HOUR)
    at_cutoff = await world.add_bid("alice", _alt("80"), created_at=H0)
    closed = await world.add_bid("bob", _alt("60"))
    await world.request_cancel(bob)
    async with world.store.freezing() as tx:
        await tx.close_orders([closed], "cancelled")
    async with world.store.freezing() as tx:
        main = await tx.open_orders("main", H0)
        eu = await tx.open_orders("eu", H0)
    assert main.pools == (POOL,)
    assert main.bids == (OpenBid(alice, "alice", (_alt("100"),)),
                         OpenBid(bob, "bob", (_alt("1"),), cancel_requested=True),
                         OpenBid(at_cutoff, "alice", (_alt("80"),)))
    assert main.asks == (OpenAsk(ask, "acme", POOL.id, 8, Decimal(2), H0 - HOUR,
                                 H0 + 48 * HOUR),)
    assert late not in {b.order_id for b in main.bids}
    assert eu.pools == (EU_POOL,)
    assert [b.order_id for b in eu.bids] == [eu_bid]
    assert [a.order_id for a in eu.asks] == [eu_ask]


async def test_orders_a_round_froze_are_not_open_to_another_round(world: World) -> None:
    ask, alice, _ = await _market(world)
    auction_id = await _freeze(world)
    assert (await world.order(alice)).frozen_auction_id == auction_id
    assert (await world.order(ask)).frozen_auction_id == auction_id
    async with world.store.freezing() as tx:
        later = await tx.open_orders("main", H0 + HOUR)
    assert later.bids == () and later.asks == ()
    assert (await world.order(alice)).status == "open"


async def test_closed_orders_leave_the_book_with_their_status_and_owner(world: World) -> None:
    ask, alice, bob = await _market(world)
    async with world.store.freezing() as tx:
        expired = await tx.close_orders([bob, ask], "expired")
        nothing = await tx.close_orders([], "cancelled")
    assert nothing == []
    assert sorted((c.order_id, c.account_id, c.side, c.status) for c in expired) == sorted(
        [(bob, "bob", "bid", "expired"), (ask, "acme", "ask", "expired")])
    assert all(c.client_order_id for c in expired)
    assert (await world.order(bob)).status == "expired"
    async with world.store.freezing() as tx:
        orders = await tx.open_orders("main", H0)
    assert [b.order_id for b in orders.bids] == [alice] and orders.asks == ()


async def test_a_freeze_that_raises_leaves_nothing(world: World) -> None:
    ask, alice, bob = await _market(world)
    with pytest.raises(RuntimeError, match="crash"):
        async with world.store.freezing() as tx:
            orders = await tx.open_orders("main", H0)
            frozen = freeze_round(Horizon.after(H0, SLOTS), orders.pools, orders.bids,
                                  orders.asks)
            auction_id = await tx.store_auction("main", H0, frozen)
            assert auction_id is not None
            await tx.close_orders([bob], "expired")
            ledger = tx.ledger()
            await ledger.post(rules.release([Hold(bob, "bob", Decimal(1))]))
            await tx.mark_frozen([alice, ask], auction_id)
            await tx.add_events([Event("s", "order:x", {"n": 1})])
            raise RuntimeError("crash")
    assert await world.auctions() == []
    assert await world.store.frozen_auctions("main") == []
    for order_id in (ask, alice, bob):
        assert await world.order(order_id) == OrderView("open", None)
    assert await world.events() == []
    assert (await world.balance("bob")).held == Decimal(1)
    assert await _freeze(world) is not None  # the cutoff is free again


# These two held the bug of raw asyncpg statements run before SQLAlchemy's lazy BEGIN (the
# freeze's FOR UPDATE locks ended with their statement; outbox rows written first survived a
# rollback), fixed in `adapters/postgres/rounds._driver`.
async def test_the_orders_a_freeze_read_stay_locked_until_it_ends(world: World) -> None:
    _, alice, _ = await _market(world)
    async with world.store.freezing() as tx:
        orders = await tx.open_orders("main", H0)
        assert alice in {b.order_id for b in orders.bids}
        locked = await world.locked_elsewhere(alice)
    assert not await world.locked_elsewhere(alice)
    assert locked


async def test_a_freeze_that_raises_after_writing_outbox_rows_first_leaves_none(
        world: World) -> None:
    await _market(world)
    with pytest.raises(RuntimeError, match="crash"):
        async with world.store.freezing() as tx:
            await tx.add_events([Event("orders", "order:1:expired", {})])
            raise RuntimeError("crash")
    assert await world.events() == []


async def test_a_ledger_in_a_transaction_sees_its_own_postings_and_commits_with_it(
        world: World) -> None:
    _, alice, bob = await _market(world)
    async with world.store.freezing() as tx:
        ledger = tx.ledger()
        holds = await ledger.holds([alice, bob])
        assert holds == {alice: Hold(alice, "alice", Decimal(100)),
                         bob: Hold(bob, "bob", Decimal(1))}
        await ledger.post(rules.release([holds[bob]]))
        assert await ledger.holds([alice, bob]) == {alice: holds[alice]}
    after = await world.balance("bob")
    assert (after.available, after.held) == (Decimal(1), Decimal(0))


async def test_a_ledger_posting_that_would_overdraw_fails_its_transaction(
        world: World) -> None:
    _, alice, _ = await _market(world)
    with pytest.raises((NegativeBalance, IntegrityError)):
        async with world.store.freezing() as tx:
            await tx.close_orders([alice], "expired")
            await tx.add_events([Event("orders", f"order:{alice}:expired", {})])
            await tx.ledger().post(rules.release([Hold(alice, "alice", Decimal(101))]))
    assert await world.events() == []
    assert await world.order(alice) == OrderView("open", None)
    after = await world.balance("alice")
    assert (after.available, after.held) == (Decimal(0), Decimal(100))


# -- committing ----------------------------------------------------------------------------


async def test_lock_frozen_succeeds_while_frozen_and_refuses_a_cleared_or_unknown_auction(
        world: World) -> None:
    await _market(world)
    auction_id = await _freeze(world)
    async with world.store.committing() as tx:
        assert await tx.lock_frozen(auction_id)  # looked at, nothing recorded
    async with world.store.committing() as tx:
        assert await tx.lock_frozen(auction_id)
        await tx.record_result(auction_id, _summary())
    async with world.store.committing() as tx:
        assert not await tx.lock_frozen(auction_id)
        assert not await tx.lock_frozen(auction_id + 1000)


async def test_two_commits_of_one_frozen_auction_commit_it_once(world: World) -> None:
    ask, alice, _ = await _market(world)
    auction_id = await _freeze(world)
    first_locked = asyncio.Event()

    async def commit(wait_for: asyncio.Event | None) -> bool:
        if wait_for is not None:
            await wait_for.wait()
        async with world.store.committing() as tx:
            if not await tx.lock_frozen(auction_id):
                return False
            if wait_for is None:
                first_locked.set()
                # Let the other commit begin while this one holds the auction.
                for _ in range(20):
                    await asyncio.sleep(0)
            await tx.record_result(auction_id, _summary())
            await tx.add_fills(auction_id, _fills(ask, alice))
            return True

    won = await asyncio.gather(commit(None), commit(first_locked))
    assert list(won) == [True, False]
    assert len(await world.fills()) == 2


async def test_frozen_orders_are_what_the_auction_froze_as_they_are_at_commit(
        world: World) -> None:
    ask, alice, bob = await _market(world)
    auction_id = await _freeze(world)
    later = await world.add_bid("alice", _alt("90"))  # placed after the freeze: not in it
    await world.request_cancel(bob)
    async with world.store.committing() as tx:
        frozen = await tx.frozen_orders(auction_id)
    assert dict(frozen.bids) == {alice: False, bob: True}
    assert later not in frozen.bids
    assert frozen.asks == (OpenAsk(ask, "acme", POOL.id, 8, Decimal(2), H0 - HOUR,
                                   H0 + 48 * HOUR),)


async def test_a_committed_result_is_visible_with_fills_prices_statuses_and_events(
        world: World) -> None:
    ask, alice, bob = await _market(world)
    auction_id = await _freeze(world)
    fills = _fills(ask, alice)
    price_rows = [PriceRow(POOL.id, H0 + HOUR, H0 + 49 * HOUR, Decimal(2))]
    index = [IndexRow("H100", Decimal(2), 12)]
    events = [Event("fills", f"fill:{auction_id}:1", {"amount": Decimal("24.000000")}),
              Event("auctions", f"auction:main:{auction_id}", {"fills": 2})]
    async with world.store.committing() as tx:
        assert await tx.lock_frozen(auction_id)
        await tx.record_result(auction_id, _summary())
        ids = await tx.add_fills(auction_id, fills)
        await tx.add_prices(auction_id, price_rows, index)
        closed = await tx.set_status(auction_id, {alice: "filled", bob: "cancelled"})
        await tx.add_events(events)
    assert len(set(ids)) == 2
    assert await world.fills() == [(ids[0], auction_id, fills[0]),
                                   (ids[1], auction_id, fills[1])]
    (auction,) = await world.auctions()
    assert (auction.status, auction.solve_status, auction.surplus,
            auction.volume_gpu_hours) == ("cleared", "optimal", Decimal(76), 12)
    assert await world.store.frozen_auctions("main") == []
    assert await world.prices(auction_id) == (price_rows, index)
    assert [(c.order_id, c.status) for c in closed] == [(alice, "filled"), (bob, "cancelled")]
    assert await world.order(alice) == OrderView("filled", None)
    assert await world.order(bob) == OrderView("cancelled", None)
    # Released but not closed: the ask stays open, free for the next round.
    assert await world.order(ask) == OrderView("open", None)
    assert await world.events() == events


async def test_what_a_round_sold_of_an_ask_is_read_back_by_the_next_round(
        world: World) -> None:
    ask, alice, _ = await _market(world)
    auction_id = await _freeze(world)
    async with world.store.committing() as tx:
        await tx.record_result(auction_id, _summary())
        await tx.add_fills(auction_id, _fills(ask, alice))
        await tx.set_status(auction_id, {alice: "filled"})
    async with world.store.freezing() as tx:
        orders = await tx.open_orders("main", H0 + HOUR)
    (open_ask,) = orders.asks
    assert open_ask.sold == (SoldRange(H0 + 3 * HOUR, H0 + 6 * HOUR, 4),)


async def test_a_commit_that_raises_leaves_the_auction_frozen_and_nothing_written(
        world: World) -> None:
    ask, alice, _ = await _market(world)
    auction_id = await _freeze(world)
    before = await world.balance("alice")
    with pytest.raises(RuntimeError, match="crash"):
        async with world.store.committing() as tx:
            assert await tx.lock_frozen(auction_id)
            await tx.record_result(auction_id, _summary())
            await tx.add_fills(auction_id, _fills(ask, alice))
            await tx.add_prices(auction_id, [PriceRow(POOL.id, H0 + HOUR, H0 + 2 * HOUR,
                                                      Decimal(2))], [])
            await tx.set_status(auction_id, {alice: "filled"})
            await tx.ledger().post(rules.release([Hold(alice, "alice", Decimal(100))]))
            await tx.add_events([Event("fills", "fill:x", {})])
            raise RuntimeError("crash")
    assert [a.id for a in await world.store.frozen_auctions("main")] == [auction_id]
    assert await world.fills() == []
    assert await world.prices(auction_id) == ([], [])
    assert await world.order(alice) == OrderView("open", auction_id)
    assert await world.events() == []
    assert await world.balance("alice") == before
    async with world.store.committing() as tx:
        assert await tx.lock_frozen(auction_id)  # a restarted worker may still commit it


async def test_an_event_id_is_stored_once(world: World) -> None:
    async with world.store.freezing() as tx:
        await tx.add_events([Event("fills", "fill:1:1", {"n": 1})])
    with pytest.raises((ConstraintViolation, IntegrityError, asyncpg.UniqueViolationError)):
        async with world.store.committing() as tx:
            await tx.add_events([Event("fills", "fill:1:2", {"n": 2}),
                                 Event("fills", "fill:1:1", {"n": 3})])
    assert await world.events() == [Event("fills", "fill:1:1", {"n": 1})]


# -- resuming, halting ---------------------------------------------------------------------


async def test_frozen_auctions_are_the_partitions_uncleared_auctions_oldest_first(
        world: World) -> None:
    await _market(world)
    await world.add_pool(EU_POOL, partition="eu")
    late = await _freeze(world, H0 + 2 * HOUR)
    early = await _freeze(world, H0)
    middle = await _freeze(world, H0 + HOUR)
    eu = await _freeze(world, H0, partition="eu")
    async with world.store.committing() as tx:
        await tx.record_result(middle, _summary())
    main = await world.store.frozen_auctions("main")
    assert [(a.id, a.cutoff, a.partition) for a in main] == [(early, H0, "main"),
                                                            (late, H0 + 2 * HOUR, "main")]
    assert [a.id for a in await world.store.frozen_auctions("eu")] == [eu]
    assert await world.store.frozen_auctions("nowhere") == []


async def test_the_market_is_halted_while_its_kill_switch_is_on(world: World) -> None:
    assert not await world.store.market_halted()
    await world.halt(True)
    assert await world.store.market_halted()
    await world.halt(False)
    assert not await world.store.market_halted()


# -- resale --------------------------------------------------------------------------------


async def test_offered_pieces_are_the_live_pieces_of_an_offer_until_a_split_supersedes_them(
        world: World) -> None:
    await _market(world)
    start, end = H0 + 4 * HOUR, H0 + 8 * HOUR
    piece = await world.add_contract("alice", "acme", POOL.id, gpus=4, starts_at=start,
                                     ends_at=end, price="40")
    kept = await world.add_contract("alice", "acme", POOL.id, gpus=2, starts_at=start,
                                    ends_at=end, price="20")
    offer = await world.add_ask("alice", POOL.id, gpus=4, price="3", starts_at=start,
                                ends_at=end, contract_id=piece)
    await world.offer_contract(piece, offer)
    async with world.store.committing() as tx:
        offered = await tx.offered_pieces([offer])
        assert await tx.offered_pieces([]) == {}
        await tx.add_contracts(Split((
            NewContract("bob", "acme", POOL.id, 4, start, end, Decimal("12"), parent_id=piece),
        ), (piece,)))
    assert {k: list(v) for k, v in offered.items()} == {offer: [
        Piece(piece, "alice", "acme", POOL.id, 4, start, end, Decimal(40), offer)]}
    held = {c.id: c for c in await world.contracts()}
    assert not held[piece].live and held[kept].live
    (child,) = [c for c in held.values() if c.parent_id == piece]
    assert (child.holder_id, child.gpus, child.live, child.fill_id) == ("bob", 4, True, None)
    async with world.store.committing() as tx:
        assert await tx.offered_pieces([offer]) == {}
