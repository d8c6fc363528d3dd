"""Deadlines inside the clearing: enumeration and greedy stop, the result is still valid."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from test_auction import tiny_books

from gpux.clearing import auction as auction_module
from gpux.clearing import solver as solver_module
from gpux.clearing.allocation import Allocation
from gpux.clearing.auction import clear
from gpux.clearing.bound import LagrangianBound
from gpux.clearing.check import check_result
from gpux.clearing.greedy import greedy
from gpux.clearing.instance import Instance, IntArray, prepare
from gpux.clearing.pricing_instance import prepare_pricing
from gpux.clearing.reference import reference_optimum
from gpux.clearing.solver import Solution, SolveParams
from gpux.domain.book import Book
from gpux.domain.bookjson import read_book
from gpux.domain.money import from_micros
from gpux.domain.result import result_to_doc
from gpux.marketgen.market import generate_market


def market(bids: int) -> Book:
    return read_book(generate_market(bids, seed=3))


def test_bids_past_the_enumeration_deadline_get_no_candidates_and_are_counted() -> None:
    b = market(200)
    instance = prepare(b, deadline=time.monotonic() - 1.0)
    assert instance.candidates == []
    assert instance.stats["pruned_by_deadline"] == len(b.bids)


def test_enumeration_without_a_deadline_cuts_no_bid() -> None:
    instance = prepare(market(200))
    assert instance.stats["pruned_by_deadline"] == 0
    assert instance.candidates


def test_greedy_past_its_deadline_accepts_nothing_more() -> None:
    instance = prepare(market(200))
    assert greedy(instance, deadline=time.monotonic() - 1.0) == []
    assert greedy(instance)


def test_a_clearing_whose_enumeration_ran_out_of_time_is_valid_and_bounded() -> None:
    b = market(200)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auction_module, "PREPARE_SHARE", 0.0)  # the deadline is already past
        result = clear(b, SolveParams(time_limit=5.0, workers=1, seed=1))
    assert check_result(b, result_to_doc(result)) == []
    assert result.stats["pruned_by_deadline"] == len(b.bids)
    assert result.accepted == ()
    assert result.status == "feasible"
    assert result.bound > 0


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_books())
def test_the_bound_of_a_cut_enumeration_is_never_below_the_optimum(b: Book) -> None:
    expected, _ = reference_optimum(b)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auction_module, "PREPARE_SHARE", 0.0)
        patch.setattr(auction_module, "MIN_BOUND_SECONDS", 1e9)  # no time left for the LP
        result = clear(b, SolveParams(time_limit=5.0, workers=1, seed=1))
    assert check_result(b, result_to_doc(result)) == []
    assert result.stats["bound"] == {"method": "no time left: the sum of best values"}
    assert result.bound >= expected >= Decimal(0)


def solve_limits() -> tuple[list[float], Callable[..., Solution]]:
    """A list, and a stand-in for the auction's `solve` that notes in it the time limit
    each solve is given, then solves."""
    limits: list[float] = []
    real_solve = auction_module.solve

    def recording(instance: Instance, params: SolveParams,
                  comps: list[list[int]] | None = None,
                  on_prices: Callable[[IntArray], None] | None = None) -> Solution:
        limits.append(params.time_limit)
        return real_solve(instance, params, comps, on_prices)

    return limits, recording


def test_a_solve_starting_from_lagrangian_prices_takes_the_bounds_share_beyond_its_set_up(
        ) -> None:
    # A component above the LP's size (here: any, by a patched size) is started from
    # Lagrangian prices, which the bound then only evaluates: the solve gets what pricing
    # and the bound's set-up leave, more than its own share.
    b = market(150)
    limits, recording = solve_limits()
    left = []
    for guided in (False, True):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(auction_module, "solve", recording)
            patch.setattr(auction_module, "MAX_CANDIDATES", 10 if guided else 10**9)
            patch.setattr(auction_module, "_incomplete", lambda instance: True)
            result = clear(b, SolveParams(time_limit=6.0, workers=1, seed=0))
        assert check_result(b, result_to_doc(result)) == []
        left.append(6.0 - float(result.stats["headroom_seconds"]))
    plain, guided_limit = limits
    assert plain <= auction_module.SOLVE_SHARE * left[0]
    assert guided_limit > auction_module.SOLVE_SHARE * left[1]


def test_where_the_solver_proves_the_bound_pricing_keeps_only_what_it_needs() -> None:
    b = market(150)
    limits, recording = solve_limits()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auction_module, "solve", recording)
        result = clear(b, SolveParams(time_limit=20.0, workers=2, seed=0))
    assert check_result(b, result_to_doc(result)) == []
    left = 20.0 - float(result.stats["headroom_seconds"])
    need = max(auction_module.MIN_PRICING_SECONDS,
               auction_module.PRICING_SECONDS_PER_BID * len(b.bids))
    # the solve had all but pricing's need (preparing took a little of `left` too)
    assert left - need - 1.0 < limits[0] <= left - need
    assert limits[0] > (auction_module.SOLVE_SHARE + auction_module.BOUND_SHARE) * left


def test_with_a_helper_beside_the_solve_the_solve_keeps_all_but_pricings_share() -> None:
    # With two workers the bound of a Lagrangian start is set up in a helper process while
    # the solve runs: the solve does not leave the bound any time.
    b = market(150)
    limits, recording = solve_limits()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auction_module, "solve", recording)
        patch.setattr(auction_module, "MAX_CANDIDATES", 10)
        patch.setattr(auction_module, "_incomplete", lambda instance: True)
        result = clear(b, SolveParams(time_limit=6.0, workers=2, seed=0))
    assert check_result(b, result_to_doc(result)) == []
    left = 6.0 - float(result.stats["headroom_seconds"])
    most = (1 - auction_module.PRICING_SHARE) * left
    # preparing the instance took a little of `left`
    assert most - 1.0 < limits[0] <= most


def test_the_bound_of_a_lagrangian_start_comes_from_its_prices_evaluated_beside_the_solve(
        ) -> None:
    b = market(150)
    sent: list[IntArray] = []
    real_solve = auction_module.solve

    def noting(instance: Instance, params: SolveParams, comps: list[list[int]] | None = None,
               on_prices: Callable[[IntArray], None] | None = None) -> Solution:
        def both(prices: IntArray) -> None:
            sent.append(prices)
            assert on_prices is not None
            on_prices(prices)

        return real_solve(instance, params, comps, both if on_prices else None)

    with pytest.MonkeyPatch.context() as patch:
        # every component is past the LP's size, so the solver starts from Lagrangian prices
        patch.setattr(auction_module, "MAX_CANDIDATES", 10)
        patch.setattr(solver_module, "MAX_CANDIDATES", 10)
        # and, as if candidates had been capped, only the relaxation bounds the book
        patch.setattr(auction_module, "_incomplete", lambda instance: True)
        patch.setattr(auction_module, "solve", noting)
        result = clear(b, SolveParams(time_limit=8.0, workers=2, seed=0))
    assert check_result(b, result_to_doc(result)) == []
    assert result.stats["bound"]["method"] == "Lagrangian prices, beside the solve"
    assert len(sent) == 1
    lagrange = LagrangianBound(b, prepare_pricing(b, Allocation(())))
    expected = lagrange.at(auction_module._bound_layout(b, sent[0]))
    assert result.bound == max(from_micros(expected), result.surplus)
