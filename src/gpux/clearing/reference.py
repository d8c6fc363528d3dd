"""A brute-force reference solver for tiny books: obviously correct, and sharing no code with
the CP-SAT solver, so that tests can hold the real one to it.

It tries every combination of placements (for each bid: not accepted, or one alternative at
one start with one matching pool per leg), and for each the cheapest supply, GPU by GPU, that
meets demand in every pool and slot without self-trade and leaves the allocation priceable.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal, localcontext
from itertools import product

from gpux.clearing.allocation import Allocation, Placement
from gpux.domain.book import Ask, Bid, Book

MAX_COMBINATIONS = 2_000_000
# Supply vectors tried in one pool and slot: the product of (GPUs + 1) over its asks.
MAX_SUPPLY_VECTORS = 200_000

PoolSlot = tuple[str, int]
Demand = tuple[tuple[str, int], ...]  # GPUs per buyer, sorted by buyer
# The cheapest supply with a given floor: its cost and the GPUs each ask delivers.
Choice = tuple[Decimal, tuple[int, ...]]


def reference_optimum(book: Book) -> tuple[Decimal, Allocation]:
    """The largest surplus of any valid, priceable allocation of a tiny book, and one such."""
    with localcontext() as ctx:
        ctx.prec = 60
        return _Reference(book).solve()


def _placements(book: Book, bid: Bid) -> list[Placement | None]:
    options: list[Placement | None] = [None]
    for k, alt in enumerate(bid.alternatives):
        pools = [[p.id for p in book.pools if leg.matches(p)] for leg in alt.legs]
        for start in alt.starts():
            options += [Placement(bid.id, k, start, chosen) for chosen in product(*pools)]
    return options


def _count(book: Book, bid: Bid) -> int:
    return 1 + sum(
        len(alt.starts()) * math.prod(sum(leg.matches(p) for p in book.pools) for leg in alt.legs)
        for alt in bid.alternatives
    )


class _Reference:
    def __init__(self, book: Book) -> None:
        combinations = math.prod(_count(book, bid) for bid in book.bids)
        if combinations > MAX_COMBINATIONS:
            raise ValueError(
                f"book too big to enumerate: {combinations} combinations of placements, "
                f"more than {MAX_COMBINATIONS}"
            )
        self.book = book
        self.bids = {b.id: b for b in book.bids}
        self.memo: dict[tuple[PoolSlot, Demand], dict[Decimal, Choice]] = {}

    def solve(self) -> tuple[Decimal, Allocation]:
        # The empty allocation is always valid; ties keep the allocation found first.
        best: tuple[Decimal, Allocation] = (Decimal(0), Allocation(()))
        for combo in product(*(_placements(self.book, bid) for bid in self.book.bids)):
            placed = tuple(p for p in combo if p is not None)
            found = self.best_supply(placed, best[0])
            if found is not None:
                best = found
        return best

    def best_supply(
        self, placed: tuple[Placement, ...], to_beat: Decimal
    ) -> tuple[Decimal, Allocation] | None:
        """The best priceable supply for these placements, if its surplus beats `to_beat`."""
        demand: dict[PoolSlot, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for pl in placed:
            bid = self.bids[pl.bid]
            for leg, pool in zip(bid.alternatives[pl.alternative].legs, pl.pools, strict=True):
                for t in range(pl.start + leg.offset, pl.start + leg.end_offset):
                    demand[pool, t][bid.buyer] += leg.gpus
        keys = sorted(demand)
        menus = [self.choices(key, tuple(sorted(demand[key].items()))) for key in keys]
        values = sum(
            (self.bids[pl.bid].alternatives[pl.alternative].value for pl in placed), Decimal(0)
        )
        # Each pool and slot costs at least its cheapest choice; skip what cannot win.
        if (
            any(not menu for menu in menus)
            or values - sum((min(c for c, _ in menu.values()) for menu in menus), Decimal(0))
            <= to_beat
        ):
            return None
        best: tuple[Decimal, dict[PoolSlot, Choice]] | None = None
        # Cost adds up over pools and slots, and the supply of one pool and slot touches the
        # others only through its floor (priceability). So trying every combination of
        # floors, each with the cheapest supply that sets it, misses no better allocation.
        for picked in product(*(menu.items() for menu in menus)):
            floor = {key: f for key, (f, _) in zip(keys, picked, strict=True)}
            surplus = values - sum((c for _, (c, _) in picked), Decimal(0))
            if surplus > (to_beat if best is None else best[0]) and self.priceable(placed, floor):
                best = (
                    surplus,
                    {key: choice for key, (_, choice) in zip(keys, picked, strict=True)},
                )
        if best is None:
            return None
        supply: dict[str, dict[int, int]] = defaultdict(dict)
        for (pool, t), (_, gpus) in best[1].items():
            for ask, n in zip(self.asks_at(pool, t), gpus, strict=True):
                if n > 0:
                    supply[ask.id][t] = n
        return best[0], Allocation(placed, dict(supply))

    def priceable(self, placed: Sequence[Placement], floor: dict[PoolSlot, Decimal]) -> bool:
        """Tell whether clearing prices that meet the format exist for this allocation.

        A price must be at least the floor of its pool and slot (the highest reserve among
        the asks supplying there) and at least zero, and any price of a slot where nothing
        trades touches no payment. Balance holds at any prices because supply equals demand
        slot by slot, and every payment only grows with the prices. So prices exist exactly
        when every accepted bid can pay the floors of its GPU-slots.
        """
        for pl in placed:
            alt = self.bids[pl.bid].alternatives[pl.alternative]
            due = sum(
                (
                    leg.gpus * floor[pool, t]
                    for leg, pool in zip(alt.legs, pl.pools, strict=True)
                    for t in range(pl.start + leg.offset, pl.start + leg.end_offset)
                ),
                Decimal(0),
            )
            if due > alt.value:
                return False
        return True

    def asks_at(self, pool: str, t: int) -> list[Ask]:
        return [a for a in self.book.asks if a.pool == pool and a.start <= t < a.end]

    def choices(self, key: PoolSlot, demand: Demand) -> dict[Decimal, Choice]:
        """Per floor, the cheapest supply meeting `demand` in one pool and slot, no self-trade.

        Floors whose cheapest supply costs no less than a lower floor's are dropped: that
        lower floor is as cheap and makes every payment smaller.
        """
        if (key, demand) in self.memo:
            return self.memo[key, demand]
        asks = self.asks_at(*key)
        vectors = math.prod(a.gpus + 1 for a in asks)
        if vectors > MAX_SUPPLY_VECTORS:
            raise ValueError(
                f"book too big to enumerate: {vectors} ways to supply pool {key[0]!r} "
                f"in slot {key[1]}, more than {MAX_SUPPLY_VECTORS}"
            )
        total = sum(n for _, n in demand)
        cheapest: dict[Decimal, Choice] = {}
        for gpus in product(*(range(a.gpus + 1) for a in asks)):
            if sum(gpus) != total:
                continue
            own: dict[str, int] = defaultdict(int)
            for ask, n in zip(asks, gpus, strict=True):
                own[ask.seller] += n
            # No self-trade: each buyer's GPUs must come from asks of other sellers. Checking
            # buyer by buyer suffices: supply equals demand, so any two buyers together can
            # always be served by all sellers (Hall's condition holds for every larger set).
            if any(n > total - own[buyer] for buyer, n in demand):
                continue
            floor = max(a.price for a, n in zip(asks, gpus, strict=True) if n > 0)
            cost = sum((n * a.price for a, n in zip(asks, gpus, strict=True)), Decimal(0))
            if floor not in cheapest or cost < cheapest[floor][0]:
                cheapest[floor] = (cost, gpus)
        kept: dict[Decimal, Choice] = {}
        for floor in sorted(cheapest):
            if not kept or cheapest[floor][0] < min(c for c, _ in kept.values()):
                kept[floor] = cheapest[floor]
        self.memo[key, demand] = kept
        return kept
