"""Every labelled order of the corpus parses to exactly its expected fields."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from corpus import cases, expected, run

CASES = cases()


def _compare(case: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    got, want = run(case), expected(case)
    if "error.quote" in want and want["error.quote"] in got.get("error.quote", "\0"):
        got["error.quote"] = want["error.quote"]
    got.pop("error.message", None)
    return {k: (want.get(k), got.get(k)) for k in set(want) | set(got)
            if want.get(k) != got.get(k)}


def test_corpus_has_at_least_220_orders_of_both_sides_and_errors() -> None:
    assert len(CASES) >= 220
    kinds = Counter("error" if "error" in c else c["expect"]["side"] for c in CASES)
    assert kinds["buy"] and kinds["sell"] and kinds["error"]


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:60] for c in CASES])
def test_corpus_order_is_parsed_exactly_on_every_field(case: dict[str, Any]) -> None:
    assert _compare(case) == {}


def test_accuracy_per_field_is_complete() -> None:
    right: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for case in CASES:
        wrong = _compare(case)
        for key in expected(case):
            field = key.split(".")[-1].split("[")[0]
            seen[field] += 1
            right[field] += key not in wrong
    assert {f: (right[f], seen[f]) for f in seen} == {f: (seen[f], seen[f]) for f in seen}
