from __future__ import annotations

import pytest

from gpux.clearing.allocation import Allocation, Placement
from gpux.clearing.pricing import (
    Prices,
    UnpriceableAllocation,
    clearing_prices,
    floor_prices,
    lp_dual_prices,
    price_violations,
    pricing_errors,
)
from gpux.domain.book import Book
from gpux.domain.bookjson import read_book

M = 1_000_000  # micros per dollar


def pool(pool_id: str, region: str = "us-east") -> dict[str, object]:
    return {"id": pool_id, "provider": "acme", "gpu": "H100", "region": region, "uptime": 99.9}


def ask(
    ask_id: str,
    pool_id: str,
    gpus: int,
    price: float,
    start: int = 0,
    end: int = 1,
    seller: str = "seller",
) -> dict[str, object]:
    return {
        "id": ask_id,
        "seller": seller,
        "pool": pool_id,
        "gpus": gpus,
        "start": start,
        "end": end,
        "price": price,
    }


def bid(
    bid_id: str,
    value: float,
    legs: list[dict[str, object]],
    earliest: int = 0,
    latest: int = 1,
    buyer: str | None = None,
) -> dict[str, object]:
    return {
        "id": bid_id,
        "buyer": buyer or f"buyer-{bid_id}",
        "alternatives": [
            {"value": value, "earliest_start": earliest, "latest_end": latest, "legs": legs}
        ],
    }


def leg(gpus: int, duration: int = 1, offset: int = 0, **filters: object) -> dict[str, object]:
    return {"gpus": gpus, "duration": duration, "offset": offset, **filters}


def book(
    slots: int,
    pools: list[dict[str, object]],
    asks: list[dict[str, object]],
    bids: list[dict[str, object]],
) -> Book:
    return read_book(
        {"format": "gpu-auction/1", "slots": slots, "pools": pools, "asks": asks, "bids": bids}
    )


def assert_valid(b: Book, allocation: Allocation, prices: Prices) -> None:
    assert price_violations(b, allocation, prices.by_pool) == []
    assert pricing_errors(b, allocation, prices.by_pool) == (
        prices.envy_micros,
        prices.overprice_micros,
    )


def one_slot_market() -> tuple[Book, Allocation]:
    b = book(
        1,
        [pool("p")],
        [ask("a", "p", 10, 1)],
        [bid("win", 30, [leg(10)]), bid("lose", 20, [leg(10)])],
    )
    return b, Allocation((Placement("win", 0, 0, ("p",)),), {"a": {0: 10}})


def two_pool_market() -> tuple[Book, Allocation]:
    b = book(
        4,
        [pool("east"), pool("west", "us-west"), pool("empty", "eu-west")],
        [ask("a1", "east", 8, 2, 0, 4, "s1"), ask("a2", "west", 8, 3, 0, 4, "s2")],
        [
            bid("w1", 60, [leg(8, 2)], 0, 4),
            bid("w2", 40, [leg(4, 2, regions=["us-west"])], 2, 4),
            bid("l1", 50, [leg(8, 2)], 0, 4),
            bid(
                "l2",
                30,
                [leg(4, 1, 0, regions=["us-east"]), leg(4, 1, 1, regions=["us-west"])],
                0,
                4,
            ),
        ],
    )
    allocation = Allocation(
        (Placement("w1", 0, 0, ("east",)), Placement("w2", 0, 2, ("west",))),
        {"a1": {0: 8, 1: 8}, "a2": {2: 4, 3: 4}},
    )
    return b, allocation


def test_the_floor_leaves_envy_that_a_higher_price_removes() -> None:
    b, allocation = one_slot_market()
    assert floor_prices(b, allocation).envy_micros == 10 * M
    prices = clearing_prices(b, allocation)
    price = prices.by_pool["p"][0]
    assert price is not None and 2 * M <= price <= 3 * M
    assert (prices.envy_micros, prices.overprice_micros) == (0, 0)
    assert_valid(b, allocation, prices)


def test_unsold_gpus_keep_the_price_at_their_reserve() -> None:
    b = book(
        1,
        [pool("p")],
        [ask("a", "p", 20, 1)],
        [bid("win", 30, [leg(10)]), bid("lose", 5, [leg(1)])],
    )
    allocation = Allocation((Placement("win", 0, 0, ("p",)),), {"a": {0: 10}})
    prices = clearing_prices(b, allocation)
    # Raising the price by d would cut envy by d but cost 10 unsold GPUs x d of overprice.
    assert prices.by_pool["p"] == [1 * M]
    assert (prices.envy_micros, prices.overprice_micros) == (4 * M, 0)
    assert_valid(b, allocation, prices)


def test_a_sold_out_slot_nobody_else_wants_is_priced_at_its_floor() -> None:
    b = book(1, [pool("p")], [ask("a", "p", 10, 1)], [bid("win", 100, [leg(10)])])
    allocation = Allocation((Placement("win", 0, 0, ("p",)),), {"a": {0: 10}})
    assert clearing_prices(b, allocation).by_pool["p"] == [1 * M]


def test_pricing_errors_match_hand_computed_values() -> None:
    b, allocation = two_pool_market()
    flat: dict[str, list[int | None]] = {
        "east": [2 * M] * 4,
        "west": [3 * M] * 4,
        "empty": [None] * 4,
    }
    # l1 takes 8 GPUs of east for 2 slots at 32 (envy 18); l2 pays 4 x 2 + 4 x 3 (envy 10).
    assert pricing_errors(b, allocation, flat) == (28 * M, 0)
    raised: dict[str, list[int | None]] = {
        "east": [2 * M, 2 * M, 5 * M, 5 * M],
        "west": [3 * M, 3 * M, 4 * M, 4 * M],
        "empty": [None] * 4,
    }
    # Overprice: 8 unsold east GPUs x 3 x 2 slots, and 4 unsold west GPUs x 1 x 2 slots.
    assert pricing_errors(b, allocation, raised) == (28 * M, 56 * M)


def test_prices_exist_exactly_where_a_pool_has_an_ask() -> None:
    b = book(
        4,
        [pool("p"), pool("q", "us-west")],
        [ask("a", "p", 4, 1, 1, 3)],
        [bid("w", 10, [leg(2)], 1, 2)],
    )
    allocation = Allocation((Placement("w", 0, 1, ("p",)),), {"a": {1: 2}})
    for prices in (
        clearing_prices(b, allocation),
        floor_prices(b, allocation),
        lp_dual_prices(b, allocation),
    ):
        assert [v is not None for v in prices.by_pool["p"]] == [False, True, True, False]
        assert prices.by_pool["q"] == [None] * 4
        assert_valid(b, allocation, prices)


def test_where_nothing_is_sold_the_floor_prices_use_the_lowest_reserve() -> None:
    b = book(
        2,
        [pool("p")],
        [ask("a", "p", 4, 3, 0, 2), ask("b", "p", 4, 2, 1, 2)],
        [bid("w", 10, [leg(2)])],
    )
    allocation = Allocation((Placement("w", 0, 0, ("p",)),), {"a": {0: 2}})
    assert floor_prices(b, allocation).by_pool["p"] == [3 * M, 2 * M]


def test_every_method_meets_the_rules_on_several_pools_and_slots() -> None:
    b, allocation = two_pool_market()
    floor, best, duals = (
        floor_prices(b, allocation),
        clearing_prices(b, allocation),
        lp_dual_prices(b, allocation),
    )
    for prices in (floor, best, duals):
        assert_valid(b, allocation, prices)
        assert prices.by_pool["empty"] == [None] * 4
    total = best.envy_micros + best.overprice_micros
    assert total <= floor.envy_micros + floor.overprice_micros
    assert total <= duals.envy_micros + duals.overprice_micros
    assert best.stats["method"] == "envy-lp"


def test_rounding_to_micros_never_makes_a_bid_pay_more_than_its_value() -> None:
    b = book(
        1, [pool("p")], [ask("a", "p", 3, 1)], [bid("win", 20, [leg(3)]), bid("lose", 20, [leg(3)])]
    )
    allocation = Allocation((Placement("win", 0, 0, ("p",)),), {"a": {0: 3}})
    prices = clearing_prices(b, allocation)
    assert prices.by_pool["p"] == [6_666_666]  # 20 / 3, rounded down to keep 3 x it <= 20
    assert prices.envy_micros == 2
    assert_valid(b, allocation, prices)


def test_a_bidder_cannot_envy_capacity_only_it_sells() -> None:
    b = book(
        1,
        [pool("p")],
        [ask("a", "p", 10, 1, seller="u9")],
        [bid("own", 100, [leg(10)], buyer="u9"), bid("other", 100, [leg(10)], buyer="u8")],
    )
    allocation = Allocation(())
    assert pricing_errors(b, allocation, {"p": [1 * M]}) == (90 * M, 0)


def test_an_allocation_whose_bid_cannot_pay_the_floor_is_refused() -> None:
    b = book(
        1,
        [pool("p")],
        [ask("cheap", "p", 10, 1), ask("dear", "p", 10, 5)],
        [bid("small", 10, [leg(10)]), bid("big", 100, [leg(10)])],
    )
    allocation = Allocation(
        (Placement("small", 0, 0, ("p",)), Placement("big", 0, 0, ("p",))),
        {"cheap": {0: 10}, "dear": {0: 10}},
    )
    with pytest.raises(UnpriceableAllocation):
        clearing_prices(b, allocation)


def test_price_violations_name_a_price_below_the_floor_and_an_overpaying_bid() -> None:
    b, allocation = one_slot_market()
    assert price_violations(b, allocation, {"p": [M // 2]}) != []
    assert price_violations(b, allocation, {"p": [4 * M]}) != []
    assert price_violations(b, allocation, {"p": [None]}) != []
    assert price_violations(b, allocation, {"p": [3 * M]}) == []
