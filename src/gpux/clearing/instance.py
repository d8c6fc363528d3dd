"""Prepared instance: a Book turned into integer arrays and pruned candidate placements.

Supply per pool is kept as groups of asks with one reserve (and, for sellers who also bid,
one seller, so the no-self-trade rule can see them). A placement is one alternative of a bid
at one start with one pool per leg; placements that cannot fit an empty market, or whose
value cannot beat the cheapest supply, are pruned here, before any model is built.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gpux.domain.book import Book
from gpux.domain.money import to_micros

IntArray = npt.NDArray[np.int64]
# A cap on pool combinations per (alternative, start): multi-leg bids over many pools would
# otherwise multiply; the best by value less cheapest cost are kept.
MAX_COMBINATIONS = 48
_NO_SUPPLY = np.int64(2**50)


@dataclass(frozen=True, slots=True)
class SupplyGroup:
    """Asks of one pool with one reserve (and one seller, if that seller also bids)."""

    pool: int
    reserve: int
    seller: str | None
    asks: tuple[int, ...]
    cap: IntArray


@dataclass(frozen=True, slots=True)
class LegUse:
    """One leg of a placement: `gpus` GPUs of pool `pool` over slots [start, end)."""

    pool: int
    start: int
    end: int
    gpus: int


@dataclass(frozen=True, slots=True)
class Candidate:
    """A placement that may be accepted, with its value and least possible supply cost."""

    bid: int
    alternative: int
    start: int
    legs: tuple[LegUse, ...]
    value: int
    floor_cost: int
    ceiling_cost: int

    @property
    def margin(self) -> int:
        """Value less the cheapest cost of the GPUs it takes: an upper bound on its surplus."""
        return self.value - self.floor_cost


@dataclass(slots=True)
class Instance:
    """The book in integers, with supply groups per pool and candidates per bid."""

    book: Book
    slots: int
    pool_ids: list[str]
    groups: list[list[SupplyGroup]]
    cap: list[IntArray]
    cheapest: list[IntArray]
    dearest: list[IntArray]
    candidates: list[Candidate]
    by_bid: list[list[int]]
    sellers_by_pool: list[frozenset[str]]
    stats: dict[str, object] = field(default_factory=dict)

    def buyer(self, bid: int) -> str:
        """The buyer of bid number `bid`."""
        return self.book.bids[bid].buyer


def _window_sums(values: IntArray, duration: int) -> IntArray:
    prefix = np.concatenate(([0], np.cumsum(values, dtype=np.int64)))
    return prefix[duration:] - prefix[:-duration]


def _supply_groups(book: Book, pool_index: dict[str, int], buyers: set[str]
                   ) -> list[list[SupplyGroup]]:
    keyed: dict[tuple[int, int, str | None], list[int]] = {}
    for i, ask in enumerate(book.asks):
        seller = ask.seller if ask.seller in buyers else None
        keyed.setdefault((pool_index[ask.pool], to_micros(ask.price), seller), []).append(i)
    groups: list[list[SupplyGroup]] = [[] for _ in book.pools]
    for (p, reserve, seller), asks in sorted(keyed.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        cap = np.zeros(book.slots, dtype=np.int64)
        for i in asks:
            cap[book.asks[i].start:book.asks[i].end] += book.asks[i].gpus
        groups[p].append(SupplyGroup(p, reserve, seller, tuple(asks), cap))
    return groups


def prepare(book: Book, *, max_combinations: int = MAX_COMBINATIONS) -> Instance:
    """Index the book and enumerate every placement worth considering."""
    pool_index = {p.id: i for i, p in enumerate(book.pools)}
    buyers = {b.buyer for b in book.bids}
    groups = _supply_groups(book, pool_index, buyers)
    slots = book.slots
    cap, cheapest, dearest = [], [], []
    for pool_groups in groups:
        total = np.zeros(slots, dtype=np.int64)
        low = np.full(slots, _NO_SUPPLY, dtype=np.int64)
        high = np.zeros(slots, dtype=np.int64)
        for g in pool_groups:
            has = g.cap > 0
            total += g.cap
            low = np.where(has, np.minimum(low, g.reserve), low)
            high = np.where(has, np.maximum(high, g.reserve), high)
        cap.append(total)
        cheapest.append(low)
        dearest.append(high)
    sellers_by_pool = [frozenset(g.seller for g in gs if g.seller is not None) for gs in groups]
    own_cap: dict[tuple[str, int], IntArray] = {}
    for p, pool_groups in enumerate(groups):
        for g in pool_groups:
            if g.seller is not None:
                key = (g.seller, p)
                own_cap[key] = own_cap.get(key, np.zeros(slots, dtype=np.int64)) + g.cap

    matching: dict[object, list[int]] = {}
    ok_cache: dict[tuple[int, int, int], npt.NDArray[np.bool_]] = {}
    cost_cache: dict[tuple[int, int], tuple[IntArray, IntArray]] = {}

    def window_ok(buyer: str, p: int, gpus: int, duration: int) -> npt.NDArray[np.bool_]:
        own = own_cap.get((buyer, p))
        key = (p, gpus, duration)
        if own is None and key in ok_cache:
            return ok_cache[key]
        avail = cap[p] if own is None else cap[p] - own
        ok: npt.NDArray[np.bool_] = _window_sums((avail < gpus).astype(np.int64), duration) == 0
        if own is None:
            ok_cache[key] = ok
        return ok

    def window_cost(p: int, duration: int) -> tuple[IntArray, IntArray]:
        key = (p, duration)
        if key not in cost_cache:
            cost_cache[key] = (_window_sums(cheapest[p], duration),
                               _window_sums(dearest[p], duration))
        return cost_cache[key]

    candidates: list[Candidate] = []
    by_bid: list[list[int]] = []
    pruned = capped = 0
    for b, bid in enumerate(book.bids):
        mine: list[int] = []
        for k, alt in enumerate(bid.alternatives):
            value = to_micros(alt.value)
            starts = np.arange(alt.earliest_start, alt.latest_end - alt.span + 1)
            # per leg: (pool, fits[starts], floor cost[starts], ceiling cost[starts])
            options: list[list[tuple[int, npt.NDArray[np.bool_], IntArray, IntArray]]] = []
            for leg in alt.legs:
                fkey = (leg.gpu, leg.regions, leg.min_uptime, leg.pools)
                if fkey not in matching:
                    matching[fkey] = [p for p, pool in enumerate(book.pools) if leg.matches(pool)]
                leg_opts = []
                lo = starts + leg.offset
                for p in matching[fkey]:
                    ok = window_ok(bid.buyer, p, leg.gpus, leg.duration)[lo]
                    if not ok.any():
                        continue
                    floor, ceil = window_cost(p, leg.duration)
                    leg_opts.append((p, ok, floor[lo] * leg.gpus, ceil[lo] * leg.gpus))
                options.append(leg_opts)
            if any(not o for o in options):
                continue
            for si, s in enumerate(starts.tolist()):
                combos = []
                for combo in itertools.product(*options):
                    if not all(o[1][si] for o in combo):
                        continue
                    floor_cost = sum(int(o[2][si]) for o in combo)
                    if floor_cost >= value:
                        pruned += 1
                        continue
                    combos.append((floor_cost, combo))
                if len(combos) > max_combinations:
                    capped += len(combos) - max_combinations
                    combos.sort(key=lambda c: c[0])
                    combos = combos[:max_combinations]
                for floor_cost, combo in combos:
                    legs = tuple(LegUse(o[0], s + leg.offset, s + leg.end_offset, leg.gpus)
                                 for o, leg in zip(combo, alt.legs, strict=True))
                    mine.append(len(candidates))
                    candidates.append(Candidate(b, k, s, legs, value, floor_cost,
                                                sum(int(o[3][si]) for o in combo)))
        by_bid.append(mine)
    stats: dict[str, object] = {"candidates": len(candidates), "pruned_unprofitable": pruned,
                                "pruned_combinations": capped}
    return Instance(book, slots, [p.id for p in book.pools], groups, cap, cheapest, dearest,
                    candidates, by_bid, sellers_by_pool, stats)
