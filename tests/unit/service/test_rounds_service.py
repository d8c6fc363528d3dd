"""The clearing round use cases (`gpux.service.rounds.Rounds`) on the in-memory round store,
with the real solver: a round clears a small book end to end, a frozen round is resumed once,
orders past their windows expire, a halted market clears nothing, a worker that lost the race
to commit reports it, and a commit that fails leaves the round to be resumed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fakes.fake_rounds import FakeCommit, FakeRoundStore
from gpux.clearing.solver import SolveParams
from gpux.domain.bookjson import read_book
from gpux.domain.ledger import EXTERNAL_BANK
from gpux.domain.orders import BidLeg
from gpux.domain.rounds import OpenAlternative, OpenPool
from gpux.service.round_ports import Event
from gpux.service.rounds import RoundConfig, RoundOutcome, Rounds

HOUR = timedelta(hours=1)
H0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
BEFORE = H0 - 6 * HOUR
POOL = OpenPool("acme-h100", "acme", "H100", "us-east", Decimal("99.9"))
CONFIG = RoundConfig("main", 48, SolveParams(time_limit=5.0, workers=1, seed=0),
                     "fills", "auctions", "orders")


def _alt(value: str, gpus: int = 4, hours: int = 3, start: datetime = H0 + 3 * HOUR,
         end: datetime = H0 + 30 * HOUR) -> OpenAlternative:
    return OpenAlternative(Decimal(value), start, end, (BidLeg(gpus, hours),))


async def _market(store: FakeRoundStore) -> tuple[int, int, int]:
    """acme asks 8 GPUs at 2 per GPU-hour for two days; alice bids 100 and bob 1 (below the
    reserve) for 4 GPUs over 3 hours."""
    store.add_pool(POOL)
    ask = store.add_ask("acme", POOL.id, gpus=8, price=Decimal(2), starts_at=H0 - HOUR,
                        ends_at=H0 + 48 * HOUR, created_at=BEFORE)
    alice = await store.add_bid("alice", _alt("100"), created_at=BEFORE)
    bob = await store.add_bid("bob", _alt("1"), created_at=BEFORE)
    return ask, alice, bob


def _status(store: FakeRoundStore, order_id: int) -> str:
    return store.state.orders[order_id].status


def _events(store: FakeRoundStore, stream: str) -> list[Event]:
    return [e for e in store.state.outbox if e.stream == stream]


async def _balance(store: FakeRoundStore, account: str) -> tuple[Decimal, Decimal]:
    b = await store.ledger().balance(account)
    return b.available, b.held


async def test_a_round_clears_a_small_book_end_to_end() -> None:
    store = FakeRoundStore()
    ask, alice, bob = await _market(store)
    (outcome,) = await Rounds(store, CONFIG).clear_round(H0)
    assert (outcome.status, outcome.bids, outcome.asks, outcome.resumed) == (
        "cleared", 2, 1, False)
    assert outcome.volume_gpu_hours == 12
    fills = [f for _, f in store.state.fills.values()]
    assert outcome.fills == len(fills)
    assert {f.order_id for f in fills if f.side == "bid"} == {alice}
    paid = sum(f.amount for f in fills if f.side == "bid")
    assert paid == sum(f.amount for f in fills if f.side == "ask")
    assert Decimal(24) <= paid <= Decimal(100)  # at least the reserve, at most the bid
    assert (_status(store, alice), _status(store, bob), _status(store, ask)) == (
        "filled", "open", "open")
    assert all(o.frozen_auction_id is None for o in store.state.orders.values())
    # Money: alice paid from her hold and got the rest back, acme earned it, bob still holds.
    assert await _balance(store, "alice") == (Decimal(100) - paid, Decimal(0))
    assert await _balance(store, "acme") == (paid, Decimal(0))
    assert await _balance(store, "bob") == (Decimal(0), Decimal(1))
    assert await _balance(store, EXTERNAL_BANK) == (Decimal(-101), Decimal(0))
    (auction,) = store.state.auctions.values()
    assert auction.status == "cleared" and auction.id == outcome.auction_id
    assert {e.event_id for e in _events(store, "fills")} == {
        f"fill:{auction.id}:{i}" for i in store.state.fills}
    assert [e.event_id for e in _events(store, "auctions")] == [f"auction:main:{auction.id}"]
    assert [e.event_id for e in _events(store, "orders")] == [f"order:{alice}:filled"]
    (contract,) = store.state.contracts.values()
    assert (contract.holder_id, contract.provider_id, contract.gpus) == ("alice", "acme", 4)


async def test_a_frozen_round_is_resumed_once_from_its_stored_book() -> None:
    store = FakeRoundStore()
    _, alice, _ = await _market(store)
    rounds = Rounds(store, CONFIG)
    frozen = await rounds.freeze(H0)  # then the worker "crashes"
    assert frozen is not None
    auction_id, book = frozen
    # A bid placed while the round was frozen, claiming an early creation time, stays out.
    later = await store.add_bid("carol", _alt("500"), created_at=BEFORE)
    outcomes = await Rounds(store, CONFIG).clear_round(H0 + HOUR)
    assert (outcomes[0].auction_id, outcomes[0].status, outcomes[0].resumed) == (
        auction_id, "cleared", True)
    assert store.state.auctions[auction_id].book == book
    first = {f.order_id for a, f in store.state.fills.values()
             if a == auction_id and f.side == "bid"}
    assert first == {alice}
    assert [(o.status, o.resumed) for o in outcomes[1:]] == [("cleared", False)]
    assert _status(store, later) == "filled"
    assert await Rounds(store, CONFIG).resume() == []
    assert [o.status for o in await rounds.clear_round(H0 + HOUR)] == ["exists"]


async def test_orders_past_their_windows_expire_and_their_holds_return() -> None:
    store = FakeRoundStore()
    store.add_pool(POOL)
    old_ask = store.add_ask("acme", POOL.id, gpus=1, price=Decimal(1), starts_at=H0 - 5 * HOUR,
                            ends_at=H0, created_at=BEFORE)
    old_bid = await store.add_bid("alice", _alt("9", 1, 3, H0 - 5 * HOUR, H0 + HOUR),
                                  created_at=BEFORE)
    far = await store.add_bid("bob", _alt("9", 1, 3, H0 + 60 * HOUR, H0 + 70 * HOUR),
                              created_at=BEFORE)
    (outcome,) = await Rounds(store, CONFIG).clear_round(H0)
    assert outcome.status == "cleared" and outcome.fills == 0
    assert (_status(store, old_bid), _status(store, old_ask)) == ("expired", "expired")
    # Beyond the horizon: waits for a later round, neither expired nor frozen.
    assert _status(store, far) == "open" and store.state.orders[far].frozen_auction_id is None
    assert await _balance(store, "alice") == (Decimal(9), Decimal(0))
    assert await _balance(store, "bob") == (Decimal(0), Decimal(9))
    assert sorted(e.event_id for e in _events(store, "orders")) == sorted(
        [f"order:{old_bid}:expired", f"order:{old_ask}:expired"])


async def test_an_ask_whose_every_hour_sold_is_filled() -> None:
    store = FakeRoundStore()
    store.add_pool(POOL)
    start = H0 + 5 * HOUR
    ask = store.add_ask("acme", POOL.id, gpus=2, price=Decimal(1), starts_at=start,
                        ends_at=start + 3 * HOUR, created_at=BEFORE)
    bid = await store.add_bid("alice", _alt("90", 2, 3, start, start + 3 * HOUR),
                              created_at=BEFORE)
    await Rounds(store, CONFIG).clear_round(H0)
    assert (_status(store, bid), _status(store, ask)) == ("filled", "filled")


async def test_a_halted_market_clears_nothing_and_resumes_nothing() -> None:
    store = FakeRoundStore()
    _, alice, _ = await _market(store)
    rounds = Rounds(store, CONFIG)
    assert await rounds.freeze(H0) is not None  # frozen before the halt
    store.halt()
    assert await rounds.clear_round(H0 + HOUR) == [RoundOutcome("halted", H0 + HOUR)]
    assert await rounds.resume() == []
    assert [a.status for a in store.state.auctions.values()] == ["frozen"]
    assert store.state.fills == {}
    store.halt(False)
    (outcome,) = await rounds.resume()
    assert outcome.status == "cleared" and _status(store, alice) == "filled"


async def test_a_worker_that_lost_the_race_to_commit_reports_taken_and_writes_nothing(
        ) -> None:
    store = FakeRoundStore()
    await _market(store)
    one, two = Rounds(store, CONFIG), Rounds(store, CONFIG)
    assert await one.freeze(H0) is not None
    (auction,) = await store.frozen_auctions("main")
    book = read_book(auction.book)
    solved_one, solved_two = await one.solve(book), await two.solve(book)
    won = await one.commit(auction.id, auction.cutoff, auction.book, *solved_one)
    fills, outbox = dict(store.state.fills), list(store.state.outbox)
    balances = {k: list(v) for k, v in store.state.ledger.balances.items()}
    lost = await two.commit(auction.id, auction.cutoff, auction.book, *solved_two)
    assert (won.status, lost.status, lost.auction_id, lost.fills) == (
        "cleared", "taken", auction.id, 0)
    assert store.state.fills == fills and store.state.outbox == outbox
    assert store.state.ledger.balances == balances


async def test_a_cancel_requested_while_frozen_is_honoured_at_commit_unless_filled() -> None:
    store = FakeRoundStore()
    _, alice, bob = await _market(store)
    rounds = Rounds(store, CONFIG)
    assert await rounds.freeze(H0) is not None
    store.request_cancel(alice)
    store.request_cancel(bob)
    (outcome,) = await rounds.resume()
    assert outcome.status == "cleared"
    assert (_status(store, alice), _status(store, bob)) == ("filled", "cancelled")
    assert await _balance(store, "bob") == (Decimal(1), Decimal(0))


class _CrashingStore(FakeRoundStore):
    """A store whose first commit dies just before its outbox rows go in."""

    crashes = 1

    @asynccontextmanager
    async def committing(self) -> AsyncIterator[FakeCommit]:
        async with super().committing() as tx:
            if self.crashes:
                self.crashes -= 1

                async def crash(events: object) -> None:
                    raise ConnectionError("the database went away mid-commit")

                tx.add_events = crash  # type: ignore[method-assign]
            yield tx


async def test_a_commit_that_fails_loses_nothing_and_the_round_is_resumed_once() -> None:
    store = _CrashingStore()
    _, alice, _ = await _market(store)
    rounds = Rounds(store, CONFIG)
    with pytest.raises(ConnectionError, match="mid-commit"):
        await rounds.clear_round(H0)
    assert store.state.fills == {} and store.state.outbox == []
    assert await _balance(store, "alice") == (Decimal(0), Decimal(100))
    (outcome,) = await rounds.resume()
    assert outcome.status == "cleared" and outcome.resumed
    assert _status(store, alice) == "filled"
    assert len([f for _, f in store.state.fills.values() if f.side == "bid"]) == 1


async def test_orders_a_frozen_round_holds_are_not_frozen_again_by_the_next_round() -> None:
    store = FakeRoundStore()
    await _market(store)
    rounds = Rounds(store, CONFIG)
    first = await rounds.freeze(H0)
    second = await rounds.freeze(H0 + HOUR)  # the first is still being solved
    assert first is not None and second is not None
    assert (len(first[1]["bids"]), len(first[1]["asks"])) == (2, 1)  # type: ignore[arg-type]
    assert (second[1]["bids"], second[1]["asks"]) == ([], [])
