"""The solver's start: the best of several greedy orders, the first being the baseline."""

from __future__ import annotations

import itertools
import time

from books import alternative, bid, book, leg, pool
from books import ask as ask_doc

from gpux.clearing.greedy import GreedyOrders, greedy
from gpux.clearing.instance import prepare
from gpux.clearing.solver import GREEDY_STEP, _greedy_start
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
    assert GreedyOrders(instance).order(0.5) != expected


def test_a_smaller_exponent_takes_the_big_job_the_baseline_order_loses() -> None:
    # 10 GPUs for 4 slots. The big job (10 GPUs x 4 slots, $200) is worth less per GPU-slot
    # than the small one (2 GPUs x 1 slot, $12), which greedy by margin per GPU-slot takes
    # first; then the big job no longer fits. Over the square root of size, the big job
    # ranks first and the allocation is worth $200 - $40 of reserves, against $12 - $2.
    b = book(pools=[pool("p")], slots=4,
             asks=[ask_doc("a", "p", 10, "1", end=4)],
             bids=[bid("small", "u1", alternative("12", leg(2), latest_end=4)),
                   bid("big", "u2", alternative("200", leg(10, 4), latest_end=4))])
    instance = prepare(b)
    orders = GreedyOrders(instance)
    assert orders.order(1.0) == [0, 1]
    assert orders.order(0.5) == [1, 0]
    assert [instance.candidates[c].bid for c in greedy(instance, orders.order(0.5))] == [1]
    state, baseline, stats = _greedy_start(
            instance, GreedyOrders(instance), time.monotonic() + 60, time.monotonic() + 60)
    assert baseline == 10_000_000
    assert state.surplus == 160_000_000
    assert stats["start_surplus_micros"] == 160_000_000
    assert stats["greedy_exponent"] != 1.0


def test_the_start_is_the_best_order_tried_and_never_below_the_baseline() -> None:
    for seed in (1, 2, 3):
        instance = prepare(read_book(generate_market(150, seed, slots=48)))
        baseline_state = State(instance, greedy(instance))
        baseline_state.repair()
        state, baseline, stats = _greedy_start(
            instance, GreedyOrders(instance), time.monotonic() + 60, time.monotonic() + 60)
        assert baseline == baseline_state.surplus
        tried = stats["greedy_exponents_tried"]
        assert isinstance(tried, list) and tried[0] == 1.0 and len(tried) >= 2
        # with time to spare, the exponent went down a step while the surplus rose
        assert all(abs(a - b - GREEDY_STEP) < 1e-9 for a, b in itertools.pairwise(tried))
        surplus = []
        for exponent in tried:
            again = State(instance, greedy(instance, GreedyOrders(instance).order(exponent)))
            again.repair()
            surplus.append(again.surplus)
        assert all(a < b for a, b in list(itertools.pairwise(surplus))[:-1])
        assert surplus[-1] <= surplus[-2] or tried[-1] < 1.5 * GREEDY_STEP
        assert state.surplus == max(surplus) == surplus[tried.index(stats["greedy_exponent"])]
        # no time beyond the baseline: the baseline alone
        state, baseline, stats = _greedy_start(
            instance, GreedyOrders(instance), time.monotonic() + 60, time.monotonic())
        assert stats["greedy_exponents_tried"] == [1.0] and state.surplus == baseline
