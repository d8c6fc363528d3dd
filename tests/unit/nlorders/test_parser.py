"""The grammar: quantities, models, windows, prices, legs, errors that quote the words."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpux.domain.book import Pool
from gpux.domain.errors import ExchangeError
from gpux.nlorders.errors import UnreadableOrder
from gpux.nlorders.lexicon import number
from gpux.nlorders.order import BuyOrder, SellOrder, to_doc
from gpux.nlorders.parser import parse

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
WORDS = {1: "one", 2: "two", 3: "three", 8: "eight", 12: "twelve", 16: "sixteen",
         24: "twenty-four", 32: "thirty-two", 64: "sixty-four", 99: "ninety-nine"}


def test_the_issue_example_gives_two_alternatives_with_their_own_prices() -> None:
    order = parse("need 64 H100s for three days straight sometime next week in us-east, five "
                  "nines, up to $2.40 an hour each; A100s would do at $1.50", NOW)
    assert isinstance(order, BuyOrder)
    first, second = order.alternatives
    assert (first.value, second.value) == (Decimal("11059.2"), Decimal("6912"))
    assert second.legs[0].gpu == ("A100-80GB", "A100-40GB")
    assert to_doc(order)["alternatives"][0]["earliest_start"] == "2026-12-07T00:00:00Z"  # type: ignore[index]


def test_order_without_price_is_an_error_asking_for_one() -> None:
    with pytest.raises(UnreadableOrder) as err:
        parse("need 8 H100 for 2 days in us-east", NOW)
    assert err.value.field == "price"
    assert "no price given" in str(err.value)
    assert isinstance(err.value, ExchangeError)


@pytest.mark.parametrize(("text", "field", "words"), [
    ("8 V100 for 2 days at $1/gpu/hr", "gpu", "V100"),
    ("8 H100 for 3 moons at $2/gpu/hr", "order", "3 moons"),
    ("8 H100 for 2 days at $2/gpu/hr, not in asia", "regions", "not in asia"),
    ("8 H100 for 2 days at $2/gpu/hr every night", "duration", "every night"),
    ("a few A100s for 2 days at $1.50/gpu/hr", "gpus", "a few A100s"),
])
def test_unreadable_words_are_quoted_with_the_field(text: str, field: str, words: str) -> None:
    with pytest.raises(UnreadableOrder) as err:
        parse(text, NOW)
    assert err.value.field == field
    assert words in err.value.words
    assert f'"{err.value.words}"' in str(err.value)


def test_then_puts_the_next_leg_after_the_ones_before() -> None:
    order = parse("16 H100 for 2 days at $2.50/gpu-hr then 8 L40S for a day at $1/gpu/hr", NOW)
    assert isinstance(order, BuyOrder)
    assert [leg.offset_hours for leg in order.alternatives[0].legs] == [0, 48]


def test_sell_order_names_a_registered_pool() -> None:
    pools = [Pool("acme-h100-use", "acme", "H100", "us-east", Decimal("99.99"))]
    order = parse("selling 64 H100 from acme-h100-use next week at least $1.85/gpu/hr", NOW,
                  pools=pools)
    assert isinstance(order, SellOrder)
    assert (order.pool, order.gpus, order.price) == ("acme-h100-use", 64, Decimal("1.85"))
    with pytest.raises(UnreadableOrder) as err:
        parse("selling 8 H100 from pool other-pool at $1/gpu/hr", NOW, pools=pools)
    assert err.value.field == "pool"


def test_number_words_read_as_their_value() -> None:
    assert number("one hundred twenty-eight") == 128
    assert number("half a dozen") == 6
    assert number("1,024") == 1024


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(WORDS)), st.sampled_from(["48h", "3 days", "a week"]))
def test_numbers_in_digits_and_in_words_give_the_same_order(n: int, duration: str) -> None:
    def text(count: str) -> str:
        return f"need {count} H100 for {duration} at $2/gpu/hr in us-east, 99.9%"
    assert to_doc(parse(text(str(n)), NOW)) != {}
    digits, words = to_doc(parse(text(str(n)), NOW)), to_doc(parse(text(WORDS[n]), NOW))
    digits.pop("explanation")
    words.pop("explanation")
    assert digits == words


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80))
def test_parse_is_deterministic_and_fails_only_with_an_exchange_error(text: str) -> None:
    def once() -> object:
        try:
            return to_doc(parse(text, NOW))
        except ExchangeError as err:
            return str(err)
    assert once() == once()
