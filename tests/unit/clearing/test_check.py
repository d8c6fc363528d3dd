"""The result validator: a valid result passes, and each broken rule is named where it breaks."""

from __future__ import annotations

import ast
import copy
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from books import MARKET_BOOK, MARKET_RESULT, SPEC_BOOK, SPEC_RESULT, Doc, parse

import gpux.clearing
from gpux.clearing.check import check_result
from gpux.domain.bookjson import read_book

DELETE = object()
MARKET = read_book(parse(MARKET_BOOK))


def edited(doc: Doc, edits: dict[str, object]) -> Doc:
    """A deep copy of `doc` with each path (`accepted[1].legs[0].start`) set, added or deleted."""
    doc = copy.deepcopy(doc)
    for path, value in edits.items():
        *parents, last = re.findall(r"[^.\[\]]+", path)
        node: object = doc
        for step in parents:
            node = node[int(step)] if isinstance(node, list) else node[step]  # type: ignore[index]
        key: int | str = int(last) if isinstance(node, list) else last
        if value is DELETE:
            del node[key]  # type: ignore[attr-defined]
        elif isinstance(node, list) and key == len(node):
            node.append(copy.deepcopy(value))
        else:
            node[key] = copy.deepcopy(value)  # type: ignore[index]
    return doc


def market_result(edits: dict[str, object] | None = None) -> Doc:
    return edited(parse(MARKET_RESULT), edits or {})


def test_the_format_documents_example_passes_once_its_surplus_is_made_consistent() -> None:
    assert check_result(read_book(parse(SPEC_BOOK)), parse(SPEC_RESULT)) == []


def test_a_market_with_resale_and_two_leg_bids_passes() -> None:
    assert check_result(MARKET, parse(MARKET_RESULT)) == []


def test_an_empty_allocation_with_prices_over_every_ask_passes() -> None:
    result = market_result({"accepted": [], "supplied": [], "surplus": 0})
    assert check_result(MARKET, result) == []


def test_a_result_parsed_with_floats_is_judged_the_same() -> None:
    assert check_result(read_book(parse(SPEC_BOOK)), json.loads(SPEC_RESULT)) == []


def test_sums_off_by_less_than_a_millionth_pass() -> None:
    result = market_result(
        {"accepted.1.payment": Decimal("40.00003"), "surplus": Decimal("234.0002")}
    )
    assert check_result(MARKET, result) == []


def test_a_sum_off_by_more_than_a_millionth_is_reported() -> None:
    result = market_result({"accepted.1.payment": Decimal("40.0001")})
    assert check_result(MARKET, result) == [
        "accepted[1].payment: must be the prices summed over its GPU-slots, 40.00, was 40.0001",
        "payments: total 72.0001 must equal total revenues 72.00",
    ]


def test_a_result_that_is_not_an_object_is_named_as_such() -> None:
    not_an_object: object = []
    assert check_result(MARKET, not_an_object) == ["$: must be an object, was []"]  # type: ignore[arg-type]


def test_the_validator_imports_nothing_from_the_solver() -> None:
    folder = Path(gpux.clearing.__file__).parent
    for name in ("check.py", "check_shape.py", "check_sums.py"):
        tree = ast.parse((folder / name).read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        gpux_modules = {m for m in imported if m and m.startswith("gpux")}
        assert gpux_modules <= {
            "gpux.clearing",
            "gpux.clearing.check_shape",
            "gpux.clearing.check_sums",
            "gpux.domain.book",
            "gpux.domain.result",
        }, name


# The acme pool's price raised to 7.00 over slots 2-5, every payment and revenue recomputed:
# b1 now pays 4 * 4 * 7 = 112, more than its value 100; b2 pays 6 * (2 + 2 + 7) + 4 = 70.
DEAR = {
    "prices": [
        {"pool": "acme-h100-use", "start": 0, "end": 2, "price": Decimal("2.00")},
        {"pool": "acme-h100-use", "start": 2, "end": 6, "price": Decimal("7.00")},
        {"pool": "acme-h100-use", "start": 6, "end": 12, "price": Decimal("2.00")},
        {"pool": "bolt-a100-euw", "start": 2, "end": 10, "price": Decimal("1.00")},
    ],
    "accepted.0.payment": Decimal(112),
    "accepted.1.payment": Decimal(70),
    "supplied.1.revenue": Decimal(42),
    "supplied.2.revenue": Decimal(84),
    "supplied.3.revenue": Decimal(44),
}

BROKEN = [
    pytest.param(
        {"format": "gpu-auction-result/2"},
        "format: must be 'gpu-auction-result/1', was 'gpu-auction-result/2'",
        id="format",
    ),
    pytest.param(
        {"status": "timeout"}, "status: must be 'optimal' or 'feasible', was 'timeout'", id="status"
    ),
    pytest.param({"surplus": DELETE}, "surplus: is missing", id="missing-field"),
    pytest.param({"gap": 0}, "gap: is not a field of the result format, was 0", id="unknown-field"),
    pytest.param(
        {"accepted.0.start": Decimal("2.0")},
        "accepted[0].start: must be an integer, was 2.0",
        id="fractional-slot",
    ),
    pytest.param(
        {"supplied.0.gpus": True},
        "supplied[0].gpus: must be an integer, was True",
        id="boolean-count",
    ),
    pytest.param(
        {"accepted.0.payment": "32"},
        "accepted[0].payment: must be a finite number, was '32'",
        id="string-money",
    ),
    pytest.param(
        {"bound": Decimal("Infinity")},
        "bound: must be a finite number, was Infinity",
        id="infinite-bound",
    ),
    pytest.param({"stats": []}, "stats: must be an object, was []", id="stats-not-object"),
    pytest.param({"accepted": {}}, "accepted: must be a list, was {}", id="accepted-not-list"),
    pytest.param({"supplied.0": 5}, "supplied[0]: must be an object, was 5", id="row-not-object"),
    pytest.param(
        {"accepted.0.bid": "b9"},
        "accepted[0].bid: names no bid of the book, was 'b9'",
        id="unknown-bid",
    ),
    pytest.param(
        {
            "accepted.2": json.loads(
                json.dumps({"bid": "b1", "alternative": 0, "start": 2, "payment": 0, "legs": []})
            )
        },
        "accepted[2].bid: bid 'b1' is accepted more than once, first at accepted[0]",
        id="bid-twice",
    ),
    pytest.param(
        {"accepted.0.alternative": 2},
        "accepted[0].alternative: bid 'b1' has alternatives 0 to 1, was 2",
        id="no-such-alternative",
    ),
    pytest.param(
        {"accepted.0.start": 9, "accepted.0.legs.0.start": 9, "accepted.0.legs.0.end": 13},
        "accepted[0].start: alternative 0 of bid 'b1' can start only in [0, 8], was 9",
        id="start-outside-window",
    ),
    pytest.param(
        {"accepted.1.legs.1.start": 4, "accepted.1.legs.1.end": 6},
        "accepted[1].legs[1].start: must be start 0 + offset 3 = 3, was 4",
        id="wrong-leg-offset",
    ),
    pytest.param(
        {"accepted.1.legs.0.end": 4},
        "accepted[1].legs[0].end: must be start 0 + offset 0 + duration 3 = 3, was 4",
        id="wrong-leg-duration",
    ),
    pytest.param(
        {"accepted.0.legs.0.gpus": 5},
        "accepted[0].legs[0].gpus: must be the leg's 4 GPUs, was 5",
        id="wrong-leg-gpus",
    ),
    pytest.param(
        {"accepted.1.legs.1": DELETE},
        "accepted[1].legs: must list the 2 leg(s) of alternative 0 in order, listed 1",
        id="missing-leg",
    ),
    pytest.param(
        {"accepted.0.legs.0.pool": "nowhere"},
        "accepted[0].legs[0].pool: names no pool of the book, was 'nowhere'",
        id="unknown-pool",
    ),
    pytest.param(
        {"accepted.0.legs.0.pool": "bolt-a100-euw"},
        "accepted[0].legs[0]: pool 'bolt-a100-euw' does not meet filter gpu "
        "['H100', 'H200'], was gpu 'A100-80GB'",
        id="filter-gpu",
    ),
    pytest.param(
        {"accepted.0.legs.0.pool": "cheap-h100-usw"},
        "accepted[0].legs[0]: pool 'cheap-h100-usw' does not meet filter min_uptime "
        "99.9, was uptime 99.0",
        id="filter-min-uptime",
    ),
    pytest.param(
        {"accepted.1.legs.1.pool": "acme-h100-use"},
        "accepted[1].legs[1]: pool 'acme-h100-use' does not meet filter regions "
        "['eu-west'], was region 'us-east'",
        id="filter-regions",
    ),
    pytest.param(
        {"accepted.1.legs.1.pool": "acme-h100-use"},
        "accepted[1].legs[1]: pool 'acme-h100-use' does not meet filter pools ['bolt-a100-euw']",
        id="filter-pools",
    ),
    pytest.param(
        {"supplied.4.ask": "a9"},
        "supplied[4].ask: names no ask of the book, was 'a9'",
        id="unknown-ask",
    ),
    pytest.param(
        {"supplied.0.gpus": 0}, "supplied[0].gpus: must be at least 1, was 0", id="supplied-no-gpus"
    ),
    pytest.param(
        {"supplied.4.end": 3},
        "supplied[4]: slots [3, 3) must be a non-empty range within the horizon [0, 12)",
        id="supplied-empty-range",
    ),
    pytest.param(
        {"supplied.4.start": 1, "supplied.4.end": 3},
        "supplied[4]: slots [1, 3) lie outside ask 'a3' slots [2, 10)",
        id="supplied-outside-ask",
    ),
    pytest.param(
        {"supplied.1.start": 1},
        "supplied[1]: overlaps supplied[0] in slots [1, 2) of the same ask 'a1'",
        id="overlapping-supplied-rows",
    ),
    pytest.param(
        {"supplied.3.gpus": 5},
        "supplied: ask 'a2' delivers 5 GPUs in slots [0, 3), more than its 4",
        id="capacity-exceeded",
    ),
    pytest.param(
        {"supplied.4": DELETE},
        "pool 'bolt-a100-euw' slots [3, 5): accepted legs use 2 GPUs but supplied rows deliver 0",
        id="supply-short-of-demand",
    ),
    pytest.param(
        {"supplied.2.ask": "a2", "surplus": 240},
        "pool 'acme-h100-use' slots [3, 6): buyer 'lab-7' uses 4 GPUs but asks of other "
        "sellers deliver only 0 (self-trade)",
        id="self-trade",
    ),
    pytest.param(
        {
            "prices.1.price": Decimal("0.90"),
            "accepted.1.payment": Decimal("39.60"),
            "supplied.4.revenue": Decimal("3.60"),
        },
        "supplied[4]: pool 'bolt-a100-euw' price 0.90 in slots [3, 5) is below ask 'a3' "
        "reserve 1.00",
        id="price-below-reserve",
    ),
    pytest.param(
        DEAR,
        "accepted[0].payment: must be at most the value 100.00 of alternative 0, was 112",
        id="payment-above-value",
    ),
    pytest.param(
        {"accepted.0.payment": 33},
        "accepted[0].payment: must be the prices summed over its GPU-slots, 32.00, was 33",
        id="payment-not-from-prices",
    ),
    pytest.param(
        {"accepted.0.payment": 33},
        "payments: total 73.00 must equal total revenues 72.00",
        id="unbalanced-payments",
    ),
    pytest.param(
        {"supplied.0.revenue": 9},
        "supplied[0].revenue: must be the prices summed over its GPU-slots, 8.00, was 9",
        id="revenue-not-from-prices",
    ),
    pytest.param(
        {"prices.2.price": -1}, "prices[2].price: must not be negative, was -1", id="negative-price"
    ),
    pytest.param(
        {"prices.2.start": 4},
        "prices[2]: overlaps prices[1] in slots [4, 5) of pool 'bolt-a100-euw'",
        id="overlapping-prices",
    ),
    pytest.param(
        {"prices.1.start": 0},
        "prices[1]: pool 'bolt-a100-euw' has no ask in slots [0, 2), so it must have "
        "no price there",
        id="price-where-no-ask",
    ),
    pytest.param(
        {"prices.3": {"pool": "cheap-h100-usw", "start": 0, "end": 12, "price": 1}},
        "prices[3]: pool 'cheap-h100-usw' has no ask in slots [0, 12), so it must have "
        "no price there",
        id="price-for-pool-without-asks",
    ),
    pytest.param(
        {"prices.0.end": 11},
        "prices: pool 'acme-h100-use' has no price in slots [11, 12), where it has an ask",
        id="missing-price-coverage",
    ),
    pytest.param(
        {"prices.0.end": 13},
        "prices[0]: slots [0, 13) must be a non-empty range within the horizon [0, 12)",
        id="price-beyond-horizon",
    ),
    pytest.param(
        {"prices.2.pool": "nowhere"},
        "prices[2].pool: names no pool of the book, was 'nowhere'",
        id="price-unknown-pool",
    ),
    pytest.param(
        {"surplus": 230},
        "surplus: must be the accepted values minus the supply cost at reserves, 234.00, was 230",
        id="wrong-surplus",
    ),
    pytest.param(
        {"bound": 200},
        "bound: must be at least the surplus 234.00, was 200",
        id="bound-below-surplus",
    ),
    pytest.param(
        {"status": "optimal"},
        "bound: must be within a relative gap of 0.0001 of the surplus 234.00 when the "
        "status is 'optimal', was 301.00",
        id="optimal-with-open-gap",
    ),
]


@pytest.mark.parametrize(("edits", "violation"), BROKEN)
def test_each_broken_rule_is_reported_where_it_breaks(
    edits: dict[str, object], violation: str
) -> None:
    assert violation in check_result(MARKET, market_result(edits))


ALONE = [
    "self-trade",
    "price-below-reserve",
    "payment-above-value",
    "missing-price-coverage",
    "overlapping-prices",
    "unknown-field",
    "wrong-surplus",
]


@pytest.mark.parametrize(("edits", "violation"), [p for p in BROKEN if p.id in ALONE])
def test_a_result_broken_in_one_place_is_reported_once(
    edits: dict[str, object], violation: str
) -> None:
    assert check_result(MARKET, market_result(edits)) == [violation]


def test_every_violation_is_listed_not_only_the_first() -> None:
    result = market_result(
        {"format": "x", "accepted.0.legs.0.pool": "bolt-a100-euw", "prices.0.end": 11}
    )
    violations = check_result(MARKET, result)
    assert violations[0] == "format: must be 'gpu-auction-result/1', was 'x'"
    assert any("does not meet filter gpu" in v for v in violations)
    assert any("has no price in slots [11, 12)" in v for v in violations)


def test_checks_over_all_rows_wait_until_every_row_names_the_book() -> None:
    violations = check_result(MARKET, market_result({"supplied.4.ask": "a9"}))
    assert violations == ["supplied[4].ask: names no ask of the book, was 'a9'"]
