from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from gpux.marketgen.cats import BUDGET_FACTOR, MAX_SUB_BIDS, generate_cats_arbitrary

MICRO = Decimal("0.000001")
BookCheck = Callable[[dict[str, Any]], list[str]]


def _bundles(bid: dict[str, Any]) -> list[frozenset[str]]:
    return [frozenset(leg["pools"][0] for leg in alt["legs"]) for alt in bid["alternatives"]]


def test_cats_is_identical_for_the_same_seed() -> None:
    assert generate_cats_arbitrary(50, 200, seed=3) == generate_cats_arbitrary(50, 200, seed=3)


def test_cats_differs_between_seeds() -> None:
    assert generate_cats_arbitrary(50, 200, seed=3) != generate_cats_arbitrary(50, 200, seed=4)


@pytest.mark.parametrize(
    ("goods", "bids", "seed"), [(100, 500, 0), (20, 37, 1), (1, 5, 2), (3, 40, 3)]
)
def test_cats_satisfies_every_validity_rule_of_the_spec(
    check_book: BookCheck, goods: int, bids: int, seed: int
) -> None:
    assert check_book(generate_cats_arbitrary(goods, bids, seed)) == []


@pytest.mark.parametrize(("goods", "bids"), [(100, 500), (40, 123), (5, 1), (10, 0)])
def test_cats_alternatives_add_up_to_the_requested_bid_count(goods: int, bids: int) -> None:
    book: dict[str, Any] = generate_cats_arbitrary(goods, bids, seed=5)
    assert sum(len(b["alternatives"]) for b in book["bids"]) == bids


def test_cats_goods_are_one_gpu_single_slot_pools_with_zero_reserves() -> None:
    book: dict[str, Any] = generate_cats_arbitrary(30, 100, seed=6)
    assert book["slots"] == 1
    assert len(book["pools"]) == 30
    assert [a["pool"] for a in book["asks"]] == [p["id"] for p in book["pools"]]
    for ask in book["asks"]:
        assert (ask["gpus"], ask["start"], ask["end"], ask["price"]) == (1, 0, 1, 0)


def test_cats_alternatives_are_bundles_of_one_gpu_one_slot_legs() -> None:
    book: dict[str, Any] = generate_cats_arbitrary(30, 100, seed=7)
    for bid in book["bids"]:
        for alt in bid["alternatives"]:
            assert (alt["earliest_start"], alt["latest_end"]) == (0, 1)
            assert all(
                (leg["gpus"], leg["duration"], leg["offset"], len(leg["pools"])) == (1, 1, 0, 1)
                and set(leg) == {"gpus", "duration", "offset", "pools"}
                for leg in alt["legs"]
            )
            goods = [leg["pools"][0] for leg in alt["legs"]]
            assert len(goods) == len(set(goods))
            assert isinstance(alt["value"], Decimal) and alt["value"] == alt["value"].quantize(
                MICRO
            )


def test_cats_bid_has_its_bundle_and_at_most_five_distinct_substitutes() -> None:
    book: dict[str, Any] = generate_cats_arbitrary(100, 500, seed=8)
    counts = [len(b["alternatives"]) for b in book["bids"]]
    assert max(counts) == MAX_SUB_BIDS + 1
    assert min(counts) == 1
    for bid in book["bids"]:
        bundles = _bundles(bid)
        assert len(set(bundles)) == len(bundles)


def test_cats_substitutes_share_a_good_with_the_first_bundle_and_keep_its_size() -> None:
    book: dict[str, Any] = generate_cats_arbitrary(100, 500, seed=9)
    for bid in book["bids"]:
        first, *subs = _bundles(bid)
        assert all(sub & first and len(sub) == len(first) for sub in subs)


def test_cats_substitutes_stay_within_budget_in_falling_value_order() -> None:
    book: dict[str, Any] = generate_cats_arbitrary(100, 500, seed=10)
    for bid in book["bids"]:
        first, *subs = [alt["value"] for alt in bid["alternatives"]]
        assert all(v <= Decimal(BUDGET_FACTOR) * first for v in subs)
        assert subs == sorted(subs, reverse=True)


def test_cats_rejects_no_goods_and_a_negative_bid_count() -> None:
    with pytest.raises(ValueError, match="goods"):
        generate_cats_arbitrary(0, 10, seed=0)
    with pytest.raises(ValueError, match="bids"):
        generate_cats_arbitrary(10, -1, seed=0)
