"""The greedy ledger's shortcuts (capacity left, the marginal group's room) price a
candidate exactly as the full supply computation does."""

from __future__ import annotations

import random

import pytest
from books import ask, book, pool, simple_bid

from gpux.clearing.greedy import Ledger, greedy, leg_deltas
from gpux.clearing.instance import Instance, prepare
from gpux.clearing.supply import cheapest_supply, surplus_of
from gpux.domain.bookjson import read_book
from gpux.marketgen.market import generate_market


def small_market(seed: int) -> Instance:
    return prepare(read_book(generate_market(150, seed, slots=48)))


def shuffled_greedy(seed: int) -> tuple[Instance, random.Random, list[int]]:
    """A small market, a random stream, and greedy's placements in a random order (the
    states a ledger passes through when they are added in turn)."""
    instance = small_market(seed)
    rng = random.Random(seed)
    order = greedy(instance)
    rng.shuffle(order)
    return instance, rng, order


def supply_cost(instance: Instance, chosen: list[int]) -> int | None:
    """Reserves paid for the cheapest supply of `chosen` (None: it cannot be supplied)."""
    try:
        supply = cheapest_supply(instance, chosen)
    except ValueError:
        return None
    return -surplus_of(instance, [], supply)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_extra_cost_matches_the_full_computation_in_every_state(seed: int) -> None:
    instance, rng, order = shuffled_greedy(seed)
    ledger = Ledger(instance)
    chosen: list[int] = []
    checked = fitting = 0
    for step, c in enumerate(order):
        if step % 7 == 0:
            base = supply_cost(instance, chosen)
            assert base is not None
            for other in rng.sample(range(len(instance.candidates)), 150):
                cand = instance.candidates[other]
                got = ledger.extra_cost(other)
                buyer = instance.buyer(cand.bid)
                assert got == ledger._joint_cost(leg_deltas(cand.legs), buyer)
                pools = {leg.pool for leg in cand.legs}
                if not any(instance.sellers_by_pool[p] for p in pools):
                    after = supply_cost(instance, [*chosen, other])
                    assert got == (None if after is None else after - base)
                checked += 1
                fitting += got is not None
        if ledger.extra_cost(c) is not None:
            ledger.add(c)
            chosen.append(c)
    # the states checked were neither empty nor full
    assert checked > 1_000 and 0 < fitting < checked


def test_a_seller_buying_in_its_own_pool_gets_only_other_sellers_gpus() -> None:
    # u1 sells the 10 cheap GPUs of pool p; its own bids may take only dc's 5. Each bid
    # alone fits, and the cheapest group has room for both, but together they need 7.
    b = book(pools=[pool("p")],
             asks=[ask("own", "p", 10, "1", seller="u1"), ask("other", "p", 5, "2")],
             bids=[simple_bid("x", "u1", 4, "100"), simple_bid("y", "u1", 3, "100"),
                   simple_bid("z", "u2", 3, "100")])
    instance = prepare(b)
    x, y, z = (instance.by_bid[i][0] for i in range(3))
    ledger = Ledger(instance)
    ledger.add(x)
    assert ledger.extra_cost(y) is None
    # another buyer may use u1's asks
    assert ledger.extra_cost(z) == 3 * 1_000_000


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_best_of_bid_answers_as_best_over_the_bids_candidates_in_every_state(seed: int) -> None:
    instance, rng, order = shuffled_greedy(seed)
    ledger = Ledger(instance)
    bids = [b for b, cands in enumerate(instance.by_bid) if cands]
    added: list[int] = []
    found = 0
    for step, c in enumerate(order):
        if step % 5 == 0:
            for b in rng.sample(bids, 40):
                expected = ledger.best(instance.by_bid[b])
                assert ledger.best_of_bid(b) == expected
                found += expected is not None
        if ledger.extra_cost(c) is not None:
            ledger.add(c)
            added.append(c)
        if step % 3 == 0 and added:
            # GPUs given back (as an ejection does) must show in what fits too
            ledger.add(added.pop(rng.randrange(len(added))), -1)
    assert found > 0
