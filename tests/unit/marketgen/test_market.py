from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from gpux.domain.catalog import GPU_MODELS, REGIONS, UPTIME_TIERS
from gpux.marketgen.market import generate_market

CENT = Decimal("0.01")
BookCheck = Callable[[dict[str, Any]], list[str]]


def _gpu_hours(book: dict[str, Any]) -> tuple[int, int]:
    """Demanded (first alternatives) and supplied GPU-hours of a book."""
    demand = sum(
        leg["gpus"] * leg["duration"] for b in book["bids"] for leg in b["alternatives"][0]["legs"]
    )
    supply = sum(a["gpus"] * (a["end"] - a["start"]) for a in book["asks"])
    return demand, supply


def _matching(book: dict[str, Any], leg: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        p
        for p in book["pools"]
        if ("gpu" not in leg or p["gpu"] in leg["gpu"])
        and ("regions" not in leg or p["region"] in leg["regions"])
        and ("min_uptime" not in leg or p["uptime"] >= leg["min_uptime"])
        and ("pools" not in leg or p["id"] in leg["pools"])
    ]


def test_market_is_identical_for_the_same_seed() -> None:
    assert generate_market(500, seed=7) == generate_market(500, seed=7)


def test_market_differs_between_seeds() -> None:
    assert generate_market(500, seed=7) != generate_market(500, seed=8)


@pytest.mark.parametrize(
    ("bids", "seed", "slots"),
    [(0, 1, 168), (1, 2, 168), (50, 3, 168), (2000, 4, 168), (300, 5, 48), (300, 6, 24),
     (100, 7, 4), (50, 8, 1), (300, 9, 336)],
)  # fmt: skip
def test_market_satisfies_every_validity_rule_of_the_spec(
    check_book: BookCheck, bids: int, seed: int, slots: int
) -> None:
    book: dict[str, Any] = generate_market(bids, seed, slots)
    assert book["slots"] == slots
    assert len(book["bids"]) == bids
    assert check_book(book) == []


def test_market_uses_only_canonical_names() -> None:
    book: dict[str, Any] = generate_market(3000, seed=11)
    assert {p["gpu"] for p in book["pools"]} == set(GPU_MODELS)
    assert {p["region"] for p in book["pools"]} <= set(REGIONS)
    assert {p["uptime"] for p in book["pools"]} <= set(UPTIME_TIERS)


def test_market_money_is_decimal_to_the_cent() -> None:
    book: dict[str, Any] = generate_market(500, seed=12)
    prices = [a["price"] for a in book["asks"]]
    values = [alt["value"] for b in book["bids"] for alt in b["alternatives"]]
    assert all(isinstance(x, Decimal) and x == x.quantize(CENT) for x in prices + values)


@pytest.mark.parametrize(("bids", "seed"), [(1000, 1), (3000, 2), (6000, 3)])
def test_market_demands_about_twice_the_gpu_hours_it_supplies(bids: int, seed: int) -> None:
    demand, supply = _gpu_hours(generate_market(bids, seed))
    assert 1.5 <= demand / supply <= 2.5


def test_market_pools_hold_8_to_1024_gpus_in_multiples_of_8() -> None:
    book: dict[str, Any] = generate_market(5000, seed=13)
    slots = book["slots"]
    provider_of = {p["id"]: p["provider"] for p in book["pools"]}
    offered = {pool: [0] * slots for pool in provider_of}
    for a in book["asks"]:
        if a["seller"] == provider_of[a["pool"]]:
            for t in range(a["start"], a["end"]):
                offered[a["pool"]][t] += a["gpus"]
    sizes = [max(per_slot) for per_slot in offered.values()]
    assert all(g % 8 == 0 and 8 <= g <= 1024 for g in sizes)


def test_market_has_supply_curves_with_rising_reserves_and_partial_horizons() -> None:
    book: dict[str, Any] = generate_market(2000, seed=14)
    by_pool: dict[str, list[Decimal]] = {}
    for a in book["asks"]:
        by_pool.setdefault(a["pool"], []).append(a["price"])
    assert any(len(set(prices)) >= 3 for prices in by_pool.values())
    assert any(a["start"] > 0 or a["end"] < book["slots"] for a in book["asks"])


def test_market_has_resellers_who_also_bid_on_the_pool_they_resell() -> None:
    book: dict[str, Any] = generate_market(2000, seed=15)
    provider_of = {p["id"]: p["provider"] for p in book["pools"]}
    resale = [a for a in book["asks"] if a["seller"] != provider_of[a["pool"]]]
    assert resale
    buyers = {b["buyer"]: b for b in book["bids"]}
    self_trade_risk = [
        a
        for a in resale
        if a["seller"] in buyers
        and any(
            a["pool"] in {p["id"] for p in _matching(book, leg)}
            for alt in buyers[a["seller"]]["alternatives"]
            for leg in alt["legs"]
        )
    ]
    assert self_trade_risk


def test_market_mixes_training_small_and_package_bids_with_xor_substitutes() -> None:
    book: dict[str, Any] = generate_market(2000, seed=16)
    first_legs = [b["alternatives"][0]["legs"] for b in book["bids"]]
    assert sum(len(legs) == 1 and legs[0]["gpus"] >= 32 for legs in first_legs) > 100
    assert sum(len(legs) == 1 and legs[0]["gpus"] <= 8 for legs in first_legs) > 1000
    assert sum(len(legs) >= 2 for legs in first_legs) > 400
    assert sum(len(b["alternatives"]) >= 2 for b in book["bids"]) > 100
    assert any(legs[1]["offset"] > 0 for legs in first_legs if len(legs) >= 2)


def test_market_keeps_the_naive_placement_count_to_a_few_dozen_per_bid() -> None:
    book: dict[str, Any] = generate_market(5000, seed=17)
    placements = 0
    for b in book["bids"]:
        for alt in b["alternatives"]:
            span = max(leg["offset"] + leg["duration"] for leg in alt["legs"])
            starts = alt["latest_end"] - alt["earliest_start"] - span + 1
            placements += starts * sum(len(_matching(book, leg)) for leg in alt["legs"])
    assert 10 <= placements / len(book["bids"]) <= 40


def test_market_rejects_a_negative_bid_count_and_an_empty_horizon() -> None:
    with pytest.raises(ValueError, match="bids"):
        generate_market(-1, seed=0)
    with pytest.raises(ValueError, match="slots"):
        generate_market(10, seed=0, slots=0)


def test_market_has_some_bids_worth_less_than_the_cheapest_supply_they_could_use() -> None:
    book: dict[str, Any] = generate_market(2000, seed=18)
    cheapest: dict[str, Decimal] = {}
    for a in book["asks"]:
        cheapest[a["pool"]] = min(a["price"], cheapest.get(a["pool"], a["price"]))
    below = 0
    for b in book["bids"]:
        alt = b["alternatives"][0]
        floor = sum(
            min(cheapest[p["id"]] for p in _matching(book, leg)) * leg["gpus"] * leg["duration"]
            for leg in alt["legs"]
        )
        below += alt["value"] < floor
    assert 0.01 <= below / len(book["bids"]) <= 0.2
