"""The solver's start: greedy by margin per GPU-slot (the baseline), then greedy guided by
Lagrangian prices when there is time; the best of them."""

from __future__ import annotations

import os
import time

import pytest

from gpux.clearing import solver as solver_module
from gpux.clearing.greedy import GreedyOrders, greedy
from gpux.clearing.instance import prepare
from gpux.clearing.solver import SolveParams, solve
from gpux.clearing.start import GUIDED_MORE_STEPS, GUIDED_ROUNDS, GUIDED_STEPS, greedy_start
from gpux.clearing.state import State
from gpux.domain.bookjson import read_book
from gpux.marketgen.market import generate_market


def test_exponent_one_is_best_margin_per_gpu_slot_ties_by_bid_number() -> None:
    instance = prepare(read_book(generate_market(200, 5, slots=48)))
    sizes = [[sum(lg.gpus * lg.duration for lg in alt.legs) for alt in b.alternatives]
             for b in instance.book.bids]

    def density(b: int) -> int:
        return max(instance.candidates[c].margin // sizes[b][instance.candidates[c].alternative]
                   for c in instance.by_bid[b])

    expected = sorted((b for b in range(len(instance.by_bid)) if instance.by_bid[b]),
                      key=density, reverse=True)
    assert GreedyOrders(instance).order() == expected


def test_the_start_is_the_best_tried_and_never_below_the_baseline() -> None:
    gained = 0
    for seed in (1, 2, 3):
        instance = prepare(read_book(generate_market(150, seed, slots=48)))
        baseline_state = State(instance, greedy(instance))
        baseline_state.repair()
        start = greedy_start(instance, GreedyOrders(instance), time.monotonic() + 60,
                              time.monotonic() + 60)
        state, stats = start.state, start.stats
        assert start.baseline == baseline_state.surplus
        tried = stats["guided_tried"]
        assert isinstance(tried, list)
        # with time to spare: after the first steps, then after more, each round once
        assert 1 <= len(tried) <= GUIDED_ROUNDS
        assert [t[0] for t in tried][:2] == [GUIDED_STEPS, GUIDED_STEPS + GUIDED_MORE_STEPS][
            :len(tried)]
        assert state.surplus == max([start.baseline] + [t[1] for t in tried])
        assert stats["start_surplus_micros"] == state.surplus
        guided = stats["start"] == "guided"
        assert guided == (state.surplus > start.baseline)
        assert start.dual_prices is not None
        assert start.dual_prices.shape == (len(instance.pool_ids), instance.slots)
        gained += guided
        # the start is a valid allocation: repaired, every placement priceable
        again = State(instance, sorted(state.chosen))
        again.repair()
        assert again.surplus == state.surplus
        # no time beyond the baseline: the baseline alone
        start = greedy_start(instance, GreedyOrders(instance), time.monotonic() + 60,
                              time.monotonic())
        assert start.stats["start"] == "greedy" and start.state.surplus == start.baseline
        assert "guided_tried" not in start.stats
        assert start.dual_prices is None
    assert gained >= 1


def test_a_searched_component_the_start_left_no_time_for_is_not_searched() -> None:
    instance = prepare(read_book(generate_market(150, 1, slots=48)))
    with pytest.MonkeyPatch.context() as patch:
        # one component, searched from a Lagrangian start, and never time enough left
        patch.setattr(solver_module, "MAX_CANDIDATES", 10)
        patch.setattr(solver_module, "WHOLE_MODEL_CANDIDATES", 10)
        patch.setattr(solver_module, "SET_UP_SECONDS_PER_CANDIDATE", 1e9)
        solution = solve(instance, SolveParams(time_limit=5.0, workers=2, seed=0))
    stats = solution.stats
    assert solution.surplus == stats["start_surplus_micros"]
    assert stats["ejection_moves"] == stats["window_rounds"] == stats["lns_rounds"] == 0
    assert stats["cut_bounded_components"] == 0
    # the bound is the sum of every bid's best margin
    assert solution.bound == sum(max((instance.candidates[c].margin for c in cands), default=0)
                                 for cands in instance.by_bid)


def test_rounds_in_a_forked_process_find_what_one_process_finds() -> None:
    # market-150 s2: every round; market-20 s3: the steps stall in this process's second
    # round (the helper's first stalls at the same step); s1: they stall at the first step
    for bids, seed, beside in ((150, 2, True), (20, 3, True), (20, 1, False)):
        instance = prepare(read_book(generate_market(bids, seed, slots=48)))
        starts = {}
        for workers in (1, 2):
            starts[workers] = greedy_start(instance, GreedyOrders(instance),
                                           time.monotonic() + 60, time.monotonic() + 60,
                                           workers)
        one, two = starts[1], starts[2]
        assert one.stats["start_rounds_beside"] is False
        assert two.stats["start_rounds_beside"] is beside
        # the same rounds, steps and surplus, whichever process made them
        assert two.stats["guided_tried"] == one.stats["guided_tried"]
        assert sorted(two.state.chosen) == sorted(one.state.chosen)
        assert two.stats["lagrangian_steps"] == one.stats["lagrangian_steps"]
        assert two.stats["lagrangian_dual_micros"] == one.stats["lagrangian_dual_micros"]
        assert one.dual_prices is not None and two.dual_prices is not None
        assert (two.dual_prices == one.dual_prices).all()
        if (bids, seed) == (150, 2):
            # rounds after this process's half were made by the helper
            tried = one.stats["guided_tried"]
            assert isinstance(tried, list) and len(tried) > (GUIDED_ROUNDS + 1) // 2


def test_where_no_process_can_be_forked_one_process_makes_every_round() -> None:
    instance = prepare(read_book(generate_market(150, 2, slots=48)))
    with pytest.MonkeyPatch.context() as patch:
        patch.delattr(os, "fork")
        start = greedy_start(instance, GreedyOrders(instance), time.monotonic() + 60,
                             time.monotonic() + 60, 2)
    alone = greedy_start(instance, GreedyOrders(instance), time.monotonic() + 60,
                         time.monotonic() + 60, 1)
    assert start.stats["start_rounds_beside"] is False
    assert start.stats["guided_tried"] == alone.stats["guided_tried"]
    assert sorted(start.state.chosen) == sorted(alone.state.chosen)
