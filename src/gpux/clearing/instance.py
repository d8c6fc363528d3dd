"""Prepared instance: a Book turned into integer arrays and pruned candidate placements.

Supply per pool is kept as groups of asks with one reserve (and, for sellers who also bid,
one seller, so the no-self-trade rule can see them). A placement is one alternative of a bid
at one start with one pool per leg; placements that cannot fit an empty market, or whose
value cannot beat the cheapest supply, are pruned here, before any model is built. Two
heuristic caps bound the count: MAX_COMBINATIONS per (alternative, start), and, on books
with more than LARGE_BOOK_CANDIDATES candidates, MAX_CANDIDATES_PER_BID per bid; what they
cut is counted in `stats` (`pruned_combinations`, `pruned_per_bid_cap`). Each bid's
candidates are numbered best margin first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gpux.domain.book import Book
from gpux.domain.money import to_micros

IntArray = npt.NDArray[np.int64]
# A cap on pool combinations per (alternative, start): multi-leg bids over many pools would
# otherwise multiply; the best by value less cheapest cost are kept.
MAX_COMBINATIONS = 48
# A heuristic cap on candidates per bid, applied only to books with more than
# LARGE_BOOK_CANDIDATES candidates in all (far past what one CP-SAT model proves). A capped
# bid keeps its best margin and every pool combination's best start before any one's
# second best. Measured on the 50,000-bid market: uncapped, 4.4 M candidates took 29 s to
# prepare and 31 s for greedy (surplus 42.86 M after repair); capped at 64, 2.0 M took 17 s
# and 14 s (42.50 M); at 32, 1.2 M took 13 s and 9 s (41.81 M). Keeping pure best margins
# (cheapest pools at every start) cost greedy 2% more than this order at 10,000 bids.
MAX_CANDIDATES_PER_BID = 64
LARGE_BOOK_CANDIDATES = 1_000_000
# Pool combinations of one alternative enumerated at once; beyond it, the partial
# combinations kept are those among the cheapest MAX_COMBINATIONS at some start.
_BEAM = 4_096
_NO_SUPPLY = np.int64(2**50)
# Under a deadline, the share of the time to it that finding placements may take.
FIND_SHARE = 0.3


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


@dataclass(slots=True)
class _Placements:
    """One alternative's surviving placements as arrays: start, pool per leg, costs."""

    alternative: int
    value: int
    starts: IntArray
    pools: IntArray  # (n, legs)
    floor: IntArray
    ceiling: IntArray


def _combinations(options: list[tuple[IntArray, npt.NDArray[np.bool_], IntArray, IntArray]],
                  value: int, max_combinations: int
                  ) -> tuple[IntArray, IntArray, IntArray, IntArray, int, int]:
    """Every start's cheapest profitable pool combinations (rows of leg options).

    `options` per leg: pools, fits (pools x starts), floor and ceiling cost (pools x starts).
    Returns start index, combination (as pool ids per leg), floor and ceiling cost of each
    kept placement, and how many were pruned as unprofitable and cut by the cap.
    """
    pools, ok, floor, ceil = options[0]
    combo = pools[:, None]
    beamed = 0
    for leg_pools, leg_ok, leg_floor, leg_ceil in options[1:]:
        n, m, s = len(combo), len(leg_pools), ok.shape[1]
        ok = (ok[:, None, :] & leg_ok[None, :, :]).reshape(n * m, s)
        floor = (floor[:, None, :] + leg_floor[None, :, :]).reshape(n * m, s)
        ceil = (ceil[:, None, :] + leg_ceil[None, :, :]).reshape(n * m, s)
        combo = np.hstack([np.repeat(combo, m, axis=0), np.tile(leg_pools, n)[:, None]])
        if n * m > _BEAM:
            # Costs add up leg by leg, so a start's cheapest combinations extend its
            # cheapest partial ones: keep only partial rows that are among some start's best.
            masked = np.where(ok, floor, _NO_SUPPLY)
            kth = min(max_combinations, n * m) - 1
            best = np.argpartition(masked, kth, axis=0)[:kth + 1]
            keep = np.unique(best[np.take_along_axis(ok, best, axis=0)])
            beamed += n * m - len(keep)
            ok, floor, ceil, combo = ok[keep], floor[keep], ceil[keep], combo[keep]
    profitable = ok & (floor < value)
    pruned = int(ok.sum()) - int(profitable.sum())
    per_start = profitable.sum(axis=0)
    capped = int(np.maximum(per_start - max_combinations, 0).sum())
    if capped:
        masked = np.where(profitable, floor, _NO_SUPPLY)
        order = np.argsort(masked, axis=0, kind="stable")[:max_combinations]
        keep_mask = np.zeros_like(profitable)
        np.put_along_axis(keep_mask, order, np.take_along_axis(profitable, order, axis=0),
                          axis=0)
        profitable = keep_mask
    rows, cols = np.nonzero(profitable.T)  # by start, then combination
    # What the beam cut, the cap would have cut too: count it with the cap.
    return (rows.astype(np.int64), combo[cols], floor[cols, rows], ceil[cols, rows], pruned,
            capped + beamed)


def prepare(book: Book, *, max_combinations: int = MAX_COMBINATIONS,
            max_per_bid: int = MAX_CANDIDATES_PER_BID,
            large_book: int = LARGE_BOOK_CANDIDATES,
            deadline: float | None = None) -> Instance:
    """Index the book and enumerate every placement worth considering.

    Past `deadline` (a `time.monotonic()` value) the bids not yet enumerated get no
    candidates, so they lose; how many is `stats["pruned_by_deadline"]`.
    """
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

    matching: dict[object, IntArray] = {}
    low_prefix = _prefix(np.array(cheapest, dtype=np.int64).reshape(len(cap), slots))
    high_prefix = _prefix(np.array(dearest, dtype=np.int64).reshape(len(cap), slots))
    all_cap = np.array(cap, dtype=np.int64).reshape(len(cap), slots)
    short_cache: dict[int, IntArray] = {}

    def fits(buyer: str, pools: IntArray, gpus: int, duration: int, lo: IntArray
             ) -> npt.NDArray[np.bool_]:
        """Per matching pool and first slot in `lo`: do other sellers hold the leg's GPUs?"""
        if any((buyer, p) in own_cap for p in pools.tolist()):
            avail = np.array([cap[p] - own_cap[buyer, p] if (buyer, p) in own_cap else cap[p]
                              for p in pools.tolist()], dtype=np.int64).reshape(-1, slots)
            short = _prefix((avail < gpus).astype(np.int64))
            rows = np.arange(len(pools))[:, None]
        else:
            if gpus not in short_cache:
                short_cache[gpus] = _prefix((all_cap < gpus).astype(np.int64))
            short, rows = short_cache[gpus], pools[:, None]
        ok: npt.NDArray[np.bool_] = short[rows, lo + duration] == short[rows, lo]
        return ok

    found: list[list[_Placements]] = [[] for _ in book.bids]
    pruned = capped = total_found = late = 0
    # Under a deadline the bids of most value per GPU-slot are enumerated first, so those
    # a deadline cuts are the least valuable, not the last in the book.
    order = _by_value_density(book) if deadline is not None else range(len(book.bids))
    begun = time.monotonic()
    # finding placements gets this share of the time to the deadline, building the
    # candidates (as costly per candidate, measured at 10,000 bids) the rest
    found_by = None if deadline is None else begun + FIND_SHARE * (deadline - begun)
    for i, b in enumerate(order):
        bid = book.bids[b]
        mine = found[b]
        if late or (found_by is not None and i % 64 == 0 and time.monotonic() > found_by):
            late += 1
            continue
        for k, alt in enumerate(bid.alternatives):
            value = to_micros(alt.value)
            starts = np.arange(alt.earliest_start, alt.latest_end - alt.span + 1)
            options: list[tuple[IntArray, npt.NDArray[np.bool_], IntArray, IntArray]] = []
            for leg in alt.legs:
                fkey = (leg.gpu, leg.regions, leg.min_uptime, leg.pools)
                if fkey not in matching:
                    matching[fkey] = np.array(
                        [p for p, pool in enumerate(book.pools) if leg.matches(pool)],
                        dtype=np.int64)
                lo = starts + leg.offset
                ok = fits(bid.buyer, matching[fkey], leg.gpus, leg.duration, lo)
                usable = ok.any(axis=1)
                if not usable.any():
                    break
                pools = matching[fkey][usable][:, None]
                hi = lo + leg.duration
                options.append((pools[:, 0], ok[usable],
                                (low_prefix[pools, hi] - low_prefix[pools, lo]) * leg.gpus,
                                (high_prefix[pools, hi] - high_prefix[pools, lo]) * leg.gpus))
            else:
                at, combo, floor, ceil, lost, cut = _combinations(options, value,
                                                                  max_combinations)
                pruned += lost
                capped += cut
                if len(at):
                    mine.append(_Placements(k, value, starts[at], combo, floor, ceil))
                    total_found += len(at)

    per_bid = max_per_bid if total_found > large_book else None
    capped_per_bid = 0
    interned: dict[tuple[int, int, int, int], LegUse] = {}
    candidates: list[Candidate] = []
    by_bid: list[list[int]] = [[] for _ in book.bids]
    for i, b in enumerate(order):
        bid, mine = book.bids[b], found[b]
        ids = by_bid[b]
        if mine and deadline is not None and i % 64 == 0 and time.monotonic() > deadline:
            # building candidates costs as much as finding them: the rest are cut too
            late += sum(1 for rest in order[i:] if found[rest])
            break
        if not mine:
            continue
        # per alternative: its value, and per leg its offsets and GPUs
        shapes = [[(leg.offset, leg.end_offset, leg.gpus) for leg in alt.legs]
                  for alt in bid.alternatives]
        columns = [(p.alternative, p.value, shapes[p.alternative], p.starts.tolist(),
                    p.pools.tolist(), p.floor.tolist(), p.ceiling.tolist()) for p in mine]
        for j, r in _best_first(mine, per_bid):
            k, value, shape, starts, pools, floors, ceilings = columns[j]
            s = starts[r]
            legs = []
            for p, (offset, end_offset, gpus) in zip(pools[r], shape, strict=True):
                where = (p, s + offset, s + end_offset, gpus)
                use = interned.get(where)
                if use is None:
                    use = interned[where] = LegUse(*where)
                legs.append(use)
            ids.append(len(candidates))
            candidates.append(Candidate(b, k, s, tuple(legs), value, floors[r], ceilings[r]))
        capped_per_bid += sum(len(p.starts) for p in mine) - len(ids)
    stats: dict[str, object] = {"candidates": len(candidates), "pruned_unprofitable": pruned,
                                "pruned_combinations": capped,
                                "pruned_per_bid_cap": capped_per_bid,
                                "pruned_by_deadline": late}
    return Instance(book, slots, [p.id for p in book.pools], groups, cap, cheapest, dearest,
                    candidates, by_bid, sellers_by_pool, stats)


def _by_value_density(book: Book) -> list[int]:
    """Bids by their best alternative's value per GPU-slot, most first."""
    def density(b: int) -> int:
        return max(to_micros(alt.value) // max(sum(leg.gpus * leg.duration for leg in alt.legs),
                                               1)
                   for alt in book.bids[b].alternatives)

    return sorted(range(len(book.bids)), key=density, reverse=True)


def _prefix(values: IntArray) -> IntArray:
    """Row-wise sums over slots [0, t) for t = 0..slots."""
    out = np.zeros((values.shape[0], values.shape[1] + 1), dtype=np.int64)
    np.cumsum(values, axis=1, out=out[:, 1:])
    return out


def _best_first(mine: list[_Placements], limit: int | None) -> list[tuple[int, int]]:
    """A bid's placements, best margin first (ties in enumeration order), at most `limit`:
    each as (which of `mine`, row in it).

    Best first lets a scan of a bid's candidates stop at the first that cannot beat what it
    has; the cap keeps the best margins.
    """
    if not mine:
        return []
    margin = np.concatenate([p.value - p.floor for p in mine])
    which = np.concatenate([np.full(len(p.starts), i, dtype=np.int64)
                            for i, p in enumerate(mine)])
    row = np.concatenate([np.arange(len(p.starts), dtype=np.int64) for p in mine])
    order = np.argsort(-margin, kind="stable")
    if limit is not None and len(order) > limit:
        # Keep every pool combination's best start before any one's second best: when the
        # cheapest pools fill up, a bid needs other pools more than other hours.
        combo = np.concatenate([np.unique(p.pools, axis=0, return_inverse=True)[1].reshape(-1)
                                + 1_000_000 * i for i, p in enumerate(mine)])
        ranked = combo[order]
        by_combo = np.argsort(ranked, kind="stable")
        seen = np.empty(len(order), dtype=np.int64)
        first = np.ones(len(order), dtype=np.bool_)
        first[1:] = ranked[by_combo][1:] != ranked[by_combo][:-1]
        starts_at = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
        seen[by_combo] = np.arange(len(order)) - starts_at
        order = np.sort(order[np.argsort(seen, kind="stable")[:limit]])
        order = order[np.argsort(-margin[order], kind="stable")]
    return list(zip(which[order].tolist(), row[order].tolist(), strict=True))
