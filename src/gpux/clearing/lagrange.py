"""Lagrangian prices over the candidates, and the greedy start they guide.

Pricing the capacity rows (GPUs used <= GPUs supplied, per pool and slot) at prices
`lam` >= 0 splits winner determination apart: each bid takes its candidate of largest
reduced profit (value less its GPU-slots at `lam`), if that is positive, and each supply
group sells wherever `lam` exceeds its reserve. The sum of both is an upper bound on the
candidates' surplus (the Lagrangian dual); subgradient steps on `lam` (Held, Wolfe and
Crowder 1974, with Polyak's step towards a known surplus) lower it, and the prices then say
which pool-hours many bids want. Fisher (1981, "The Lagrangian relaxation method for
solving integer programming problems") describes the method and the use of the prices in a
primal heuristic, which `guided_greedy` is: bids by best reduced profit over size^e, each
placed where its reduced profit is largest among the placements that fit and gain. A
flexible job then goes where GPUs are cheap at `lam`, leaving contended hours to the bids
that need them. Measured on market-10000 (`python -m bench.start`, surplus after repair,
150-300 steps): seed 1 8.68-8.71 M against 8.24 M for greedy by margin per GPU-slot and
8.41 M by margin over size^0.9; seed 2 7.52-7.53 M against 7.18 M and 7.23 M.

All prices and profits are integers (micros); only the subgradient step is a float, rounded
to micros as in `bound`.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from gpux.clearing.greedy import GreedyOrders, Ledger
from gpux.clearing.instance import Instance, IntArray

# Polyak's step is halved after this many steps without a lower dual.
STALL_STEPS = 5
# Steps stop when the step scale falls below this (the prices no longer move).
MIN_SCALE = 1e-4
# Guidance comes from the mean of the prices of this many last steps (measured on
# market-10000 seed 1, guided greedy after 150 steps: one step's prices gave 8.52-8.67 M
# from one check to the next, the mean of the last 25 8.65-8.71 M).
AVERAGE_STEPS = 25
# A reserve no price reaches: pads the supply groups of pools that have fewer.
_NEVER = np.int64(2**62)


class CandidatePrices:
    """The Lagrangian relaxation of one instance's capacity rows, over its candidates."""

    def __init__(self, instance: Instance) -> None:
        cands = instance.candidates
        pools, slots = len(instance.pool_ids), instance.slots
        self.width = slots + 1
        leg_pool: list[int] = []
        leg_start: list[int] = []
        leg_end: list[int] = []
        leg_gpus: list[int] = []
        first_leg: list[int] = []
        for cand in cands:
            first_leg.append(len(leg_pool))
            for leg in cand.legs:
                leg_pool.append(leg.pool)
                leg_start.append(leg.start)
                leg_end.append(leg.end)
                leg_gpus.append(leg.gpus)
        pool = np.array(leg_pool, dtype=np.int64)
        self.leg_from = pool * self.width + np.array(leg_start, dtype=np.int64)
        self.leg_to = pool * self.width + np.array(leg_end, dtype=np.int64)
        self.leg_gpus = np.array(leg_gpus, dtype=np.int64)
        self.first_leg = np.array(first_leg, dtype=np.int64)
        self.leg_cand = np.repeat(np.arange(len(cands), dtype=np.int64),
                                  np.diff(np.append(self.first_leg, len(leg_pool))))
        self.value = np.array([c.value for c in cands], dtype=np.int64)
        # `prepare` numbers each bid's candidates consecutively: a bid is a segment
        firsts = sorted(ids[0] for ids in instance.by_bid if ids)
        if sum(len(ids) for ids in instance.by_bid) != len(cands) or any(
                ids[-1] - ids[0] != len(ids) - 1 for ids in instance.by_bid if ids):
            raise ValueError("a bid's candidates are not numbered consecutively")
        self.segment = np.array(firsts, dtype=np.int64)
        self.segment_len = np.diff(np.append(self.segment, len(cands)))
        self.segment_bid = np.array([c.bid for c in (cands[i] for i in firsts)],
                                    dtype=np.int64)
        groups = max((len(gs) for gs in instance.groups), default=0)
        self.caps = np.zeros((pools, max(groups, 1), slots), dtype=np.int64)
        self.reserves = np.full((pools, max(groups, 1)), _NEVER, dtype=np.int64)
        for p, gs in enumerate(instance.groups):
            for k, g in enumerate(gs):
                self.caps[p, k] = g.cap
                self.reserves[p, k] = g.reserve
        # No price above the largest value of any candidate ever helps (every candidate
        # through that slot loses): prices are kept at most that, which also keeps every
        # sum below in int64.
        self.ceiling = max(int(self.value.max()) if len(cands) else 0, 1)
        cheapest = np.array(instance.cheapest, dtype=np.int64).reshape(pools, slots)
        self.start_prices = np.clip(cheapest, 0, self.ceiling)

    def reduced(self, prices: IntArray) -> IntArray:
        """Every candidate's value less its GPU-slots at `prices` (pools x slots)."""
        prefix = np.zeros((len(prices), self.width), dtype=np.int64)
        np.cumsum(prices, axis=1, out=prefix[:, 1:])
        flat = prefix.ravel()
        leg_cost = self.leg_gpus * (flat[self.leg_to] - flat[self.leg_from])
        cost: IntArray = np.add.reduceat(leg_cost, self.first_leg) if len(leg_cost) else (
            np.zeros(0, dtype=np.int64))
        out: IntArray = self.value - cost
        return out

    def step(self, prices: IntArray) -> tuple[int, IntArray]:
        """The dual at `prices` and its slope (GPUs wanted less GPUs offered above
        reserve, per pool and slot)."""
        reduced = self.reduced(prices)
        best = np.maximum.reduceat(reduced, self.segment)
        taking = best > 0
        at_best = reduced == np.repeat(best, self.segment_len)
        picked = np.flatnonzero(at_best & np.repeat(taking, self.segment_len))
        # one candidate per bid (the first of equals: `picked` is ascending, and a bid's
        # candidates are consecutive)
        bids = self._bids_of(picked)
        picked = picked[np.flatnonzero(np.diff(bids, prepend=-1) != 0)]
        taken = np.zeros(len(reduced), dtype=np.bool_)
        taken[picked] = True
        legs = taken[self.leg_cand]
        wanted = np.zeros(len(prices) * self.width, dtype=np.int64)
        np.add.at(wanted, self.leg_from[legs], self.leg_gpus[legs])
        np.add.at(wanted, self.leg_to[legs], -self.leg_gpus[legs])
        demand = np.cumsum(wanted.reshape(len(prices), self.width), axis=1)[:, :-1]
        above = prices[:, None, :] > self.reserves[:, :, None]
        supply = (self.caps * above).sum(axis=1)
        excess = self.caps * np.maximum(prices[:, None, :] - self.reserves[:, :, None], 0)
        if float(excess.sum(dtype=np.float64)) < 2.0**62:
            earned = int(excess.sum())
        else:  # beyond int64: exact in Python integers
            earned = sum(int(v) for v in excess[excess > 0].tolist())
        dual = int(best[taking].sum()) + earned
        return dual, demand - supply

    def _bids_of(self, picked: IntArray) -> IntArray:
        """The bid of each candidate in `picked`."""
        seg = np.searchsorted(self.segment, picked, side="right") - 1
        out: IntArray = self.segment_bid[seg]
        return out


class Subgradient:
    """Subgradient steps on a relaxation's prices, from the cheapest reserves, with Polyak's
    step towards `target` (a surplus known to be reachable), halved whenever
    `STALL_STEPS` steps in a row find no lower dual."""

    def __init__(self, relaxation: CandidatePrices, target: int) -> None:
        self.relaxation = relaxation
        self.target = target
        self.prices = relaxation.start_prices.copy()
        self.scale = 1.0
        self.steps = 0
        self.best_dual: int | None = None
        self.best_prices = self.prices
        self._stalled = 0
        self._recent: deque[IntArray] = deque(maxlen=AVERAGE_STEPS)

    @property
    def still(self) -> bool:
        """True once the steps have become too small to move the prices."""
        return self.scale < MIN_SCALE

    def run(self, steps: int, deadline: float) -> None:
        """Up to `steps` more steps, stopping at `deadline` or once the prices are still."""
        for _ in range(steps):
            if time.monotonic() >= deadline or self.still:
                return
            self.steps += 1
            dual, slope = self.relaxation.step(self.prices)
            self._recent.append(self.prices)
            if self.best_dual is None or dual < self.best_dual:
                self.best_dual, self.best_prices, self._stalled = dual, self.prices, 0
            else:
                self._stalled += 1
                if self._stalled >= STALL_STEPS:
                    self.scale, self._stalled = self.scale / 2, 0
            norm = int((slope * slope).sum())
            if norm == 0 or dual <= self.target:
                self.scale = 0.0
                return
            move = self.scale * (dual - self.target) / norm
            moved = np.clip(np.rint(move * slope), -self.relaxation.ceiling,
                            self.relaxation.ceiling).astype(np.int64)
            self.prices = np.clip(self.prices + moved, 0, self.relaxation.ceiling)

    def average(self) -> IntArray:
        """The mean of the last `AVERAGE_STEPS` prices (rounded down to micros): steadier
        than any one step's, which jump between near ties."""
        if not self._recent:
            return self.prices
        out: IntArray = sum(self._recent, np.zeros_like(self.prices)) // len(self._recent)
        return out


def guided_greedy(instance: Instance, orders: GreedyOrders, reduced: IntArray,
                  exponent: float, deadline: float | None = None,
                  like: Ledger | None = None) -> list[int]:
    """Bids by best reduced profit over size^`exponent`, each at the placement of largest
    reduced profit among those that fit and add surplus now."""
    ledger = Ledger(instance, like)
    key = reduced.tolist()
    chosen = []
    for i, b in enumerate(orders.order_by(reduced, exponent)):
        if deadline is not None and i % 64 == 0 and time.monotonic() > deadline:
            break
        best = ledger.best_of_bid(b, key)
        if best is not None:
            ledger.add(best)
            chosen.append(best)
    return chosen
