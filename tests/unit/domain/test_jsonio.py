"""Exact JSON: Decimals written digit for digit and read back as Decimal."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from gpux.domain.jsonio import dumps, loads


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("1234567.123456", "1234567.123456"),
        ("0.1", "0.1"),
        ("1.850000", "1.85"),
        ("-2.5000", "-2.5"),
        ("1E-7", "0.0000001"),
        ("1E+3", "1000"),
        ("5.000", "5"),
        ("-0.000000", "0"),
        ("999999999999.999999", "999999999999.999999"),
        ("12345678901234567890123456789.5", "12345678901234567890123456789.5"),
    ],
)
def test_dumps_writes_decimals_exactly_as_plain_json_numbers(amount: str, text: str) -> None:
    assert dumps(Decimal(amount)) == text
    assert loads(dumps(Decimal(amount))) == Decimal(amount)


def test_dumps_never_passes_money_through_a_float() -> None:
    amount = Decimal("1234567.123456")
    assert float(amount) * 3 != amount * 3
    assert loads(dumps({"x": amount * 3}))["x"] == Decimal("3703701.370368")


def test_loads_gives_decimal_for_fractions_and_int_for_whole_numbers() -> None:
    doc = loads('{"price": 1.85, "gpus": 8, "big": 1e30, "ok": true, "none": null}')
    assert doc == {"price": Decimal("1.85"), "gpus": 8, "big": Decimal("1e30"), "ok": True,
                   "none": None}
    assert type(doc["price"]) is Decimal
    assert type(doc["gpus"]) is int


def test_dumps_output_is_json_any_parser_reads() -> None:
    doc = {"a": [Decimal("1.5"), 2, "x", None, True, {}, []], "b": {"c": (1, Decimal("0.25"))}}
    for indent in (None, 2):
        assert json.loads(dumps(doc, indent=indent)) == {
            "a": [1.5, 2, "x", None, True, {}, []], "b": {"c": [1, 0.25]}}


def test_dumps_indents_nested_containers() -> None:
    assert dumps({"a": [1, 2]}) == '{\n  "a": [\n    1,\n    2\n  ]\n}'
    assert dumps({"a": [1, 2]}, indent=None) == '{"a": [1, 2]}'
