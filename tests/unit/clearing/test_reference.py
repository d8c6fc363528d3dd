"""The brute-force reference solver: hand-computed optima of tiny books."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from itertools import product

import pytest
from books import (
    alternative,
    ask,
    bid,
    book,
    leg,
    pool,
    result_at_floors,
    simple_bid,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpux.clearing.allocation import Allocation, Placement
from gpux.clearing.check import check_result
from gpux.clearing.reference import reference_optimum
from gpux.domain.book import Book

# One slot; ask A: 10 GPUs at 1, ask B: 5 GPUs at 2; bid X: 10 GPUs for 16, bid Y: 5 for 11.
# Taking both uses all 15 GPUs for a surplus of 27 - 10 - 10 = 7, but then B supplies, so
# the price is at least 2 and X would pay at least 20 > 16. Either bid alone, served by A at
# price 1, leaves 6.
UNPRICEABLE = book(
    pools=[pool("p")],
    asks=[ask("A", "p", 10, "1"), ask("B", "p", 5, "2")],
    bids=[simple_bid("X", "lab-x", 10, "16"), simple_bid("Y", "lab-y", 5, "11")],
)

# lab is the only seller of the pool and also its only buyer.
ONLY_SELF = book(
    pools=[pool("p")],
    asks=[ask("mine", "p", 4, "1", seller="lab")],
    bids=[simple_bid("b", "lab", 4, "100")],
)

# As above, plus a dearer ask of another seller: lab buys that, 100 - 4 * 3 = 88.
SELF_AND_OTHER = book(
    pools=[pool("p")],
    asks=[ask("mine", "p", 4, "1", seller="lab"), ask("theirs", "p", 4, "3", seller="dc")],
    bids=[simple_bid("b", "lab", 4, "100")],
)

# lab's ask serves another buyer while lab buys from dc, all in one pool and slot:
# 10 + 10 - 2 * 1 - 2 * 1 = 16.
CROSSED = book(
    pools=[pool("p")],
    asks=[ask("S", "p", 2, "1", seller="lab"), ask("T", "p", 2, "1", seller="dc")],
    bids=[simple_bid("mine", "lab", 2, "10"), simple_bid("theirs", "other", 2, "10")],
)

# Two slots; one bid whose alternatives are 2 H100 for 2 slots worth 20 (cost 2 * 2 * 2 = 8)
# or 2 A100 for 2 slots worth 15 (cost 2 * 2 * 1 = 4): XOR takes the first for 12, never
# both for 23.
XOR = book(
    slots=2,
    pools=[pool("h"), pool("a", gpu="A100-80GB")],
    asks=[ask("ah", "h", 4, "2", end=2), ask("aa", "a", 4, "1", end=2)],
    bids=[
        bid(
            "b",
            "lab",
            alternative("20", leg(2, 2, gpu=["H100"]), latest_end=2),
            alternative("15", leg(2, 2, gpu=["A100-80GB"]), latest_end=2),
        )
    ],
)


def two_legs(a100_gpus: int) -> Book:
    """Four slots; 2 H100 for slots s, s+1 then 2 A100 in slot s+2, worth 10 in all.

    A100 is offered in slot 3 only, so the bid fits only at s = 1, costing 2*2*1 + 2*1*1 = 6.
    """
    return book(
        slots=4,
        pools=[pool("h"), pool("a", gpu="A100-80GB")],
        asks=[ask("ah", "h", 2, "1", end=4), ask("aa", "a", a100_gpus, "1", start=3, end=4)],
        bids=[
            bid(
                "b",
                "lab",
                alternative(
                    "10",
                    leg(2, 2, 0, gpu=["H100"]),
                    leg(2, 1, 2, gpu=["A100-80GB"]),
                    latest_end=4,
                ),
            )
        ],
    )


# A cheap pool of a lower uptime tier and a dear one of a higher tier; the bid asks for 99.9,
# so it pays the dear one: 10 - 2 * 2 = 6 (the cheap pool would have left 8).
UPTIME = book(
    pools=[pool("cheap", uptime="99.0"), pool("good", uptime="99.99")],
    asks=[ask("c", "cheap", 2, "1"), ask("g", "good", 2, "2")],
    bids=[simple_bid("b", "lab", 2, "10", min_uptime=Decimal("99.9"))],
)

# Two bids for the same 4 GPUs: the one worth more wins, 10 - 4 = 6.
COMPETING = book(
    pools=[pool("p")],
    asks=[ask("a", "p", 4, "1")],
    bids=[simple_bid("X", "lab-x", 4, "10"), simple_bid("Y", "lab-y", 4, "8")],
)

NO_BIDS = book(pools=[pool("p")], asks=[ask("a", "p", 4, "1")], bids=[])

OPTIMA = [
    pytest.param(UNPRICEABLE, Decimal(6), id="unpriceable-pair"),
    pytest.param(ONLY_SELF, Decimal(0), id="only-self"),
    pytest.param(SELF_AND_OTHER, Decimal(88), id="self-and-other"),
    pytest.param(CROSSED, Decimal(16), id="crossed"),
    pytest.param(XOR, Decimal(12), id="xor"),
    pytest.param(two_legs(2), Decimal(4), id="two-legs"),
    pytest.param(two_legs(1), Decimal(0), id="two-legs-short"),
    pytest.param(UPTIME, Decimal(6), id="uptime"),
    pytest.param(COMPETING, Decimal(6), id="competing"),
    pytest.param(NO_BIDS, Decimal(0), id="no-bids"),
]


@pytest.mark.parametrize(("tiny", "optimum"), OPTIMA)
def test_reference_finds_the_hand_computed_optimum(tiny: Book, optimum: Decimal) -> None:
    assert reference_optimum(tiny)[0] == optimum


@pytest.mark.parametrize(("tiny", "optimum"), OPTIMA)
def test_reference_allocation_priced_at_its_floors_passes_the_validator(
    tiny: Book, optimum: Decimal
) -> None:
    surplus, allocation = reference_optimum(tiny)
    assert check_result(tiny, result_at_floors(tiny, surplus, allocation)) == []


def test_an_allocation_that_cannot_be_priced_is_never_chosen() -> None:
    _, allocation = reference_optimum(UNPRICEABLE)
    assert [p.bid for p in allocation.placements] in (["X"], ["Y"])
    assert allocation.supply in ({"A": {0: 10}}, {"A": {0: 5}})


def test_the_validator_rejects_the_unpriceable_pair_too() -> None:
    both = Allocation(
        (Placement("X", 0, 0, ("p",)), Placement("Y", 0, 0, ("p",))),
        {"A": {0: 10}, "B": {0: 5}},
    )
    result = result_at_floors(UNPRICEABLE, Decimal(7), both)
    assert "accepted[0].payment: must be at most the value 16 of alternative 0, was 20" in (
        check_result(UNPRICEABLE, result)
    )


def test_a_buyer_who_is_the_only_seller_gets_nothing() -> None:
    assert reference_optimum(ONLY_SELF) == (Decimal(0), Allocation(()))


def test_a_buyer_who_also_sells_buys_from_another_seller_even_at_a_higher_price() -> None:
    _, allocation = reference_optimum(SELF_AND_OTHER)
    assert allocation.supply == {"theirs": {0: 4}}


def test_a_seller_may_serve_others_while_buying_from_a_third_party() -> None:
    _, allocation = reference_optimum(CROSSED)
    assert {p.bid for p in allocation.placements} == {"mine", "theirs"}
    assert allocation.supply == {"S": {0: 2}, "T": {0: 2}}


def test_at_most_one_alternative_of_a_bid_is_accepted() -> None:
    _, allocation = reference_optimum(XOR)
    assert allocation.placements == (Placement("b", 0, 0, ("h",)),)


def test_every_leg_of_an_alternative_is_placed_together_at_one_start() -> None:
    _, allocation = reference_optimum(two_legs(2))
    assert allocation.placements == (Placement("b", 0, 1, ("h", "a")),)
    assert allocation.supply == {"ah": {1: 2, 2: 2}, "aa": {3: 2}}


def test_a_bid_is_refused_whole_when_one_leg_cannot_be_served() -> None:
    assert reference_optimum(two_legs(1)) == (Decimal(0), Allocation(()))


def test_a_leg_is_served_only_by_a_pool_meeting_its_filters() -> None:
    _, allocation = reference_optimum(UPTIME)
    assert allocation.placements == (Placement("b", 0, 0, ("good",)),)


def test_a_book_too_big_to_enumerate_is_refused() -> None:
    big = book(
        slots=4,
        pools=[pool(f"p{i}") for i in range(20)],
        asks=[ask("a", "p0", 1, "1", end=4)],
        bids=[bid(f"b{i}", "lab", alternative("1", leg(1), latest_end=4)) for i in range(6)],
    )
    with pytest.raises(ValueError, match="too big to enumerate"):
        reference_optimum(big)


@st.composite
def tiny_books(draw: st.DrawFn, most_asks: int = 3, most_gpus: int = 3) -> Book:
    """Books of up to 2 slots, 2 pools and 3 bids, among parties who both buy and sell."""
    slots = draw(st.integers(1, 2))
    models = ["H100", "A100-80GB"]
    pools = [pool(f"p{i}", gpu=models[i]) for i in range(draw(st.integers(1, 2)))]
    parties = st.sampled_from(["dc", "lab-1", "lab-2"])
    money = st.integers(0, 8).map(lambda n: str(Decimal(n) / 2))
    asks = []
    for i in range(draw(st.integers(1, most_asks))):
        start = draw(st.integers(0, slots - 1))
        pool_id = f"p{draw(st.integers(0, len(pools) - 1))}"
        asks.append(
            ask(
                f"a{i}",
                pool_id,
                draw(st.integers(1, most_gpus)),
                draw(money),
                seller=draw(parties),
                start=start,
                end=draw(st.integers(start + 1, slots)),
            )
        )
    bids = []
    for i in range(draw(st.integers(0, 3))):
        alts = []
        for _ in range(draw(st.integers(1, 2))):
            legs = []
            for _ in range(draw(st.integers(1, 2))):
                offset = draw(st.integers(0, slots - 1))
                duration = draw(st.integers(1, slots - offset))
                gpu = draw(st.sampled_from([None, ["H100"], ["A100-80GB"]]))
                filters = {} if gpu is None else {"gpu": gpu}
                legs.append(leg(draw(st.integers(1, most_gpus)), duration, offset, **filters))
            value = str(draw(st.integers(1, 40)) / Decimal(2))
            alts.append(alternative(value, *legs, latest_end=slots))
        bids.append(bid(f"b{i}", draw(parties), *alts))
    return book(slots=slots, pools=pools, asks=asks, bids=bids)


def naive_optimum(tiny: Book) -> Decimal:
    """The best surplus straight from the rules: every placement, every supply of every ask."""
    options: list[list[tuple[str, Decimal, list[tuple[str, int, int]]] | None]] = []
    for b in tiny.bids:
        placed: list[tuple[str, Decimal, list[tuple[str, int, int]]] | None] = [None]
        for alt in b.alternatives:
            span = max(g.offset + g.duration for g in alt.legs)
            for s in range(alt.earliest_start, alt.latest_end - span + 1):
                serving = [[p for p in tiny.pools if g.matches(p)] for g in alt.legs]
                for chosen in product(*serving):
                    cells = [
                        (p.id, t, g.gpus)
                        for g, p in zip(alt.legs, chosen, strict=True)
                        for t in range(s + g.offset, s + g.offset + g.duration)
                    ]
                    placed.append((b.buyer, alt.value, cells))
        options.append(placed)
    ask_slots = [(a, t) for a in tiny.asks for t in range(a.start, a.end)]
    best = Decimal(0)
    for combo in product(*options):
        accepted = [c for c in combo if c is not None]
        use: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
        for buyer, _, cells in accepted:
            for pool_id, t, gpus in cells:
                use[pool_id, t][buyer] += gpus
        for supply in product(*(range(a.gpus + 1) for a, _ in ask_slots)):
            sold: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
            floor: dict[tuple[str, int], Decimal] = {}
            for (a, t), n in zip(ask_slots, supply, strict=True):
                if n:
                    sold[a.pool, t][a.seller] += n
                    floor[a.pool, t] = max(floor.get((a.pool, t), a.price), a.price)
            if any(use[k].total() != sold[k].total() for k in {*use, *sold}):
                continue
            if any(
                n > sold[k].total() - sold[k][buyer] for k in use for buyer, n in use[k].items()
            ):
                continue
            if any(
                value < sum(gpus * floor[pool_id, t] for pool_id, t, gpus in cells)
                for _, value, cells in accepted
            ):
                continue
            cost = sum(
                (n * a.price for (a, _), n in zip(ask_slots, supply, strict=True)), Decimal(0)
            )
            best = max(best, sum((v for _, v, _ in accepted), Decimal(0)) - cost)
    return best


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_books())
def test_every_reference_optimum_priced_at_its_floors_passes_the_validator(tiny: Book) -> None:
    surplus, allocation = reference_optimum(tiny)
    assert check_result(tiny, result_at_floors(tiny, surplus, allocation)) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_books(most_asks=2, most_gpus=2))
def test_reference_agrees_with_trying_every_supply_of_every_ask(tiny: Book) -> None:
    assert reference_optimum(tiny)[0] == naive_optimum(tiny)
