"""The cut relaxation: its bound is proven (never below the optimum) and tighter than the LP."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from books import alternative, ask, bid, book, leg, pool, simple_bid
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpux.clearing import solver as solver_module
from gpux.clearing.auction import clear
from gpux.clearing.check import check_result
from gpux.clearing.cliques import ConflictIndex, clique_cuts
from gpux.clearing.cutbound import CutRelaxation
from gpux.clearing.instance import prepare
from gpux.clearing.reference import reference_optimum
from gpux.clearing.solver import SolveParams
from gpux.domain.book import Book
from gpux.domain.money import to_micros
from gpux.domain.result import result_to_doc


def relaxed(b: Book) -> tuple[CutRelaxation, int | None, int | None]:
    """The relaxation over every bid, its LP bound and its bound after cuts."""
    instance = prepare(b)
    bids = [i for i, cands in enumerate(instance.by_bid) if cands]
    relaxation = CutRelaxation(instance, bids, 5.0)
    relaxation.solve(5.0)
    lp = relaxation.bound()
    relaxation.tighten(time.monotonic() + 5.0)
    return relaxation, lp, relaxation.bound()


def test_a_capacity_cut_leaves_room_for_one_of_two_jobs_that_cannot_share() -> None:
    # Two 10-GPU bids on 15 GPUs: the LP takes one and a half bids (45 - 15 = 30); the cut
    # floor(10/10) x + floor(10/10) y <= floor(15/10) takes one (30 - 10 = 20).
    b = book(pools=[pool("p")], asks=[ask("a", "p", 15, "1")],
             bids=[simple_bid("x", "u1", 10, "30"), simple_bid("y", "u2", 10, "30")])
    relaxation, lp, cut = relaxed(b)
    assert lp == to_micros(Decimal(30))
    assert cut == to_micros(Decimal(20))
    assert relaxation.cuts >= 1


def test_a_clique_cut_spans_one_bids_starts_and_a_job_beside_both() -> None:
    # x runs 6 GPUs in slot 0 or slot 1; y runs 6 GPUs over both slots; 10 GPUs a slot.
    # y conflicts with x at either start, so at most one of the three placements is taken.
    b = book(pools=[pool("p")], asks=[ask("a", "p", 10, "0", end=2)],
             bids=[bid("x", "u1", alternative("10", leg(6), earliest_start=0, latest_end=2)),
                   bid("y", "u2", alternative("10", leg(6, duration=2), latest_end=2))],
             slots=2)
    instance = prepare(b)
    relaxation = CutRelaxation(instance, [0, 1], 5.0)
    x = relaxation.solve(5.0)
    assert x is not None
    values = x.x[: len(instance.candidates)]
    cuts = clique_cuts(values, relaxation.take_col, relaxation.take_row,
                       relaxation.take_gpus, relaxation.cap, relaxation.bid,
                       ConflictIndex(relaxation.take_col, relaxation.take_row,
                                     relaxation.take_gpus, relaxation.cap, relaxation.bid))
    assert [sorted(c.tolist()) for c, _, _ in cuts] == [[0, 1, 2]]
    relaxation.tighten(time.monotonic() + 5.0)
    assert relaxation.bound() == to_micros(Decimal(10))


@st.composite
def packing_books(draw: st.DrawFn) -> Book:
    """Small books whose jobs pack badly: GPUs per leg near the pools' capacity."""
    slots = draw(st.integers(1, 3))
    n_pools = draw(st.integers(1, 2))
    pools = [pool(f"p{i}") for i in range(n_pools)]
    asks = []
    for i in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, slots - 1))
        asks.append(ask(f"a{i}", f"p{draw(st.integers(0, n_pools - 1))}",
                        draw(st.integers(2, 10)), str(draw(st.integers(0, 3))),
                        start=start, end=draw(st.integers(start + 1, slots))))
    bids = []
    for i in range(draw(st.integers(2, 4))):
        alts = []
        for _ in range(draw(st.integers(1, 2))):
            legs = [leg(draw(st.integers(1, 8)), duration=draw(st.integers(1, slots)))
                    for _ in range(draw(st.integers(1, 2)))]
            alts.append(alternative(str(draw(st.integers(1, 60))), *legs, earliest_start=0,
                                    latest_end=slots))
        bids.append(bid(f"b{i}", f"u{i}", *alts))
    return book(pools=pools, asks=asks, bids=bids, slots=slots)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packing_books())
def test_the_cut_bound_is_never_below_the_brute_force_optimum(b: Book) -> None:
    expected, _ = reference_optimum(b)
    _, lp, cut = relaxed(b)
    if lp is None:
        assert expected == 0
        return
    assert cut is not None
    assert to_micros(expected) <= cut <= lp


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packing_books())
def test_a_searched_components_cut_bound_is_never_below_the_brute_force_optimum(
        b: Book) -> None:
    expected, _ = reference_optimum(b)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(solver_module, "WHOLE_MODEL_CANDIDATES", 0)  # every component searched
        result = clear(b, SolveParams(time_limit=0.5, workers=1, seed=1))
    assert check_result(b, result_to_doc(result)) == []
    assert result.bound >= expected
    assert result.surplus <= expected


def test_the_solver_reports_the_cut_bound_of_a_searched_component() -> None:
    b = book(pools=[pool("p")], asks=[ask("a", "p", 15, "1")],
             bids=[simple_bid("x", "u1", 10, "30"), simple_bid("y", "u2", 10, "30")])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(solver_module, "WHOLE_MODEL_CANDIDATES", 0)
        result = clear(b, SolveParams(time_limit=1.0, workers=1, seed=1))
    assert result.stats["cut_bounded_components"] == 1
    assert result.bound == Decimal(20)
    assert result.status == "optimal"


def test_a_re_solve_gets_the_time_it_is_given_whatever_the_solves_before_took() -> None:
    # HiGHS's time limit counts the run time of every solve of one object: a re-solve given
    # less than the solves before had taken stopped at once (market-1000 at 10 s: the first
    # round's re-solve, given 1.1 s after an LP of 1.4 s, ended after 0.02 s, no bound kept).
    b = book(pools=[pool("p")], asks=[ask("a", "p", 15, "1")],
             bids=[simple_bid("x", "u1", 10, "30"), simple_bid("y", "u2", 10, "30")])
    relaxation = CutRelaxation(prepare(b), [0, 1], 5.0)
    assert relaxation.solve(5.0) is not None
    before = relaxation.h.getRunTime()
    assert before > 0
    assert relaxation.solve(0.5) is not None
    limit = relaxation.h.getOptionValue("time_limit")
    limit = limit[1] if isinstance(limit, tuple) else limit
    assert limit >= before + 0.5
