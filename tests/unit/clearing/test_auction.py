"""Winner determination, pricing and the result, one constraint family at a time."""

from __future__ import annotations

from decimal import Decimal

import pytest
from books import alternative, ask, bid, book, leg, pool, simple_bid
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpux.clearing.auction import clear
from gpux.clearing.check import check_result
from gpux.clearing.reference import reference_optimum
from gpux.clearing.solver import SolveParams
from gpux.domain.book import Book
from gpux.domain.bookjson import read_book
from gpux.domain.result import Result, result_to_doc
from gpux.marketgen.market import generate_market

FAST = SolveParams(time_limit=5.0, workers=1, seed=1)


def cleared(b: Book) -> Result:
    result = clear(b, FAST)
    assert check_result(b, result_to_doc(result)) == []
    return result


def winners(result: Result) -> set[str]:
    return {a.bid for a in result.accepted}


def test_capacity_lets_only_the_more_valuable_of_two_bids_in() -> None:
    b = book(pools=[pool("p")], asks=[ask("a", "p", 15, "1")],
             bids=[simple_bid("x", "u1", 10, "30"), simple_bid("y", "u2", 10, "25")])
    result = cleared(b)
    assert winners(result) == {"x"}
    assert result.surplus == Decimal(20)
    assert result.status == "optimal"


def test_at_most_one_alternative_of_a_bid_is_accepted() -> None:
    both = bid("x", "u1", alternative("12", leg(4, gpu=["H100"])),
               alternative("10", leg(4, gpu=["A100-80GB"])))
    b = book(pools=[pool("h"), pool("a", gpu="A100-80GB")],
             asks=[ask("ah", "h", 8, "1"), ask("aa", "a", 8, "1")], bids=[both])
    result = cleared(b)
    assert [(a.bid, a.alternative) for a in result.accepted] == [("x", 0)]


def test_a_package_gets_all_its_legs_or_nothing() -> None:
    package = bid("x", "u1", alternative("100", leg(4, gpu=["H100"]), leg(4, gpu=["L40S"])))
    b = book(pools=[pool("h"), pool("l", gpu="L40S")],
             asks=[ask("ah", "h", 8, "1"), ask("al", "l", 2, "1")], bids=[package])
    assert cleared(b).accepted == ()


def test_a_leg_runs_contiguously_inside_the_window_where_supply_is() -> None:
    late = bid("x", "u1", alternative("50", leg(2, duration=3), earliest_start=0,
                                      latest_end=8))
    b = book(pools=[pool("p")], asks=[ask("a", "p", 2, "1", start=4, end=8)], bids=[late],
             slots=8)
    result = cleared(b)
    (acc,) = result.accepted
    assert 4 <= acc.start <= 5
    assert acc.legs[0].end - acc.legs[0].start == 3


def test_the_cheaper_of_stacked_asks_supplies_first() -> None:
    b = book(pools=[pool("p")], asks=[ask("dear", "p", 10, "3"), ask("cheap", "p", 10, "1")],
             bids=[simple_bid("x", "u1", 12, "60")])
    result = cleared(b)
    supplied = {s.ask: s.gpus for s in result.supplied}
    assert supplied == {"cheap": 10, "dear": 2}
    assert result.surplus == Decimal(60 - 10 - 6)


def test_filters_keep_a_leg_off_pools_that_do_not_meet_them() -> None:
    b = book(pools=[pool("slow", uptime="99.0"), pool("eu", region="eu-west"),
                    pool("ok", uptime="99.99")],
             asks=[ask("a1", "slow", 8, "0.5"), ask("a2", "eu", 8, "0.5"),
                   ask("a3", "ok", 8, "2")],
             bids=[simple_bid("x", "u1", 8, "40", regions=["us-east"], min_uptime=Decimal("99.9"))])
    (acc,) = cleared(b).accepted
    assert acc.legs[0].pool == "ok"


def test_a_buyer_never_trades_with_its_own_ask() -> None:
    b = book(pools=[pool("p")], asks=[ask("mine", "p", 8, "1", seller="u1"),
                                      ask("theirs", "p", 8, "2")],
             bids=[simple_bid("x", "u1", 8, "40")])
    result = cleared(b)
    assert {s.ask for s in result.supplied} == {"theirs"}


def test_a_bid_that_cannot_pay_the_marginal_reserve_is_left_out() -> None:
    # Both bids together have the most surplus (7), but X would pay at least 20 > 16.
    b = book(pools=[pool("p")], asks=[ask("A", "p", 10, "1"), ask("B", "p", 5, "2")],
             bids=[simple_bid("x", "u1", 10, "16"), simple_bid("y", "u2", 5, "11")])
    result = cleared(b)
    assert result.surplus == Decimal(6)
    assert len(result.accepted) == 1


def test_prices_keep_a_losing_bid_from_envying_the_winner() -> None:
    b = book(pools=[pool("p")], asks=[ask("a", "p", 10, "1")],
             bids=[simple_bid("x", "u1", 10, "30"), simple_bid("y", "u2", 10, "20")])
    result = cleared(b)
    (price,) = result.prices
    assert Decimal(2) <= price.price <= Decimal(3)
    assert result.stats["pricing_envy"] == Decimal(0)


def test_a_short_time_limit_still_returns_a_valid_allocation() -> None:
    b = read_book(generate_market(300, seed=5, slots=48))
    result = clear(b, SolveParams(time_limit=0.5, workers=1, seed=0))
    assert check_result(b, result_to_doc(result)) == []
    assert result.surplus > 0
    assert result.bound >= result.surplus


@st.composite
def tiny_books(draw: st.DrawFn) -> Book:
    slots = draw(st.integers(1, 2))
    n_pools = draw(st.integers(1, 2))
    pools = [pool(f"p{i}", uptime=draw(st.sampled_from(["99.0", "99.9"])))
             for i in range(n_pools)]
    asks = []
    for i in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, slots - 1))
        asks.append(ask(f"a{i}", f"p{draw(st.integers(0, n_pools - 1))}",
                        draw(st.integers(1, 3)), str(draw(st.integers(0, 4))),
                        seller=draw(st.sampled_from(["dc", "u0"])), start=start,
                        end=draw(st.integers(start + 1, slots))))
    bids = []
    for i in range(draw(st.integers(1, 3))):
        alts = []
        for _ in range(draw(st.integers(1, 2))):
            legs = [leg(draw(st.integers(1, 3)), offset=0,
                        min_uptime=Decimal(draw(st.sampled_from(["99.0", "99.9"]))))
                    for _ in range(draw(st.integers(1, 2)))]
            alts.append(alternative(str(draw(st.integers(1, 20))), *legs, earliest_start=0,
                                    latest_end=slots))
        bids.append(bid(f"b{i}", f"u{i}", *alts))
    return book(pools=pools, asks=asks, bids=bids, slots=slots)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_books())
def test_clearing_matches_the_brute_force_optimum_on_tiny_books(b: Book) -> None:
    expected, _ = reference_optimum(b)
    result = cleared(b)
    assert result.status == "optimal"
    assert result.surplus == pytest.approx(expected, abs=Decimal("0.000001"))


def test_a_solve_stopped_before_any_solution_claims_no_bound_from_it() -> None:
    # A 0.3-s CP-SAT run on a whole component ends without a solution; its reported bound
    # (0) must not be taken as proof that greedy's allocation is optimal.
    b = read_book(generate_market(300, seed=7))
    result = clear(b, SolveParams(time_limit=0.3, workers=1, seed=0))
    assert check_result(b, result_to_doc(result)) == []
    assert result.status == "feasible"
    assert result.bound > result.surplus * Decimal("1.001")


def test_preparing_pauses_the_collector_and_restores_it_as_it_was() -> None:
    import gc
    import threading

    from gpux.clearing.auction import _collector_off

    assert gc.isenabled()
    inside = threading.Event()
    leave = threading.Event()

    def other() -> None:
        with _collector_off():
            inside.set()
            leave.wait(10)

    with _collector_off():
        assert not gc.isenabled()
        t = threading.Thread(target=other)
        t.start()
        assert inside.wait(10)
    # the other clearing is still preparing: the collector stays off until it ends
    assert not gc.isenabled()
    leave.set()
    t.join()
    assert gc.isenabled()
    clear(read_book(generate_market(30, 1, slots=24)), SolveParams(time_limit=2))
    assert gc.isenabled()
    gc.disable()
    try:
        with _collector_off():
            pass
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()
