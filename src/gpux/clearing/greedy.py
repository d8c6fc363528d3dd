"""Greedy winner determination: best bids first, each at its cheapest feasible placement.

Fast and never wrong, only short of optimal; it warm-starts the exact search and is the
baseline every benchmark compares against.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from gpux.clearing.instance import Instance, IntArray, LegUse


def leg_deltas(legs: tuple[LegUse, ...]) -> list[tuple[int, int, int, IntArray]]:
    """Per pool, the GPUs a placement adds over the span of its legs there."""
    spans: dict[int, list[LegUse]] = {}
    for leg in legs:
        spans.setdefault(leg.pool, []).append(leg)
    out = []
    for p, pool_legs in spans.items():
        lo = min(leg.start for leg in pool_legs)
        hi = max(leg.end for leg in pool_legs)
        add = np.zeros(hi - lo, dtype=np.int64)
        for leg in pool_legs:
            add[leg.start - lo:leg.end - lo] += leg.gpus
        out.append((p, lo, hi, add))
    return out


# A bid's candidates' legs grouped by (pool, duration): per group the candidates' rows
# (their places in the bid's list), starts and GPUs.
BidLegs = list[tuple[int, int, IntArray, IntArray, IntArray]]


def bid_legs(instance: Instance, bid: int) -> BidLegs:
    """The legs of bid `bid`'s candidates (in `instance.by_bid` order), grouped by pool
    and duration."""
    grouped: dict[tuple[int, int], tuple[list[int], list[int], list[int]]] = {}
    cands = instance.candidates
    for row, c in enumerate(instance.by_bid[bid]):
        for leg in cands[c].legs:
            rows, starts, gpus = grouped.setdefault((leg.pool, leg.end - leg.start),
                                                    ([], [], []))
            rows.append(row)
            starts.append(leg.start)
            gpus.append(leg.gpus)
    return [(p, d, np.array(rows, dtype=np.int64), np.array(starts, dtype=np.int64),
             np.array(gpus, dtype=np.int64)) for (p, d), (rows, starts, gpus) in grouped.items()]


class Ledger:
    """GPUs taken so far per pool and slot, with the cost of taking more."""

    def __init__(self, instance: Instance, like: Ledger | None = None) -> None:
        """An empty ledger; `like` (a ledger of the same instance) lends its capacity
        tables, which never change, instead of building them again."""
        self.instance = instance
        self.demand = [np.zeros(instance.slots, dtype=np.int64) for _ in instance.pool_ids]
        self.own: dict[tuple[str, int], IntArray] = {}
        self.cum: list[IntArray]
        self.reserves: list[IntArray]
        # In a pool where buyers also sell: the capacity of asks no buyer holds. A leg that
        # fits within it needs no seller's own GPUs, so it is never a self-trade.
        self._open: list[IntArray]
        # per bid, `bid_legs` (never changes: ledgers of one instance share it)
        self._bid_legs: dict[int, BidLegs]
        if like is not None:
            self.cum, self.reserves, self._open = like.cum, like.reserves, like._open
            self._bid_legs = like._bid_legs
        else:
            self._bid_legs = {}
            self._open = [sum((g.cap for g in groups if g.seller is None),
                              np.zeros(instance.slots, dtype=np.int64))
                          for groups in instance.groups]
            self.cum = []
            for groups in instance.groups:
                caps = np.array([g.cap for g in groups], dtype=np.int64).reshape(
                    len(groups), instance.slots)
                self.cum.append(np.vstack([np.zeros((1, instance.slots), dtype=np.int64),
                                           np.cumsum(caps, axis=0)]))
            self.reserves = [np.array([g.reserve for g in gs], dtype=np.int64)[:, None]
                             for gs in instance.groups]
        # Extra cost of single legs at the current demand, per pool: a bid's candidates share
        # legs (pool combinations of multi-leg alternatives), and a pool's costs change only
        # when `add` takes GPUs of that pool.
        self._leg_cost: list[dict[tuple[int, int, int, str], int | None]] = [
            {} for _ in instance.pool_ids]
        # Capacity left per pool and slot as plain ints, made when first needed after a
        # change: most candidates tried do not fit, and a slice's `min` says so in C.
        # Likewise, per slot, the reserve of the group the next GPU comes from and the room
        # left in that group: a leg that fits that room everywhere costs those reserves.
        self._free: list[list[int] | None] = [None] * len(instance.pool_ids)
        self._marginal: list[tuple[list[int], list[int], list[int]] | None] = [None] * len(
            instance.pool_ids)
        # Per pool and duration, the least capacity left over each window of that many
        # slots (by its first slot): `best_of_bid` sees which candidates fit in numpy. Made
        # from windows of 1, 2, 4, ... slots (a sparse table), kept until the pool changes.
        self._least: list[dict[int, IntArray]] = [{} for _ in instance.pool_ids]
        self._levels: list[list[IntArray]] = [[] for _ in instance.pool_ids]

    def _free_at(self, p: int) -> list[int]:
        free = self._free[p]
        if free is None:
            free = self._free[p] = (self.instance.cap[p] - self.demand[p]).tolist()
        return free

    def _leg_cost_of(self, p: int, start: int, end: int, gpus: int, buyer: str
                     ) -> int | None:
        marginal = self._marginal[p]
        if marginal is None:
            marginal = self._marginal[p] = self._marginal_at(p)
        room, reserve, open_left = marginal
        if min(room[start:end]) >= gpus and (
                not self.instance.sellers_by_pool[p] or min(open_left[start:end]) >= gpus):
            return gpus * sum(reserve[start:end])
        return self._joint_cost([(p, start, end, np.int64(gpus))], buyer)

    def _marginal_at(self, p: int) -> tuple[list[int], list[int], list[int]]:
        """Per slot of pool `p`: GPUs left in the group supplying the next GPU, and its
        reserve (no room where the pool is full); and the capacity of open asks left."""
        cum, demand = self.cum[p], self.demand[p]
        open_left = (self._open[p] - demand).tolist() if self.instance.sellers_by_pool[p] else []
        if len(cum) == 1:
            return [0] * len(demand), [0] * len(demand), open_left
        level = (cum[1:] <= demand[None, :]).sum(axis=0)
        groups = len(cum) - 1
        slots = np.arange(len(demand))
        inside = np.minimum(level, groups - 1)
        room = np.where(level < groups, cum[inside + 1, slots] - demand, 0)
        reserve = np.where(level < groups, self.reserves[p][inside, 0], 0)
        return room.tolist(), reserve.tolist(), open_left

    def _taken(self, p: int, lo: int, hi: int, level: IntArray) -> IntArray:
        cum = self.cum[p][:, lo:hi]
        # np.clip, spelled out: the same values without its per-call overhead.
        taken: IntArray = np.minimum(np.maximum(level[None, :] - cum[:-1], 0),
                                     cum[1:] - cum[:-1])
        return taken

    def extra_cost(self, c: int) -> int | None:
        """What accepting candidate `c` adds to supply cost, or None if it does not fit."""
        inst = self.instance
        cand = inst.candidates[c]
        buyer = inst.buyer(cand.bid)
        legs = cand.legs
        for leg in legs:
            if min(self._free_at(leg.pool)[leg.start:leg.end]) < leg.gpus:
                return None
        if len(legs) > 1 and len({leg.pool for leg in legs}) < len(legs):
            return self._joint_cost(leg_deltas(legs), buyer)
        # Legs in different pools: their costs add up, each computed once per state.
        total = 0
        for leg in legs:
            # a tuple of ints hashes in C; the dataclass's own hash runs Python code
            key = (leg.start, leg.end, leg.gpus, buyer)
            cache = self._leg_cost[leg.pool]
            if key in cache:
                cost = cache[key]
            else:
                cost = cache[key] = self._leg_cost_of(leg.pool, leg.start, leg.end,
                                                      leg.gpus, buyer)
            if cost is None:
                return None
            total += cost
        return total

    def _joint_cost(self, deltas: Sequence[tuple[int, int, int, IntArray | np.int64]],
                    buyer: str) -> int | None:
        inst = self.instance
        total = 0
        for p, lo, hi, gpus in deltas:
            before = self.demand[p][lo:hi]
            after = before + gpus
            if (after > inst.cap[p][lo:hi]).any():
                return None
            if inst.sellers_by_pool[p] and not self._self_trade_ok(p, lo, hi, buyer, gpus):
                return None
            cost = (self._taken(p, lo, hi, after) - self._taken(p, lo, hi, before))
            total += int((cost * self.reserves[p]).sum())
        return total

    def _self_trade_ok(self, p: int, lo: int, hi: int, buyer: str,
                       gpus: IntArray | np.int64) -> bool:
        inst = self.instance
        demand = self.demand[p][lo:hi] + gpus
        room = np.zeros(hi - lo, dtype=np.int64)
        for g in inst.groups[p]:
            if g.seller is None:
                room += g.cap[lo:hi]
        for seller in inst.sellers_by_pool[p]:
            own_cap = sum((g.cap[lo:hi] for g in inst.groups[p] if g.seller == seller),
                          np.zeros(hi - lo, dtype=np.int64))
            mine = self.own.get((seller, p))
            held = (mine[lo:hi] if mine is not None else 0) + (gpus if seller == buyer else 0)
            room += np.minimum(own_cap, demand - held)
        return bool((room >= demand).all())

    def best(self, cands: list[int]) -> int | None:
        """The candidate that adds most surplus if accepted now, if any adds some."""
        best, best_gain = None, 0
        for c in cands:
            cand = self.instance.candidates[c]
            if cand.margin <= best_gain:
                continue
            cost = self.extra_cost(c)
            if cost is not None and cand.value - cost > best_gain:
                best, best_gain = c, cand.value - cost
        return best

    def best_of_bid(self, bid: int, key: list[int] | None = None) -> int | None:
        """`best(instance.by_bid[bid])`, the same answer: only candidates whose every leg
        fits the capacity left (found in numpy, a few array operations per pool and duration
        of the bid's legs) are priced. With `key` (a number per candidate): of the
        candidates that fit and add surplus, the one of largest key (the first of equals)."""
        legs = self._bid_legs.get(bid)
        if legs is None:
            legs = self._bid_legs[bid] = bid_legs(self.instance, bid)
        cands = self.instance.by_bid[bid]
        fits = np.ones(len(cands), dtype=np.bool_)
        for p, d, rows, starts, gpus in legs:
            least = self._least[p].get(d)
            if least is None:
                least = self._least[p][d] = self._least_over(p, d)
            fits[rows[least[starts] < gpus]] = False
        fitting = [cands[i] for i in np.flatnonzero(fits).tolist()]
        if key is None:
            return self.best(fitting)
        best, best_key = None, 0
        candidates = self.instance.candidates
        for c in fitting:
            if best is not None and key[c] <= best_key:
                continue
            cost = self.extra_cost(c)
            if cost is not None and candidates[c].value > cost:
                best, best_key = c, key[c]
        return best

    def _least_over(self, p: int, d: int) -> IntArray:
        """The least capacity left in pool `p` over each window of `d` slots."""
        levels = self._levels[p]
        if not levels:
            levels.append(self.instance.cap[p] - self.demand[p])
        k = d.bit_length() - 1
        while len(levels) <= k:
            last, half = levels[-1], 1 << (len(levels) - 1)
            levels.append(np.minimum(last[:-half], last[half:]))
        n = len(levels[0]) - d + 1
        level = levels[k]
        if d == 1 << k:
            return level
        return np.minimum(level[:n], level[d - (1 << k):d - (1 << k) + n])

    def add(self, c: int, sign: int = 1) -> None:
        """Record candidate `c` as accepted (with `sign` -1: as no longer accepted)."""
        inst = self.instance
        cand = inst.candidates[c]
        buyer = inst.buyer(cand.bid)
        for leg in cand.legs:
            self._leg_cost[leg.pool].clear()
            self._free[leg.pool] = self._marginal[leg.pool] = None
            self._least[leg.pool].clear()
            self._levels[leg.pool].clear()
            self.demand[leg.pool][leg.start:leg.end] += sign * leg.gpus
            if buyer in inst.sellers_by_pool[leg.pool]:
                key = (buyer, leg.pool)
                if key not in self.own:
                    self.own[key] = np.zeros(inst.slots, dtype=np.int64)
                self.own[key][leg.start:leg.end] += sign * leg.gpus


class GreedyOrders:
    """Orders of the bids for greedy: by best margin per GPU-slot (`order`, the baseline),
    or by the best of any key per candidate over size (GPU-slots) raised to an exponent
    (`order_by`; the Lagrangian guided greedy ranks by reduced profit).

    Per GPU-slot puts small jobs first, so big ones find their hours taken; a smaller
    exponent favours bigger jobs (Lehmann, O'Callaghan and Shoham 2002 rank by value over
    the square root of size).
    """

    def __init__(self, instance: Instance) -> None:
        sizes = [[sum(leg.gpus * leg.duration for leg in alt.legs) for alt in bid.alternatives]
                 for bid in instance.book.bids]
        cands = instance.candidates
        self.bids = len(instance.by_bid)
        self.bid = np.array([c.bid for c in cands], dtype=np.int64)
        self.margin = np.array([c.margin for c in cands], dtype=np.int64)
        self.size = np.array([max(sizes[c.bid][c.alternative], 1) for c in cands],
                             dtype=np.int64)
        self.has = np.array([bool(c) for c in instance.by_bid], dtype=np.bool_)

    def density(self) -> list[float]:
        """Every candidate's margin per GPU-slot."""
        ratio: list[float] = (self.margin / self.size.astype(np.float64)).tolist()
        return ratio

    def order_by(self, key: IntArray, exponent: float) -> list[int]:
        """Bids with a candidate by their best `key` (a number per candidate) over size
        raised to `exponent`, most first (ties: lower bid number first)."""
        # an order only: these ratios never become money
        ratio = key / self.size.astype(np.float64) ** exponent
        best = np.full(self.bids, -np.inf)
        np.maximum.at(best, self.bid, ratio)
        bids = np.flatnonzero(self.has)
        ranked: list[int] = bids[np.argsort(-best[bids], kind="stable")].tolist()
        return ranked

    def order(self) -> list[int]:
        """Bids with a candidate by best margin per GPU-slot (in integers), most first
        (ties: lower bid number first)."""
        best = np.zeros(self.bids, dtype=np.int64)
        np.maximum.at(best, self.bid, self.margin // self.size)
        bids = np.flatnonzero(self.has)
        ranked: list[int] = bids[np.argsort(-best[bids], kind="stable")].tolist()
        return ranked


def greedy(instance: Instance, order: list[int] | None = None,
           deadline: float | None = None) -> list[int]:
    """Accept bids in `order` (by default best margin per GPU-slot first, `GreedyOrders`),
    each at its cheapest placement.

    Past `deadline` (a `time.monotonic()` value) it stops and returns what it accepted so
    far, which is as valid as a whole run: the best bids in the order come first.
    """
    ledger = Ledger(instance)
    if order is None:
        order = GreedyOrders(instance).order()
    chosen = []
    for i, b in enumerate(order):
        if deadline is not None and i % 64 == 0 and time.monotonic() > deadline:
            break
        best = ledger.best(instance.by_bid[b])
        if best is not None:
            ledger.add(best)
            chosen.append(best)
    return chosen
