"""`dumps` takes the C encoder with marked Decimals; it must write exactly what the
one-value-at-a-time reference writes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gpux.domain.jsonio import _dumps_slow, dumps, loads
from gpux.marketgen.market import generate_market

DOCS = [
    {"a": [Decimal("1.5"), 2, "x", None, True, {}, []], "b": {"c": (1, Decimal("0.25"))}},
    {"neg": Decimal("-0.000000"), "big": Decimal("1E+3"), "tiny": Decimal("1E-7")},
    {"text": "quote \" backslash \\ \\u0000 unicode é", "n": Decimal("12.340")},
    {"nul": "a\x00b", "x": Decimal("1.5")},  # a NUL in a string: the reference way
    {"nan": Decimal("NaN")},
    {1: Decimal("2.5")},
    generate_market(40, 3),
]


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("indent", [None, 2])
def test_fast_dumps_writes_what_the_reference_writes(doc: object, indent: int | None) -> None:
    assert dumps(doc, indent=indent) == _dumps_slow(doc, indent=indent)


def test_a_string_that_looks_like_a_marked_number_stays_a_string() -> None:
    doc = {"s": "\\u000012\\u0000", "t": "\\\\u000012\\\\u0000"}
    assert loads(dumps(doc, indent=None)) == doc
