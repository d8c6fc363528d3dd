"""The relaxation bound: never below the true optimum, tight where the LP is."""

from __future__ import annotations

import time
from decimal import Decimal

import numpy as np
import pytest
from books import ask, book, pool, simple_bid
from hypothesis import HealthCheck, given, settings
from test_auction import tiny_books

from gpux.clearing import bound as bound_module
from gpux.clearing.allocation import Allocation
from gpux.clearing.bound import LagrangianBound, bound_beside, relaxation_bound
from gpux.clearing.helper import Helper
from gpux.clearing.pricing_instance import prepare_pricing
from gpux.clearing.reference import reference_optimum
from gpux.domain.book import Book
from gpux.domain.bookjson import read_book
from gpux.domain.money import to_micros
from gpux.marketgen.market import generate_market


def test_bound_equals_the_optimum_when_the_relaxation_is_integral() -> None:
    b = book(pools=[pool("p")], asks=[ask("a", "p", 10, "1")],
             bids=[simple_bid("x", "u1", 10, "30"), simple_bid("y", "u2", 10, "20")])
    bound, stats = relaxation_bound(b, Allocation(()), time_limit=5.0)
    assert bound == to_micros(Decimal(30 - 10))
    assert stats["converged"] is True


def test_bound_counts_fractional_packing_above_the_integer_optimum() -> None:
    # Two 10-GPU bids on 15 GPUs: integer optimum 20 (one bid), LP takes 1.5 bids: 30.
    b = book(pools=[pool("p")], asks=[ask("a", "p", 15, "1")],
             bids=[simple_bid("x", "u1", 10, "30"), simple_bid("y", "u2", 10, "30")])
    bound, _ = relaxation_bound(b, Allocation(()), time_limit=5.0)
    assert bound == to_micros(Decimal(45 - 15))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_books())
def test_bound_is_never_below_the_brute_force_optimum(b: Book) -> None:
    expected, allocation = reference_optimum(b)
    bound, _ = relaxation_bound(b, allocation, time_limit=5.0)
    assert bound is not None
    assert bound >= to_micros(expected)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_books())
def test_subgradient_bound_is_never_below_the_brute_force_optimum(b: Book) -> None:
    expected, allocation = reference_optimum(b)
    zero = np.zeros((len({a.pool for a in b.asks}), b.slots), dtype=np.int64)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bound_module, "SUBGRADIENT_ABOVE_BIDS", 0)
        bound, stats = relaxation_bound(b, allocation, time_limit=0.2, prices=[zero],
                                        target=to_micros(expected))
    assert stats["method"] == "subgradient"
    assert bound is not None
    assert bound >= to_micros(expected)


def test_with_no_time_left_the_bound_is_the_least_at_the_prices_given() -> None:
    # 15 GPUs at $1, two 10-GPU bids worth $30: at price 0 the bound is 30 + 30 (both bids)
    # + 0; at price 3 per GPU both bids are worth 0 and the offer 15 x (3 - 1) = 30.
    b = book(pools=[pool("p")], asks=[ask("a", "p", 15, "1")],
             bids=[simple_bid("x", "u1", 10, "30"), simple_bid("y", "u2", 10, "30")])
    zero = np.zeros((1, 1), dtype=np.int64)
    three = np.full((1, 1), 3_000_000, dtype=np.int64)
    bound, stats = relaxation_bound(b, Allocation(()), time_limit=0.0, prices=[zero, three])
    assert stats["method"] == "prices given" and stats["rounds"] == 0
    assert bound == to_micros(Decimal(30))


def test_a_helper_beside_the_solve_answers_the_least_bound_at_the_prices_it_is_sent() -> None:
    b = read_book(generate_market(120, seed=5))
    inst = prepare_pricing(b, Allocation(()))
    lagrange = LagrangianBound(b, inst)
    rng = np.random.default_rng(5)
    sent = [rng.integers(0, 4_000_000, size=inst.has_ask.shape, dtype=np.int64)
            for _ in range(3)]
    helper = Helper.start(bound_beside(b))
    assert helper is not None
    for prices in sent:
        helper.send(prices)
    helper.send(None)
    answer = helper.result(time.monotonic() + 60)
    assert isinstance(answer, tuple)
    value, stats = answer
    assert value == min(lagrange.at(prices) for prices in sent)
    assert stats["prices_evaluated"] == 3


def test_a_helper_sent_no_prices_answers_no_bound() -> None:
    helper = Helper.start(bound_beside(read_book(generate_market(40, seed=5))))
    assert helper is not None
    helper.send(None)
    answer = helper.result(time.monotonic() + 60)
    assert isinstance(answer, tuple) and answer[0] is None
