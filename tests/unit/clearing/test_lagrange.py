"""Lagrangian prices over the candidates: the dual, its slope, the descent and the greedy
the prices guide."""

from __future__ import annotations

import itertools
import time

import numpy as np
from books import alternative, ask, bid, book, leg, pool
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cutbound import packing_books

from gpux.clearing.greedy import GreedyOrders, Ledger
from gpux.clearing.instance import Instance, IntArray, prepare
from gpux.clearing.lagrange import AVERAGE_STEPS, CandidatePrices, Subgradient, guided_greedy
from gpux.clearing.reference import reference_optimum
from gpux.clearing.state import State
from gpux.domain.book import Book
from gpux.domain.bookjson import read_book
from gpux.domain.money import to_micros
from gpux.marketgen.market import generate_market


def small_market(seed: int) -> Instance:
    return prepare(read_book(generate_market(150, seed, slots=48)))


def random_prices(instance: Instance, seed: int, high: int = 5_000_000) -> IntArray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, high, size=(len(instance.pool_ids), instance.slots)).astype(np.int64)


def dual_by_hand(instance: Instance, prices: IntArray) -> tuple[int, IntArray]:
    """The dual and its slope, one candidate and one supply group at a time."""
    slope = np.zeros_like(prices)
    dual = 0
    for cands in instance.by_bid:
        if not cands:
            continue
        profit = [instance.candidates[c].value
                  - sum(leg.gpus * int(prices[leg.pool, leg.start:leg.end].sum())
                        for leg in instance.candidates[c].legs) for c in cands]
        best = max(profit)
        if best > 0:
            dual += best
            for leg in instance.candidates[cands[profit.index(best)]].legs:
                slope[leg.pool, leg.start:leg.end] += leg.gpus
    for p, groups in enumerate(instance.groups):
        for g in groups:
            for t in range(instance.slots):
                if prices[p, t] > g.reserve:
                    dual += int(g.cap[t]) * int(prices[p, t] - g.reserve)
                    slope[p, t] -= int(g.cap[t])
    return dual, slope


def test_reduced_profit_is_value_less_the_gpu_slots_at_the_prices() -> None:
    instance = small_market(1)
    prices = random_prices(instance, 1)
    reduced = CandidatePrices(instance).reduced(prices).tolist()
    for c, cand in enumerate(instance.candidates):
        cost = sum(leg.gpus * int(prices[leg.pool, leg.start:leg.end].sum())
                   for leg in cand.legs)
        assert reduced[c] == cand.value - cost


def test_the_dual_and_its_slope_match_the_computation_by_hand() -> None:
    for seed in (1, 2):
        instance = small_market(seed)
        relaxation = CandidatePrices(instance)
        for prices in (relaxation.start_prices, random_prices(instance, seed),
                       random_prices(instance, seed + 10, high=50_000_000)):
            dual, slope = relaxation.step(prices)
            expected_dual, expected_slope = dual_by_hand(instance, prices)
            assert dual == expected_dual
            assert (slope == expected_slope).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packing_books(), st.integers(0, 2**32 - 1))
def test_the_dual_at_any_prices_is_never_below_the_brute_force_optimum(
        b: Book, seed: int) -> None:
    expected, _ = reference_optimum(b)
    instance = prepare(b)
    if not instance.candidates:
        assert expected == 0
        return
    relaxation = CandidatePrices(instance)
    for prices in (relaxation.start_prices, random_prices(instance, seed, high=20_000_000)):
        dual, _ = relaxation.step(prices)
        assert dual >= to_micros(expected)
    subgradient = Subgradient(relaxation, 0)
    for _ in range(30):
        subgradient.run(1, time.monotonic() + 30)
        # however far the target, no price leaves [0, the largest value of a candidate]
        assert (subgradient.prices >= 0).all()
        assert (subgradient.prices <= max(c.value for c in instance.candidates)).all()
    assert subgradient.best_dual is not None and subgradient.best_dual >= to_micros(expected)


def test_the_descent_lowers_the_dual_and_guides_by_the_mean_of_recent_prices() -> None:
    instance = small_market(3)
    relaxation = CandidatePrices(instance)
    first, _ = relaxation.step(relaxation.start_prices)
    subgradient = Subgradient(relaxation, 0)
    used = []
    for _ in range(AVERAGE_STEPS + 10):
        used.append(subgradient.prices.copy())
        subgradient.run(1, time.monotonic() + 30)
    assert subgradient.steps == AVERAGE_STEPS + 10
    assert subgradient.best_dual is not None and subgradient.best_dual < first
    recent = used[-AVERAGE_STEPS:]
    assert (subgradient.average() == sum(recent, np.zeros_like(recent[0]))
            // AVERAGE_STEPS).all()
    # prices are never negative
    assert all((p >= 0).all() for p in used)


def test_guided_greedy_places_a_bid_where_its_key_is_largest_among_placements_that_gain() -> None:
    # One pool, 3 slots, 4 GPUs at $1. The flexible bid's three placements (any slot) gain the
    # same; its key prefers slot 2. A placement that does not fit, or does not gain, is
    # never taken however large its key.
    b = book(pools=[pool("p")], slots=3,
             asks=[ask("a", "p", 4, "1", end=3)],
             bids=[bid("flex", "u1", alternative("10", leg(4), latest_end=3))])
    instance = prepare(b)
    cands = instance.by_bid[0]
    starts = [instance.candidates[c].start for c in cands]
    orders = GreedyOrders(instance)
    key = np.zeros(len(instance.candidates), dtype=np.int64)
    key[cands[starts.index(2)]] = 5
    key[cands[starts.index(0)]] = 3
    chosen = guided_greedy(instance, orders, key, 0.0)
    assert [instance.candidates[c].start for c in chosen] == [2]
    # slot 2 taken already: the next best key among those that fit
    ledger = Ledger(instance)
    ledger.add(cands[starts.index(2)])
    assert instance.candidates[ledger.best_of_bid(0, key.tolist()) or 0].start == 0


def test_guided_greedy_is_a_valid_allocation_ordered_by_key_over_size() -> None:
    instance = small_market(2)
    relaxation = CandidatePrices(instance)
    subgradient = Subgradient(relaxation, 0)
    subgradient.run(40, time.monotonic() + 30)
    reduced = relaxation.reduced(subgradient.average())
    orders = GreedyOrders(instance)
    for exponent in (0.0, 0.5):
        order = orders.order_by(reduced, exponent)
        best = {b: max(reduced[c] / max(orders.size[c], 1) ** exponent
                       for c in instance.by_bid[b]) for b in order}
        assert all(best[a] >= best[z] for a, z in itertools.pairwise(order))
        chosen = guided_greedy(instance, orders, reduced, exponent)
        assert len({instance.candidates[c].bid for c in chosen}) == len(chosen) > 0
        # it fits: a ledger takes every placement in turn
        ledger = Ledger(instance)
        for c in chosen:
            assert ledger.extra_cost(c) is not None
            ledger.add(c)
        state = State(instance, chosen)
        state.repair()
        assert state.surplus > 0
