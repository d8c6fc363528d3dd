"""The book's frozen dataclasses validate themselves and say which field and value were wrong."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal

import pytest

from gpux.domain.book import (
    MAX_ALTERNATIVES,
    MAX_GPUS,
    MAX_LEGS,
    MAX_MONEY,
    MAX_SLOTS,
    Alternative,
    Ask,
    Bid,
    Book,
    Leg,
    Pool,
)
from gpux.domain.errors import ExchangeError, InvalidValue, Problem


def pool(pool_id: str = "p1", *, gpu: str = "H100", region: str = "us-east",
         uptime: str = "99.9") -> Pool:
    return Pool(pool_id, "acme", gpu, region, Decimal(uptime))


def ask(*, pool_id: str = "p1", gpus: int = 4, start: int = 0, end: int = 10,
        price: str = "1.5") -> Ask:
    return Ask("a1", "acme", pool_id, gpus, start, end, Decimal(price))


def alternative(*legs: Leg, value: str = "100", earliest: int = 0, latest: int = 10) -> Alternative:
    return Alternative(Decimal(value), earliest, latest, legs or (Leg(1, 1),))


def invalid(make: Callable[[], object]) -> Problem:
    with pytest.raises(InvalidValue) as caught:
        make()
    return caught.value.problem


@pytest.mark.parametrize(
    ("make", "field", "value"),
    [
        (lambda: pool(pool_id=""), "id", ""),
        (lambda: pool(pool_id="x" * 201), "id", "x" * 201),
        (lambda: pool(uptime="0"), "uptime", Decimal(0)),
        (lambda: pool(uptime="100.001"), "uptime", Decimal("100.001")),
        (lambda: ask(gpus=0), "gpus", 0),
        (lambda: ask(gpus=MAX_GPUS + 1), "gpus", MAX_GPUS + 1),
        (lambda: ask(start=-1), "start", -1),
        (lambda: ask(start=10, end=10), "end", 10),
        (lambda: ask(price="-0.000001"), "price", Decimal("-0.000001")),
        (lambda: ask(price="Infinity"), "price", Decimal("Infinity")),
        (lambda: ask(price=str(MAX_MONEY + 1)), "price", MAX_MONEY + 1),
        (lambda: Leg(0, 1), "gpus", 0),
        (lambda: Leg(1, 0), "duration", 0),
        (lambda: Leg(1, MAX_SLOTS + 1), "duration", MAX_SLOTS + 1),
        (lambda: Leg(1, 1, -1), "offset", -1),
        (lambda: Leg(1, 1, gpu=()), "gpu", ()),
        (lambda: Leg(1, 1, regions=()), "regions", ()),
        (lambda: Leg(1, 1, pools=()), "pools", ()),
        (lambda: Leg(1, 1, min_uptime=Decimal("-1")), "min_uptime", Decimal(-1)),
        (lambda: alternative(value="0"), "value", Decimal(0)),
        (lambda: alternative(earliest=-2), "earliest_start", -2),
        (lambda: alternative(earliest=5, latest=5), "latest_end", 5),
        (lambda: Alternative(Decimal(1), 0, 5, ()), "legs", 0),
        (lambda: alternative(*[Leg(1, 1)] * (MAX_LEGS + 1)), "legs", MAX_LEGS + 1),
        (lambda: alternative(Leg(1, 4, offset=7)), "legs", 11),
        (lambda: Bid("", "lab", (alternative(),)), "id", ""),
        (lambda: Bid("b1", "lab", ()), "alternatives", 0),
        (lambda: Bid("b1", "lab", (alternative(),) * (MAX_ALTERNATIVES + 1)), "alternatives",
         MAX_ALTERNATIVES + 1),
        (lambda: Book(0, (), (), ()), "slots", 0),
        (lambda: Book(MAX_SLOTS + 1, (), (), ()), "slots", MAX_SLOTS + 1),
        (lambda: Book(10, (pool(), pool()), (), ()), "pools", 2),
        (lambda: Book(10, (pool(),), (ask(pool_id="p9"),), ()), "asks.pool", "p9"),
        (lambda: Book(5, (pool(),), (ask(),), ()), "asks.end", 10),
        (lambda: Book(5, (), (), (Bid("b1", "lab", (alternative(),)),)), "latest_end", 10),
    ],
)
def test_invalid_value_names_the_field_and_the_value_seen(
    make: Callable[[], object], field: str, value: object
) -> None:
    problem = invalid(make)
    assert problem.path == field
    assert problem.value == value


def test_invalid_value_message_reads_field_rule_and_value() -> None:
    with pytest.raises(InvalidValue) as caught:
        Leg(0, 1)
    assert str(caught.value) == f"gpus: must be between 1 and {MAX_GPUS}, was 0"
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, ExchangeError)
    assert caught.value.code == "invalid_value"


def test_window_too_short_for_the_legs_says_how_many_slots_each_has() -> None:
    problem = invalid(lambda: alternative(Leg(1, 4, offset=7), earliest=2, latest=12))
    assert problem.message == "need 11 slots but the window [2, 12) has 10"


def test_domain_values_are_frozen() -> None:
    leg = Leg(1, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        leg.gpus = 2  # type: ignore[misc]


def test_leg_without_filters_matches_every_pool() -> None:
    assert Leg(1, 1).matches(pool(gpu="L4", region="ap-northeast", uptime="99"))


@pytest.mark.parametrize(
    ("leg", "matches"),
    [
        (Leg(1, 1, gpu=("H100", "H200")), True),
        (Leg(1, 1, gpu=("A100-80GB",)), False),
        (Leg(1, 1, regions=("us-east", "us-west")), True),
        (Leg(1, 1, regions=("eu-west",)), False),
        (Leg(1, 1, min_uptime=Decimal("99.9")), True),
        (Leg(1, 1, min_uptime=Decimal("99")), True),
        (Leg(1, 1, min_uptime=Decimal("99.99")), False),
        (Leg(1, 1, pools=("p1",)), True),
        (Leg(1, 1, pools=("p2",)), False),
        (Leg(1, 1, gpu=("H100",), regions=("us-east",), min_uptime=Decimal("99.9"),
             pools=("p1", "p2")), True),
        (Leg(1, 1, gpu=("H100",), regions=("us-east",), pools=("p2",)), False),
    ],
)
def test_leg_matches_a_pool_only_when_every_given_filter_does(leg: Leg, matches: bool) -> None:
    assert leg.matches(pool("p1", gpu="H100", region="us-east", uptime="99.9")) is matches


def test_alternative_starts_are_every_slot_at_which_all_legs_fit() -> None:
    alt = alternative(Leg(1, 3), Leg(1, 2, offset=3), earliest=2, latest=10)
    assert alt.span == 5
    assert alt.starts() == range(2, 6)


def test_alternative_whose_legs_fill_the_window_has_one_start() -> None:
    alt = alternative(Leg(1, 4), Leg(2, 2, offset=2), earliest=3, latest=7)
    assert list(alt.starts()) == [3]


def test_bid_best_value_is_its_largest_alternative_value() -> None:
    bid = Bid("b1", "lab", (alternative(value="5"), alternative(value="7.5"), alternative()))
    assert bid.best_value == Decimal(100)


def test_book_lists_the_asks_of_one_pool() -> None:
    book = Book(10, (pool("p1"), pool("p2")), (ask(), ask(pool_id="p2"), ask()), ())
    assert len(list(book.asks_in("p1"))) == 2
    assert book.pool_by_id["p2"].id == "p2"
