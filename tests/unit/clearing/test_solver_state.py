"""The incumbent state of the neighbourhood search agrees with whole-instance recomputation."""

from __future__ import annotations

import random

import pytest
from books import ask, book, pool, simple_bid

from gpux.clearing.greedy import Ledger, greedy
from gpux.clearing.instance import Instance, prepare
from gpux.clearing.state import State
from gpux.clearing.supply import cheapest_supply, floor_prices, repair, surplus_of
from gpux.domain.bookjson import read_book
from gpux.marketgen.market import generate_market


def small_market(seed: int = 3) -> Instance:
    return prepare(read_book(generate_market(120, seed, slots=48)))


def recomputed(instance: Instance, chosen: set[int]) -> int:
    ordered = sorted(chosen)
    return surplus_of(instance, ordered, cheapest_supply(instance, ordered))


def random_move(instance: Instance, state: State, rng: random.Random
                ) -> tuple[list[int], list[int]]:
    """Drop a few accepted placements, then add fitting placements of other bids."""
    removed = rng.sample(sorted(state.chosen), min(3, len(state.chosen)))
    ledger = Ledger(instance)
    kept = state.chosen - set(removed)
    for c in kept:
        ledger.add(c)
    taken = {instance.candidates[c].bid for c in kept}
    added = []
    for b in rng.sample(range(len(instance.by_bid)), len(instance.by_bid)):
        if b in taken or not instance.by_bid[b] or len(added) >= 4:
            continue
        c = rng.choice(instance.by_bid[b])
        if ledger.extra_cost(c) is not None:
            ledger.add(c)
            added.append(c)
            taken.add(b)
    return removed, added


@pytest.mark.parametrize("clean", [True, False])
def test_state_surplus_matches_whole_instance_recomputation_after_every_move(
        clean: bool) -> None:
    # A clean state (known priceable) checks only the placements added and those under a
    # floor that rose; one not known clean checks every placement in the pools moved.
    instance = small_market()
    chosen, _ = repair(instance, greedy(instance))
    state = State(instance, chosen)
    if clean:
        assert state.repair() == []
    assert state.clean is clean
    assert state.surplus == recomputed(instance, state.chosen)
    rng = random.Random(7)
    for _ in range(60):
        before = set(state.chosen), state.surplus
        removed, added = random_move(instance, state, rng)
        kept = state.try_move(removed, added)
        assert state.surplus == recomputed(instance, state.chosen)
        assert repair(instance, sorted(state.chosen))[0] == sorted(state.chosen)
        assert {instance.candidates[c].bid: c for c in state.chosen} == state.by_bid
        if kept:
            assert state.surplus > before[1]
        else:
            assert (set(state.chosen), state.surplus) == before


def test_a_move_that_lowers_surplus_is_undone_completely() -> None:
    instance = small_market()
    chosen, _ = repair(instance, greedy(instance))
    state = State(instance, chosen)
    floors = [f.copy() for f in state.floors()]
    best = max(chosen, key=lambda c: instance.candidates[c].margin)
    assert not state.try_move([best], [])
    assert state.chosen == set(chosen)
    assert all((a == b).all() for a, b in zip(state.floors(), floors, strict=True))
    ordered = sorted(chosen)
    expected = floor_prices(instance, cheapest_supply(instance, ordered))
    assert all((a == b).all() for a, b in zip(state.floors(), expected, strict=True))


def test_local_repair_drops_the_least_valuable_unpriceable_placement() -> None:
    # X and Y together need ask B, so X would pay at least 20 > 16: X (margin 6) is dropped,
    # and Y alone (surplus 7) beats X alone (surplus 6).
    b = book(pools=[pool("p")], asks=[ask("A", "p", 10, "1"), ask("B", "p", 5, "2")],
             bids=[simple_bid("x", "u1", 10, "16"), simple_bid("y", "u2", 5, "12")])
    instance = prepare(b)
    x, y = instance.by_bid[0][0], instance.by_bid[1][0]
    state = State(instance, [x])
    assert state.repair() == []  # X alone is priceable: the state is clean
    assert state.try_move([], [y])
    assert state.chosen == {y}
    assert state.surplus == 7_000_000


def test_repairing_the_whole_state_drops_what_supply_repair_drops() -> None:
    for seed in (1, 2, 3):
        instance = small_market(seed)
        chosen = greedy(instance)
        expected, _ = repair(instance, chosen)
        state = State(instance, chosen)
        state.repair()
        assert sorted(state.chosen) == sorted(expected)
        assert state.surplus == recomputed(instance, set(expected))
