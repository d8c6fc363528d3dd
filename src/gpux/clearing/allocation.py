"""An allocation: which bids are accepted where, and which asks supply them.

This is the plain solution that winner determination hands to pricing and to the result
writer. Ids are the book's; supply is per ask and slot.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from gpux.domain.book import Book
from gpux.domain.money import to_micros


@dataclass(frozen=True, slots=True)
class Placement:
    """One accepted alternative of a bid at one start, with the pool that serves each leg."""

    bid: str
    alternative: int
    start: int
    pools: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Allocation:
    """Accepted placements, and the GPUs each ask delivers in each slot (`supply[ask][slot]`)."""

    placements: tuple[Placement, ...]
    supply: dict[str, dict[int, int]] = field(default_factory=dict)

    def usage(self, book: Book) -> dict[tuple[str, int], int]:
        """GPUs that accepted legs take per (pool, slot)."""
        bids = {b.id: b for b in book.bids}
        used: dict[tuple[str, int], int] = defaultdict(int)
        for pl in self.placements:
            alt = bids[pl.bid].alternatives[pl.alternative]
            for leg, pool in zip(alt.legs, pl.pools, strict=True):
                for t in range(pl.start + leg.offset, pl.start + leg.end_offset):
                    used[pool, t] += leg.gpus
        return dict(used)


def supply_floor(book: Book, allocation: Allocation) -> dict[tuple[str, int], int]:
    """The least price per (pool, slot), in micros, that pays every supplying ask its reserve.

    Any valid clearing price must be at least this; since payments only grow with prices,
    prices that meet the spec exist exactly when every accepted bid can pay these floors.
    """
    asks = {a.id: a for a in book.asks}
    floor: dict[tuple[str, int], int] = {}
    for ask_id, by_slot in allocation.supply.items():
        ask = asks[ask_id]
        reserve = to_micros(ask.price)
        for t, gpus in by_slot.items():
            if gpus > 0:
                key = (ask.pool, t)
                floor[key] = max(floor.get(key, 0), reserve)
    return floor
