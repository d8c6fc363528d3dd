"""The solver's start: greedy by margin per GPU-slot (the baseline), then greedy guided by
Lagrangian prices when there is time; the best of them."""

from __future__ import annotations

import time

from gpux.clearing.greedy import GreedyOrders, greedy
from gpux.clearing.instance import prepare
from gpux.clearing.solver import GUIDED_EXPONENTS, GUIDED_ROUNDS, _greedy_start
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
        state, baseline, stats, _ = _greedy_start(
            instance, GreedyOrders(instance), time.monotonic() + 60, time.monotonic() + 60)
        assert baseline == baseline_state.surplus
        tried = stats["guided_tried"]
        assert isinstance(tried, list)
        # with time to spare: every exponent after the first steps, then after more
        assert [t[1] for t in tried[:len(GUIDED_EXPONENTS)]] == list(GUIDED_EXPONENTS)
        assert len(tried) <= GUIDED_ROUNDS * len(GUIDED_EXPONENTS)
        assert state.surplus == max([baseline] + [t[2] for t in tried])
        assert stats["start_surplus_micros"] == state.surplus
        assert (stats["start"] == "guided") == (state.surplus > baseline)
        gained += state.surplus > baseline
        # the start is a valid allocation: repaired, every placement priceable
        again = State(instance, sorted(state.chosen))
        again.repair()
        assert again.surplus == state.surplus
        # no time beyond the baseline: the baseline alone
        state, baseline, stats, _ = _greedy_start(
            instance, GreedyOrders(instance), time.monotonic() + 60, time.monotonic())
        assert stats["start"] == "greedy" and state.surplus == baseline
        assert "guided_tried" not in stats
    assert gained >= 1
