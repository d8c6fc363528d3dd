"""Recorded auction books with their proven optimum: the engine must find it again."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gpux.clearing.auction import clear
from gpux.clearing.check import check_result
from gpux.clearing.solver import SolveParams
from gpux.domain.bookjson import read_book
from gpux.domain.jsonio import loads
from gpux.domain.result import result_to_doc

CASES = sorted(Path(__file__).parent.glob("*.book.json"))


def test_there_are_recorded_cases() -> None:
    assert len(CASES) >= 4


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.name.removesuffix(".book.json"))
def test_recorded_book_clears_to_its_proven_optimum(path: Path) -> None:
    book = read_book(loads(path.read_text()))
    expected = loads(path.with_name(path.name.replace(".book.", ".expected.")).read_text())
    result = clear(book, SolveParams(time_limit=30.0, workers=2, seed=0))
    assert check_result(book, result_to_doc(result)) == []
    assert result.status == "optimal"
    slack = Decimal(expected["tolerance"]) * max(abs(expected["surplus"]), Decimal(1))
    assert abs(result.surplus - expected["surplus"]) <= slack
