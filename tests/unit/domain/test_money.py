"""Exact money: Decimal amounts to integer micro-units and back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gpux.domain.money import MICROS_PER_UNIT, from_micros, is_micro_exact, to_micros


@pytest.mark.parametrize(
    "amount",
    ["0", "1", "1.85", "0.000001", "1234567.123456", "-3.5", "999999999999.999999"],
)
def test_micro_exact_amounts_survive_a_round_trip_through_micros(amount: str) -> None:
    assert from_micros(to_micros(Decimal(amount))) == Decimal(amount)


@pytest.mark.parametrize("micros", [0, 1, -1, 1_850_000, 999_999_999_999_999_999, 10**24 + 7])
def test_micros_survive_a_round_trip_through_decimal(micros: int) -> None:
    assert to_micros(from_micros(micros)) == micros


def test_from_micros_gives_exactly_six_decimal_places() -> None:
    assert str(from_micros(1_850_000)) == "1.850000"
    assert from_micros(MICROS_PER_UNIT) == Decimal(1)


@pytest.mark.parametrize(
    ("amount", "micros"),
    [
        ("0.0000005", 0),
        ("0.0000015", 2),
        ("0.0000025", 2),
        ("0.0000035", 4),
        ("-0.0000025", -2),
        ("0.00000051", 1),
        ("0.00000049", 0),
    ],
)
def test_to_micros_rounds_half_to_even(amount: str, micros: int) -> None:
    assert to_micros(Decimal(amount)) == micros


@pytest.mark.parametrize("amount", ["0", "1", "1.5", "0.000001", "-2.000001", "1E+6", "1.000000"])
def test_amounts_with_no_digit_below_a_micro_are_micro_exact(amount: str) -> None:
    assert is_micro_exact(Decimal(amount))


@pytest.mark.parametrize("amount", ["0.0000001", "1.0000005", "-0.00000001", "1E-7"])
def test_amounts_with_a_digit_below_a_micro_are_not_micro_exact(amount: str) -> None:
    assert not is_micro_exact(Decimal(amount))
