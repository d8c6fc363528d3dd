"""LP guidance: the relaxation bounds the optimum, its rounding and MIP are valid starts."""

from __future__ import annotations

import pytest
from books import ask, book, pool, simple_bid
from hypothesis import HealthCheck, given, settings
from test_auction import tiny_books

from gpux.clearing import solver as solver_module
from gpux.clearing.auction import clear
from gpux.clearing.instance import prepare
from gpux.clearing.lpguide import MipRun, fitting, round_lp, solve_lp, solve_mip
from gpux.clearing.reference import reference_optimum
from gpux.clearing.solver import SolveParams, components
from gpux.clearing.state import State
from gpux.clearing.supply import cheapest_supply, repair, surplus_of
from gpux.domain.book import Book
from gpux.domain.bookjson import read_book
from gpux.domain.money import to_micros
from gpux.marketgen.market import generate_market


def test_the_lp_takes_one_and_a_half_of_two_bids_that_cannot_both_fit() -> None:
    b = book(pools=[pool("p")], asks=[ask("a", "p", 15, "1")],
             bids=[simple_bid("x", "u1", 10, "30"), simple_bid("y", "u2", 10, "30")])
    instance = prepare(b)
    guide = solve_lp(instance, [0, 1], time_limit=5.0)
    assert guide is not None
    assert guide.objective == pytest.approx(45 - 15)
    assert sorted(guide.x.tolist()) == pytest.approx([0.5, 1.0])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_books())
def test_the_lp_is_never_below_the_brute_force_optimum(b: Book) -> None:
    expected, _ = reference_optimum(b)
    instance = prepare(b)
    bids = [i for i, cands in enumerate(instance.by_bid) if cands]
    guide = solve_lp(instance, bids, time_limit=5.0)
    if guide is None:
        assert not bids
        return
    assert guide.objective * 1e6 >= to_micros(expected) - 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_books())
def test_the_rounding_and_the_mip_give_feasible_allocations(b: Book) -> None:
    instance = prepare(b)
    bids = [i for i, cands in enumerate(instance.by_bid) if cands]
    guide = solve_lp(instance, bids, time_limit=5.0)
    if guide is None:
        return
    cands = [c for i in bids for c in instance.by_bid[i]]
    for chosen in (round_lp(instance, guide, bids),
                   fitting(instance, solve_mip(instance, cands, [], time_limit=5.0))):
        state = State(instance, chosen)  # raises if the supply cannot serve it
        state.repair()
        final = sorted(state.chosen)
        assert state.surplus == surplus_of(instance, final, cheapest_supply(instance, final))
        assert repair(instance, final)[0] == final


def test_a_searched_component_starts_from_the_lp_and_stays_valid(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solver_module, "WHOLE_MODEL_CANDIDATES", 10)
    b = read_book(generate_market(120, 3, slots=48))
    instance = prepare(b)
    assert len(components(instance)) >= 1
    result = clear(b, SolveParams(time_limit=3.0, workers=2, seed=0))
    assert "lp_seconds" in result.stats
    assert result.status == "feasible"


def test_a_mip_asked_to_stop_before_it_starts_returns_nothing() -> None:
    instance = prepare(read_book(generate_market(60, 2, slots=24)))
    cands = list(range(len(instance.candidates)))
    run = MipRun(instance, cands, [], time_limit=5.0)
    run.stop.set()
    run.solve()
    assert run.picked == []
    assert not run.optimal


def test_the_mip_alone_proves_a_small_market_optimal() -> None:
    instance = prepare(read_book(generate_market(30, 2, slots=24)))
    cands = list(range(len(instance.candidates)))
    run = MipRun(instance, cands, [], time_limit=10.0)
    done: list[bool] = []
    run.solve(lambda: done.append(True))
    assert done == [True]
    assert run.optimal
    assert run.bound is not None


def test_a_mip_over_no_candidates_picks_nothing() -> None:
    # a window whose LP used no candidate, around bids none of which is accepted: the MIP
    # runs in a window thread, where an exception would end the thread's search
    instance = prepare(read_book(generate_market(40, 1, slots=24)))
    fixed = [instance.by_bid[b][0] for b in range(3) if instance.by_bid[b]]
    for run in (MipRun(instance, [], [], 1.0), MipRun(instance, [], [], 1.0, fixed)):
        run.solve()
        assert run.picked == [] and not run.optimal
