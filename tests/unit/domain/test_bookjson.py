"""Reading `gpu-auction/1` books: every problem at once, each with its JSON path and value."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from gpux.domain import bookjson
from gpux.domain.book import MAX_ALTERNATIVES, MAX_GPUS, MAX_LEGS, MAX_MONEY, MAX_SLOTS
from gpux.domain.bookjson import BOOK_FORMAT, MAX_TOTAL_LEGS, book_to_doc, read_book
from gpux.domain.errors import ExchangeError, InvalidBook, Problem
from gpux.domain.jsonio import dumps, loads

Doc = dict[str, Any]

VALID_BOOK = """
{
  "format": "gpu-auction/1",
  "slots": 24,
  "pools": [
    {"id": "p1", "provider": "acme", "gpu": "H100", "region": "us-east", "uptime": 99.99},
    {"id": "p2", "provider": "bolt", "gpu": "A100-80GB", "region": "eu-west", "uptime": 99.9},
    {"id": "p3", "provider": "core", "gpu": "L4", "region": "ap-northeast", "uptime": 99}
  ],
  "asks": [
    {"id": "a1", "seller": "acme", "pool": "p1", "gpus": 8, "start": 0, "end": 24,
     "price": 1.85},
    {"id": "a2", "seller": "resale", "pool": "p2", "gpus": 4, "start": 2, "end": 20,
     "price": 0}
  ],
  "bids": [
    {"id": "b1", "buyer": "lab-7", "alternatives": [
      {"value": 1920.5, "earliest_start": 0, "latest_end": 12, "legs": [
        {"gpus": 4, "duration": 6, "offset": 0, "gpu": ["H100", "H200"],
         "regions": ["us-east"], "min_uptime": 99.9},
        {"gpus": 2, "duration": 3, "offset": 6, "pools": ["p2"]}
      ]},
      {"value": 100, "earliest_start": 4, "latest_end": 24, "legs": [
        {"gpus": 1, "duration": 4, "offset": 0}
      ]}
    ]},
    {"id": "b2", "buyer": "lab-9", "alternatives": [
      {"value": 0.000001, "earliest_start": 0, "latest_end": 1, "legs": [
        {"gpus": 1, "duration": 1, "offset": 0, "gpu": ["A100-80GB"]}
      ]}
    ]}
  ]
}
"""

ALT = "bids[0].alternatives[0]"
LEG0 = f"{ALT}.legs[0]"
LEG1 = f"{ALT}.legs[1]"


def valid() -> Doc:
    doc: Doc = loads(VALID_BOOK)
    return doc


def problems_of(doc: object) -> list[tuple[str, object]]:
    with pytest.raises(InvalidBook) as caught:
        read_book(doc)
    return [(p.path, p.value) for p in caught.value.problems]


def the_problem(doc: object) -> Problem:
    with pytest.raises(InvalidBook) as caught:
        read_book(doc)
    assert len(caught.value.problems) == 1, caught.value.problems
    return caught.value.problems[0]


def alt0(doc: Doc) -> Doc:
    alt: Doc = doc["bids"][0]["alternatives"][0]
    return alt


def leg(doc: Doc, j: int) -> Doc:
    item: Doc = alt0(doc)["legs"][j]
    return item


def test_valid_book_reads_with_exact_money_and_no_warnings() -> None:
    book = read_book(valid())
    assert book.slots == 24
    assert [p.id for p in book.pools] == ["p1", "p2", "p3"]
    assert book.asks[0].price == Decimal("1.85")
    assert book.bids[0].alternatives[0].value == Decimal("1920.5")
    assert book.bids[0].alternatives[0].legs[0].gpu == ("H100", "H200")
    assert book.bids[0].alternatives[0].legs[0].min_uptime == Decimal("99.9")
    assert book.bids[0].alternatives[0].legs[1].pools == ("p2",)
    assert book.bids[0].alternatives[1].legs[0].gpu is None
    assert book.warnings == ()


def test_valid_book_round_trips_through_book_to_doc_and_json_unchanged() -> None:
    book = read_book(valid())
    doc = book_to_doc(book)
    assert loads(dumps(doc)) == valid()
    assert read_book(loads(dumps(doc))) == book
    assert book_to_doc(read_book(loads(dumps(doc, indent=None)))) == doc


def test_leg_without_offset_reads_as_offset_zero_and_writes_it_out() -> None:
    doc = valid()
    del leg(doc, 0)["offset"]
    book = read_book(doc)
    assert book.bids[0].alternatives[0].legs[0].offset == 0
    assert book_to_doc(book) == book_to_doc(read_book(valid()))


def test_python_floats_are_read_as_their_shortest_decimal() -> None:
    doc = valid()
    doc["asks"][0]["price"] = 1.85
    assert read_book(doc).asks[0].price == Decimal("1.85")


def test_top_level_that_is_not_an_object_is_one_problem_at_the_root() -> None:
    assert the_problem([]) == Problem("$", "must be an object", [])


def test_wrong_format_string_names_the_format_and_value() -> None:
    doc = valid()
    doc["format"] = "gpu-auction/2"
    problem = the_problem(doc)
    assert (problem.path, problem.value) == ("format", "gpu-auction/2")
    assert BOOK_FORMAT in problem.message


def test_missing_format_is_a_problem_with_value_none() -> None:
    doc = valid()
    del doc["format"]
    assert problems_of(doc) == [("format", None)]


def test_every_problem_in_a_book_is_listed_at_once() -> None:
    doc = valid()
    doc["format"] = "v1"
    doc["pools"][1]["uptime"] = "high"
    doc["asks"][0]["gpus"] = "8"
    doc["asks"][1]["start"] = 20
    leg(doc, 1)["gpus"] = 0
    doc["bids"][0]["alternatives"][1]["value"] = 0
    doc["bids"][1]["id"] = "b1"
    doc["bids"][1]["alternatives"][0]["legs"][0]["pools"] = ["nowhere"]
    assert problems_of(doc) == [
        ("format", "v1"),
        ("pools[1].uptime", "high"),
        ("asks[0].gpus", "8"),
        ("asks[1].end", 20),
        (f"{LEG1}.gpus", 0),
        ("bids[0].alternatives[1].value", Decimal(0)),
        ("bids[1].id", "b1"),
        ("bids[1].alternatives[0].legs[0].pools", "nowhere"),
    ]


def test_invalid_book_message_counts_and_lists_every_problem() -> None:
    doc = valid()
    doc["asks"][0]["gpus"] = 0
    leg(doc, 1)["gpus"] = -3
    with pytest.raises(InvalidBook) as caught:
        read_book(doc)
    text = str(caught.value)
    assert "2 problem(s)" in text
    assert "asks[0].gpus: must be between 1 and" in text and "was 0" in text
    assert f"{LEG1}.gpus: must be between 1 and" in text and "was -3" in text
    assert isinstance(caught.value, ExchangeError)
    assert caught.value.code == "invalid_book"


Mutation = Callable[[Doc], None]


def _set(path: Callable[[Doc], Doc], key: str, value: object) -> Mutation:
    def mutate(doc: Doc) -> None:
        path(doc)[key] = value
    return mutate


def _delete(path: Callable[[Doc], Doc], key: str) -> Mutation:
    def mutate(doc: Doc) -> None:
        del path(doc)[key]
    return mutate


def _top(doc: Doc) -> Doc:
    return doc


def _pool(i: int) -> Callable[[Doc], Doc]:
    return lambda doc: doc["pools"][i]


def _ask(i: int) -> Callable[[Doc], Doc]:
    return lambda doc: doc["asks"][i]


def _bid(i: int) -> Callable[[Doc], Doc]:
    return lambda doc: doc["bids"][i]


def _leg(j: int) -> Callable[[Doc], Doc]:
    return lambda doc: leg(doc, j)


def _window(earliest: int, latest: int) -> Mutation:
    def mutate(doc: Doc) -> None:
        alt0(doc).update(earliest_start=earliest, latest_end=latest)
    return mutate


def _legs(count: int) -> Mutation:
    def mutate(doc: Doc) -> None:
        alt0(doc)["legs"] = [{"gpus": 1, "duration": 1} for _ in range(count)]
    return mutate


def _alternatives(count: int) -> Mutation:
    def mutate(doc: Doc) -> None:
        alt = alt0(doc)
        doc["bids"][0]["alternatives"] = [copy.deepcopy(alt) for _ in range(count)]
    return mutate


def _set_item(section: str, i: int, value: object) -> Mutation:
    def mutate(doc: Doc) -> None:
        doc[section][i] = value
    return mutate


def _append_copy(section: str, i: int) -> Mutation:
    def mutate(doc: Doc) -> None:
        doc[section].append(copy.deepcopy(doc[section][i]))
    return mutate


CASES: dict[str, tuple[Mutation, str, object]] = {
    # slots
    "slots_as_string": (_set(_top, "slots", "24"), "slots", "24"),
    "slots_as_bool": (_set(_top, "slots", True), "slots", True),
    "slots_as_float": (_set(_top, "slots", Decimal("24.0")), "slots", Decimal("24.0")),
    "slots_missing": (_delete(_top, "slots"), "slots", None),
    "slots_zero": (_set(_top, "slots", 0), "slots", 0),
    "slots_above_max": (_set(_top, "slots", MAX_SLOTS + 1), "slots", MAX_SLOTS + 1),
    "sections_not_lists": (_set(_top, "bids", {"b1": 1}), "bids", {"b1": 1}),
    # pools
    "pool_not_an_object": (_set_item("pools", 2, "p3"), "pools[2]", "p3"),
    "pool_id_missing": (_delete(_pool(2), "id"), "pools[2].id", None),
    "pool_id_empty": (_set(_pool(2), "id", ""), "pools[2].id", ""),
    "pool_id_not_a_string": (_set(_pool(2), "id", ["p3"]), "pools[2].id", ["p3"]),
    "pool_uptime_as_string": (_set(_pool(0), "uptime", "99.99"), "pools[0].uptime", "99.99"),
    "pool_uptime_zero": (_set(_pool(0), "uptime", 0), "pools[0].uptime", Decimal(0)),
    "pool_uptime_above_100": (_set(_pool(0), "uptime", 101), "pools[0].uptime", Decimal(101)),
    "duplicate_pool_id": (_append_copy("pools", 0), "pools[3].id", "p1"),
    # asks
    "ask_gpus_as_string": (_set(_ask(0), "gpus", "8"), "asks[0].gpus", "8"),
    "ask_gpus_as_bool": (_set(_ask(0), "gpus", True), "asks[0].gpus", True),
    "ask_gpus_as_float": (_set(_ask(0), "gpus", Decimal("8.0")), "asks[0].gpus", Decimal("8.0")),
    "ask_gpus_as_python_float": (_set(_ask(0), "gpus", 8.0), "asks[0].gpus", 8.0),
    "ask_gpus_zero": (_set(_ask(0), "gpus", 0), "asks[0].gpus", 0),
    "ask_gpus_negative": (_set(_ask(0), "gpus", -8), "asks[0].gpus", -8),
    "ask_gpus_above_max": (_set(_ask(0), "gpus", MAX_GPUS + 1), "asks[0].gpus", MAX_GPUS + 1),
    "ask_start_equals_end": (_set(_ask(0), "start", 24), "asks[0].end", 24),
    "ask_start_after_end": (_set(_ask(1), "end", 1), "asks[1].end", 1),
    "ask_start_negative": (_set(_ask(0), "start", -1), "asks[0].start", -1),
    "ask_end_after_slots": (_set(_ask(0), "end", 25), "asks[0].end", 25),
    "ask_price_negative": (_set(_ask(0), "price", Decimal("-0.01")), "asks[0].price",
                           Decimal("-0.01")),
    "ask_price_as_string": (_set(_ask(0), "price", "1.85"), "asks[0].price", "1.85"),
    "ask_price_above_max": (_set(_ask(0), "price", MAX_MONEY + 1), "asks[0].price",
                            MAX_MONEY + 1),
    "ask_price_absurd_exponent": (_set(_ask(0), "price", Decimal("1e30")), "asks[0].price",
                                  Decimal("1e30")),
    "ask_price_absurd_integer": (_set(_ask(0), "price", 10**40), "asks[0].price",
                                 Decimal(10**40)),
    "ask_names_unknown_pool": (_set(_ask(0), "pool", "p9"), "asks[0].pool", "p9"),
    "ask_seller_missing": (_delete(_ask(0), "seller"), "asks[0].seller", None),
    "duplicate_ask_id": (_append_copy("asks", 0), "asks[2].id", "a1"),
    # bids
    "bid_not_an_object": (_set_item("bids", 1, 7), "bids[1]", 7),
    "bid_buyer_missing": (_delete(_bid(0), "buyer"), "bids[0].buyer", None),
    "duplicate_bid_id": (_set(_bid(1), "id", "b1"), "bids[1].id", "b1"),
    "bid_alternatives_not_a_list": (_set(_bid(0), "alternatives", 5), "bids[0].alternatives",
                                    5),
    "bid_without_alternatives": (_set(_bid(0), "alternatives", []), "bids[0].alternatives", 0),
    "too_many_alternatives": (_alternatives(MAX_ALTERNATIVES + 1), "bids[0].alternatives",
                              MAX_ALTERNATIVES + 1),
    # alternatives
    "value_zero": (_set(alt0, "value", 0), f"{ALT}.value", Decimal(0)),
    "value_negative": (_set(alt0, "value", Decimal("-5")), f"{ALT}.value", Decimal(-5)),
    "value_above_max": (_set(alt0, "value", MAX_MONEY * 10), f"{ALT}.value", MAX_MONEY * 10),
    "value_missing": (_delete(alt0, "value"), f"{ALT}.value", None),
    "empty_window": (_window(12, 12), f"{ALT}.latest_end", 12),
    "inverted_window": (_window(12, 10), f"{ALT}.latest_end", 10),
    "earliest_start_negative": (_window(-1, 12), f"{ALT}.earliest_start", -1),
    "latest_end_after_slots": (_window(10, 25), f"{ALT}.latest_end", 25),
    "legs_do_not_fit_window": (_window(0, 8), f"{ALT}.legs", 9),
    "legs_not_a_list": (_set(alt0, "legs", 5), f"{ALT}.legs", 5),
    "alternative_without_legs": (_set(alt0, "legs", []), f"{ALT}.legs", 0),
    "too_many_legs": (_legs(MAX_LEGS + 1), f"{ALT}.legs", MAX_LEGS + 1),
    # legs
    "leg_gpus_zero": (_set(_leg(1), "gpus", 0), f"{LEG1}.gpus", 0),
    "leg_gpus_as_string": (_set(_leg(1), "gpus", "2"), f"{LEG1}.gpus", "2"),
    "leg_gpus_as_bool": (_set(_leg(1), "gpus", False), f"{LEG1}.gpus", False),
    "leg_gpus_as_float": (_set(_leg(1), "gpus", Decimal("2.5")), f"{LEG1}.gpus", Decimal("2.5")),
    "leg_gpus_above_max": (_set(_leg(1), "gpus", MAX_GPUS + 1), f"{LEG1}.gpus", MAX_GPUS + 1),
    "leg_duration_zero": (_set(_leg(0), "duration", 0), f"{LEG0}.duration", 0),
    "leg_duration_missing": (_delete(_leg(0), "duration"), f"{LEG0}.duration", None),
    "leg_offset_negative": (_set(_leg(1), "offset", -1), f"{LEG1}.offset", -1),
    "leg_offset_null": (_set(_leg(1), "offset", None), f"{LEG1}.offset", None),
    "leg_pools_names_unknown_pool": (_set(_leg(1), "pools", ["p2", "p9"]), f"{LEG1}.pools",
                                     "p9"),
    "leg_gpu_filter_empty": (_set(_leg(0), "gpu", []), f"{LEG0}.gpu", []),
    "leg_regions_filter_empty": (_set(_leg(0), "regions", []), f"{LEG0}.regions", []),
    "leg_pools_filter_empty": (_set(_leg(1), "pools", []), f"{LEG1}.pools", []),
    "leg_gpu_filter_not_a_list": (_set(_leg(0), "gpu", "H100"), f"{LEG0}.gpu", "H100"),
    "leg_gpu_filter_with_a_number": (_set(_leg(0), "gpu", ["H100", 7]), f"{LEG0}.gpu",
                                     ["H100", 7]),
    "leg_min_uptime_as_string": (_set(_leg(0), "min_uptime", "99"), f"{LEG0}.min_uptime", "99"),
    "leg_min_uptime_above_100": (_set(_leg(0), "min_uptime", 100.5), f"{LEG0}.min_uptime",
                                 Decimal("100.5")),
}


@pytest.mark.parametrize(("mutate", "path", "value"), CASES.values(), ids=CASES.keys())
def test_book_with_one_mistake_names_its_path_and_value(
    mutate: Mutation, path: str, value: object
) -> None:
    doc = valid()
    mutate(doc)
    problem = the_problem(doc)
    assert (problem.path, problem.value) == (path, value)
    assert type(problem.value) is type(value)


@pytest.mark.parametrize(
    ("mutate", "path", "words"),
    [
        (_set(_leg(1), "gpus", 0), f"{LEG1}.gpus", "must be between 1 and"),
        (_set(_ask(0), "gpus", "8"), "asks[0].gpus", "must be an integer"),
        (_set(_ask(0), "pool", "p9"), "asks[0].pool", "names no pool"),
        (_set(_ask(0), "end", 25), "asks[0].end", "at most slots (24)"),
        (_set(_ask(0), "price", -1), "asks[0].price", "must not be negative"),
        (_set(alt0, "value", 0), f"{ALT}.value", "must be positive"),
        (_window(12, 12), f"{ALT}.latest_end", "must be after earliest_start 12"),
        (_window(0, 8), f"{ALT}.legs", "need 9 slots but the window [0, 8) has 8"),
        (_set(_bid(1), "id", "b1"), "bids[1].id", "duplicates an earlier id"),
        (_set(_leg(0), "gpu", []), f"{LEG0}.gpu", "non-empty list"),
        (_set(alt0, "value", MAX_MONEY + 1), f"{ALT}.value", f"at most {MAX_MONEY}"),
    ],
)
def test_problem_message_says_what_the_rule_wants(mutate: Mutation, path: str, words: str) -> None:
    doc = valid()
    mutate(doc)
    problem = the_problem(doc)
    assert problem.path == path
    assert words in problem.message
    assert str(problem).startswith(f"{path}: {problem.message}, was ")


def test_duplicate_ids_name_each_later_copy_not_the_first() -> None:
    doc = valid()
    doc["asks"].extend([copy.deepcopy(doc["asks"][1]), copy.deepcopy(doc["asks"][1])])
    assert problems_of(doc) == [("asks[2].id", "a2"), ("asks[3].id", "a2")]


def test_a_broken_pool_is_reported_once_not_again_by_asks_and_legs_naming_it() -> None:
    doc = valid()
    doc["pools"][1]["uptime"] = "high"
    assert problems_of(doc) == [("pools[1].uptime", "high")]


def test_a_pool_without_a_readable_id_leaves_the_asks_naming_it_unmatched() -> None:
    doc = valid()
    del doc["pools"][0]["id"]
    assert problems_of(doc) == [("pools[0].id", None), ("asks[0].pool", "p1")]


def test_without_a_list_of_pools_asks_are_not_blamed_for_naming_one() -> None:
    doc = valid()
    doc["pools"] = {"p1": {}}
    assert problems_of(doc) == [("pools", {"p1": {}})]


def test_bad_slots_are_reported_once_not_again_by_every_ask_and_window() -> None:
    doc = valid()
    doc["slots"] = 0
    doc["asks"][0]["gpus"] = 0
    assert problems_of(doc) == [("slots", 0), ("asks[0].gpus", 0)]


def test_more_than_max_total_legs_is_refused_before_reading_any_leg() -> None:
    doc = valid()
    # The same leg object many times over: cheap to build, and never read one by one.
    many = [leg(doc, 0)] * (MAX_TOTAL_LEGS + 1)
    doc["bids"][1]["alternatives"][0]["legs"] = many
    doc["asks"][0]["gpus"] = 0
    total = MAX_TOTAL_LEGS + 1 + 3
    problem = the_problem(doc)
    assert (problem.path, problem.value) == ("bids", total)
    assert str(MAX_TOTAL_LEGS) in problem.message


def test_total_legs_limit_counts_legs_across_all_bids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bookjson, "MAX_TOTAL_LEGS", 3)
    assert problems_of(valid()) == [("bids", 4)]
    monkeypatch.setattr(bookjson, "MAX_TOTAL_LEGS", 4)
    assert read_book(valid()).slots == 24


def test_filter_that_no_pool_meets_is_a_warning_not_an_error() -> None:
    doc = valid()
    leg(doc, 0)["gpu"] = ["B200"]
    book = read_book(doc)
    assert book.warnings == (f"{LEG0}: no pool meets its filters",)


def test_min_uptime_above_every_pool_is_a_warning() -> None:
    doc = valid()
    doc["bids"][0]["alternatives"][1]["legs"][0]["min_uptime"] = Decimal("99.999")
    book = read_book(doc)
    assert book.warnings == ("bids[0].alternatives[1].legs[0]: no pool meets its filters",)


def test_money_with_digits_below_a_micro_is_rounded_half_even_with_a_warning() -> None:
    doc = valid()
    doc["asks"][0]["price"] = Decimal("1.0000005")
    alt0(doc)["value"] = Decimal("7.1234565")
    book = read_book(doc)
    assert book.asks[0].price == Decimal("1.000000")
    assert book.bids[0].alternatives[0].value == Decimal("7.123456")
    assert book.warnings == ("2 amount(s) had digits below one micro-unit and were rounded",)


def test_value_that_rounds_to_zero_is_refused() -> None:
    doc = valid()
    alt0(doc)["value"] = Decimal("0.0000004")
    problem = the_problem(doc)
    assert (problem.path, problem.value) == (f"{ALT}.value", Decimal(0))


def test_a_pool_the_book_reads_may_be_served_by_a_seller_other_than_its_provider() -> None:
    book = read_book(valid())
    assert book.asks[1].seller != book.pool_by_id["p2"].provider


def test_every_problem_of_one_leg_is_listed_not_just_the_first() -> None:
    doc = valid()
    leg(doc, 0).update(gpus=0, duration=0, offset=-1)
    paths = [path for path, _ in problems_of(doc)]
    assert paths == ["bids[0].alternatives[0].legs[0].gpus",
                     "bids[0].alternatives[0].legs[0].duration",
                     "bids[0].alternatives[0].legs[0].offset"]


def test_a_broken_leg_does_not_hide_its_alternatives_own_problems() -> None:
    doc = valid()
    leg(doc, 0)["gpus"] = 0
    alt0(doc)["value"] = Decimal(-5)
    paths = [path for path, _ in problems_of(doc)]
    assert "bids[0].alternatives[0].legs[0].gpus" in paths
    assert "bids[0].alternatives[0].value" in paths
