"""The greedy ledger's shortcuts (capacity left, the marginal group's room) price a
candidate exactly as the full supply computation does."""

from __future__ import annotations

import random

import pytest

from gpux.clearing.greedy import Ledger, greedy, leg_deltas
from gpux.clearing.instance import Instance, prepare
from gpux.clearing.supply import cheapest_supply, surplus_of
from gpux.domain.bookjson import read_book
from gpux.marketgen.market import generate_market


def small_market(seed: int) -> Instance:
    return prepare(read_book(generate_market(150, seed, slots=48)))


def supply_cost(instance: Instance, chosen: list[int]) -> int | None:
    """Reserves paid for the cheapest supply of `chosen` (None: it cannot be supplied)."""
    try:
        supply = cheapest_supply(instance, chosen)
    except ValueError:
        return None
    return -surplus_of(instance, [], supply)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_extra_cost_matches_the_full_computation_in_every_state(seed: int) -> None:
    instance = small_market(seed)
    rng = random.Random(seed)
    order = greedy(instance)
    rng.shuffle(order)
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
