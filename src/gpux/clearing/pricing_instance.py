"""A book and an allocation laid out for pricing: per (pool, slot) arrays in integer micros.

Pools are indexed in book order among those with at least one ask; only their slots covered
by an ask get a price. Everything here is exact: money is int64 micros, and sums that could
overflow int64 are taken over Python ints.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gpux.clearing.allocation import Allocation, supply_floor
from gpux.domain.book import Bid, Book
from gpux.domain.money import to_micros

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class LegUse:
    """`gpus` GPUs of pool index `pool` over the slots [first, end)."""

    pool: int
    first: int
    end: int
    gpus: int


@dataclass(frozen=True, slots=True)
class Purchase:
    """An accepted bid: its placement, its value in micros and where its legs run."""

    bid: str
    alternative: int
    start: int
    value: int
    legs: tuple[LegUse, ...]


@dataclass(frozen=True, eq=False)
class PricingInstance:
    """What pricing needs of a book and an allocation, as arrays over (pool, slot)."""

    book: Book
    pool_ids: tuple[str, ...]
    slots: int
    has_ask: BoolArray  # (pools, slots): the pool-slots that get a price
    supplied: BoolArray  # (pools, slots): some ask delivers GPUs there
    floor: IntArray  # (pools, slots): the supply floor in micros, 0 where nothing is supplied
    lowest_reserve: IntArray  # (pools, slots): the cheapest ask's reserve, 0 where no ask
    # Unsold GPUs grouped by (pool, slot, reserve): four aligned arrays.
    unsold_pool: IntArray
    unsold_slot: IntArray
    unsold_reserve: IntArray
    unsold_gpus: IntArray
    purchases: tuple[Purchase, ...]
    losing: tuple[Bid, ...]
    most_gpus: int  # the most GPUs any alternative's legs take together

    @property
    def pool_index(self) -> dict[str, int]:
        """Pool id -> row of the arrays."""
        return {p: i for i, p in enumerate(self.pool_ids)}


def prepare_pricing(book: Book, allocation: Allocation) -> PricingInstance:
    """Lay out a book and a feasible allocation for pricing."""
    with_asks = {a.pool for a in book.asks}
    pool_ids = tuple(p.id for p in book.pools if p.id in with_asks)
    index = {p: i for i, p in enumerate(pool_ids)}
    shape = (len(pool_ids), book.slots)
    has_ask = np.zeros(shape, dtype=np.bool_)
    lowest = np.full(shape, -1, dtype=np.int64)
    unsold: dict[tuple[int, int, int], int] = defaultdict(int)
    for ask in book.asks:
        p, reserve = index[ask.pool], to_micros(ask.price)
        row = lowest[p, ask.start : ask.end]
        row[(row < 0) | (row > reserve)] = reserve
        has_ask[p, ask.start : ask.end] = True
        sold = allocation.supply.get(ask.id, {})
        for t in range(ask.start, ask.end):
            left = ask.gpus - sold.get(t, 0)
            if left > 0:
                unsold[p, t, reserve] += left
    floor = np.zeros(shape, dtype=np.int64)
    supplied = np.zeros(shape, dtype=np.bool_)
    for (pool_id, t), micros in supply_floor(book, allocation).items():
        floor[index[pool_id], t] = micros
        supplied[index[pool_id], t] = True
    keys = sorted(unsold)
    cols = np.array(keys, dtype=np.int64).reshape(len(keys), 3)
    return PricingInstance(
        book,
        pool_ids,
        book.slots,
        has_ask,
        supplied,
        floor,
        np.maximum(lowest, 0),
        cols[:, 0].copy(),
        cols[:, 1].copy(),
        cols[:, 2].copy(),
        np.array([unsold[k] for k in keys], dtype=np.int64),
        _purchases(book, allocation, index),
        _losing(book, allocation),
        max(
            (sum(leg.gpus for leg in alt.legs) for b in book.bids for alt in b.alternatives),
            default=1,
        ),
    )


def _purchases(book: Book, allocation: Allocation, index: dict[str, int]) -> tuple[Purchase, ...]:
    bids = {b.id: b for b in book.bids}
    out = []
    for pl in allocation.placements:
        alt = bids[pl.bid].alternatives[pl.alternative]
        legs = tuple(
            LegUse(index[pool], pl.start + leg.offset, pl.start + leg.end_offset, leg.gpus)
            for leg, pool in zip(alt.legs, pl.pools, strict=True)
        )
        out.append(Purchase(pl.bid, pl.alternative, pl.start, to_micros(alt.value), legs))
    return tuple(out)


def _losing(book: Book, allocation: Allocation) -> tuple[Bid, ...]:
    accepted = {pl.bid for pl in allocation.placements}
    return tuple(b for b in book.bids if b.id not in accepted)


Prefix = npt.NDArray[np.int64] | npt.NDArray[np.object_]


def prefix_sums(inst: PricingInstance, prices: IntArray) -> Prefix:
    """Per pool, the sums of prices over slots [0, t) for t = 0..slots, exact in any case.

    They are int64 when no placement's cost can overflow it, else Python ints (slow, exact).
    """
    top = int(np.abs(prices).max()) if prices.size else 0
    wide = top * inst.slots * inst.most_gpus >= 2**61
    values = prices.astype(object) if wide else prices
    out = np.zeros((prices.shape[0], prices.shape[1] + 1), dtype=values.dtype)
    out[:, 1:] = np.cumsum(values, axis=1)
    return out


def payment(prefix: Prefix, legs: tuple[LegUse, ...]) -> int:
    """What a set of legs costs at the prices whose prefix sums are given, in micros."""
    return sum(
        leg.gpus * (int(prefix[leg.pool, leg.end]) - int(prefix[leg.pool, leg.first]))
        for leg in legs
    )


def overprice(inst: PricingInstance, prices: IntArray) -> int:
    """Unsold GPUs times how far the price exceeds their reserve, summed, in micros."""
    over = prices[inst.unsold_pool, inst.unsold_slot] - inst.unsold_reserve
    return sum(
        g * o for g, o in zip(inst.unsold_gpus.tolist(), over.tolist(), strict=True) if o > 0
    )


def unaffordable(inst: PricingInstance, prices: IntArray) -> list[Purchase]:
    """The accepted bids whose payment at these prices exceeds their value."""
    prefix = prefix_sums(inst, prices)
    return [b for b in inst.purchases if payment(prefix, b.legs) > b.value]


def repair(inst: PricingInstance, prices: IntArray) -> tuple[IntArray, int]:
    """Prices raised to the floor, then lowered towards it until every accepted bid can pay.

    Lowering prices never raises a payment, so one pass over the bids suffices; each
    overpaying bid has the part of its prices above the floor scaled down, rounding down.
    Returns the prices and how many bids needed lowering. Needs floors every bid can pay.
    """
    out = np.where(inst.has_ask, np.maximum(prices, inst.floor), 0).astype(np.int64)
    floor_prefix = prefix_sums(inst, inst.floor)
    lowered = 0
    for bid in unaffordable(inst, out):
        # Bids lowered earlier may have made this one affordable already.
        paid = sum(leg.gpus * sum(out[leg.pool, leg.first : leg.end].tolist()) for leg in bid.legs)
        if paid <= bid.value:
            continue
        at_floor = payment(floor_prefix, bid.legs)
        if at_floor > bid.value:
            raise ValueError(f"bid {bid.bid} cannot pay even the supply floor")
        lowered += 1
        for p, t in sorted({(leg.pool, t) for leg in bid.legs for t in range(leg.first, leg.end)}):
            above = int(out[p, t]) - int(inst.floor[p, t])
            out[p, t] = int(inst.floor[p, t]) + above * (bid.value - at_floor) // (paid - at_floor)
    return out, lowered
