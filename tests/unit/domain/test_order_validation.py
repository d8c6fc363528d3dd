"""Orders are checked whole: every problem is reported with its field path and value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from gpux.domain.errors import InvalidOrder, LimitExceeded, Problem, WindowInPast
from gpux.domain.orders import (
    AskOrder,
    BidAlternative,
    BidLeg,
    BidOrder,
    OrderLimits,
    check_ask,
    check_bid,
    iso_hour,
    next_hour,
    peak_gpus,
)

NOW = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
T = datetime(2026, 12, 1, 10, tzinfo=UTC)
LIMITS = OrderLimits(max_gpus=64, max_hours=48, max_price_per_gpu_hour=Decimal("10"),
                     max_alternatives=2, max_legs=2, max_open_orders=5)


def h(hours: int) -> datetime:
    return T + timedelta(hours=hours)


def alt(*legs: BidLeg, value: str | None = "50", limit: str | None = None,
        start: int = 0, end: int = 24) -> BidAlternative:
    return BidAlternative(h(start), h(end), legs or (BidLeg(4, 8),),
                          Decimal(value) if value is not None else None,
                          Decimal(limit) if limit is not None else None)


def bid(*alts: BidAlternative, cid: str = "b-1") -> BidOrder:
    return BidOrder(cid, alts or (alt(),))


def ask(*, gpus: int = 8, start: int = 0, end: int = 24, price: str = "1.5",
        pool: str = "p1") -> AskOrder:
    return AskOrder("a-1", pool, gpus, h(start), h(end), Decimal(price))


def problems_of(order: BidOrder | AskOrder) -> tuple[type[Exception], list[Problem]]:
    with pytest.raises(InvalidOrder) as info:
        if isinstance(order, BidOrder):
            check_bid(order, now=NOW, limits=LIMITS)
        else:
            check_ask(order, now=NOW, limits=LIMITS)
    return type(info.value), list(info.value.problems)


def fields(order: BidOrder | AskOrder) -> list[str]:
    return [p.path for p in problems_of(order)[1]]


def test_a_good_bid_and_a_good_ask_pass() -> None:
    check_bid(bid(alt(BidLeg(2, 4, 2, ("H100",), ("us-east",), Decimal("99.9"), ("p1",)))),
              now=NOW, limits=LIMITS)
    check_ask(ask(), now=NOW, limits=LIMITS)


def test_a_leg_with_zero_gpus_is_named_by_its_path_and_value() -> None:
    kind, problems = problems_of(bid(alt(BidLeg(1, 2), BidLeg(0, 2))))
    assert kind is InvalidOrder
    assert problems == [Problem("alternatives[0].legs[1].gpus", "must be positive", 0)]
    assert str(problems[0]) == "alternatives[0].legs[1].gpus: must be positive, was 0"


def test_every_problem_is_collected_not_just_the_first() -> None:
    order = bid(alt(BidLeg(0, -1, -2, ("H9000",), ("mars",), Decimal("97"), ()),
                    value="1.0000001"), cid="")
    assert fields(order) == [
        "client_order_id", "alternatives[0].legs[0].gpus",
        "alternatives[0].legs[0].duration_hours", "alternatives[0].legs[0].offset_hours",
        "alternatives[0].legs[0].gpu[0]", "alternatives[0].legs[0].regions[0]",
        "alternatives[0].legs[0].pools", "alternatives[0].legs[0].min_uptime",
        "alternatives[0].value"]


def test_times_must_be_whole_utc_hours_with_a_zone() -> None:
    naive = BidAlternative(datetime(2026, 12, 2, 10), h(24), (BidLeg(1, 1),), Decimal(1))
    half = BidAlternative(h(0), h(24) + timedelta(minutes=30), (BidLeg(1, 1),), Decimal(1))
    cet = BidAlternative(h(0).astimezone(timezone(timedelta(hours=1))), h(24),
                         (BidLeg(1, 1),), Decimal(1))
    _, problems = problems_of(bid(naive, half))
    assert [(p.path, p.message) for p in problems] == [
        ("alternatives[0].earliest_start",
         "must be a UTC time with a zone (e.g. 2026-12-01T08:00:00Z)"),
        ("alternatives[1].latest_end", "must be a whole hour")]
    assert fields(bid(cet)) == ["alternatives[0].earliest_start"]


def test_legs_that_cannot_fit_their_window_are_refused() -> None:
    order = bid(alt(BidLeg(1, 8, 0), BidLeg(1, 8, 20), start=0, end=24))
    _, problems = problems_of(order)
    assert problems[0].path == "alternatives[0].legs"
    assert problems[0].value == 28


def test_a_window_that_has_passed_is_refused_as_in_the_past() -> None:
    kind, problems = problems_of(bid(alt(start=-30, end=-6)))
    assert kind is WindowInPast
    assert problems[0].path == "alternatives[0].latest_end"
    kind, _ = problems_of(ask(start=-30, end=-1))
    assert kind is WindowInPast


def test_a_window_that_began_is_accepted_while_the_legs_still_fit() -> None:
    # The first deliverable hour is 09:00; T is 10:00.
    check_bid(bid(alt(BidLeg(1, 8), start=-10, end=7)), now=NOW, limits=LIMITS)
    kind, problems = problems_of(bid(alt(BidLeg(1, 8), start=-10, end=6)))
    assert kind is WindowInPast
    assert problems[0].path == "alternatives[0].latest_end"


def test_sizes_and_prices_above_the_limits_are_refused_as_limits() -> None:
    kind, problems = problems_of(bid(alt(BidLeg(65, 2))))
    assert (kind, problems[0].path) == (LimitExceeded, "alternatives[0].legs[0].gpus")
    assert fields(bid(alt(BidLeg(1, 1), value="10.000001"))) == ["alternatives[0].value"]
    assert fields(bid(alt(BidLeg(1, 1), value=None, limit="10.5"))) == [
        "alternatives[0].limit_per_gpu_hour"]
    assert fields(bid(alt(end=49))) == ["alternatives[0].latest_end"]
    assert fields(bid(alt(), alt(), alt())) == ["alternatives"]
    assert fields(bid(alt(BidLeg(1, 1), BidLeg(1, 1), BidLeg(1, 1), value="3"))) == [
        "alternatives[0].legs"]
    kind, problems = problems_of(ask(price="10.01", gpus=65))
    assert kind is LimitExceeded
    assert [p.path for p in problems] == ["gpus", "price"]


def test_a_structural_problem_leads_the_error_class_over_a_limit() -> None:
    kind, problems = problems_of(bid(alt(BidLeg(0, 2), BidLeg(65, 2))))
    assert kind is InvalidOrder
    assert [p.path for p in problems] == ["alternatives[0].legs[0].gpus",
                                          "alternatives[0].legs[1].gpus"]


def test_a_value_is_given_in_total_or_per_gpu_hour_but_not_both() -> None:
    assert fields(bid(alt(value="1", limit="1"))) == ["alternatives[0].value"]
    assert fields(bid(alt(value=None))) == ["alternatives[0].value"]
    per_hour = alt(BidLeg(4, 8), BidLeg(2, 4, 8), value=None, limit="1.25")
    check_bid(bid(per_hour), now=NOW, limits=LIMITS)
    assert per_hour.total_value == Decimal("50.00")


def test_money_has_at_most_six_decimal_places() -> None:
    _, problems = problems_of(ask(price="1.0000005"))
    assert problems == [Problem("price", "must have at most 6 decimal places",
                                Decimal("1.0000005"))]


def test_the_canonical_document_is_equal_for_equal_orders() -> None:
    a = bid(alt(value="100.50")).to_doc()
    b = bid(alt(value="100.5")).to_doc()
    assert a == b
    assert a["alternatives"][0]["earliest_start"] == "2026-12-01T10:00:00Z"
    assert bid(alt(value="100.51")).to_doc() != a


def test_iso_hour_and_next_hour() -> None:
    assert iso_hour(h(0).astimezone(timezone(timedelta(hours=2)))) == "2026-12-01T10:00:00Z"
    assert next_hour(NOW) == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert next_hour(T) == T


def test_peak_gpus_is_the_busiest_hour_inside_the_window() -> None:
    intervals = [(h(0), h(10), 5), (h(5), h(20), 3), (h(10), h(20), 4), (h(30), h(40), 9)]
    assert peak_gpus(intervals, h(0), h(24)) == 8
    assert peak_gpus(intervals, h(10), h(24)) == 7
    assert peak_gpus(intervals, h(20), h(30)) == 0
    assert peak_gpus([], h(0), h(1)) == 0
