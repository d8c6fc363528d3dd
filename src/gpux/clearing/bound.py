"""A proven upper bound on surplus from the LP relaxation, valid at every step.

For any prices pi per (pool, slot), relaxing the rows "GPUs used = GPUs supplied" gives
the Lagrangian bound: each bid's best placement value less its cost at pi (or 0), plus each
block of offered GPUs times how far pi exceeds its reserve (or 0). It holds for every pi,
so the duals of a column-generation LP that has not converged still give a valid bound, and
it is computed exactly in integers at prices rounded to micros. When the LP converges the
bound equals the LP relaxation's optimum. Placements are searched over a superset of the
feasible ones (each leg in its own cheapest pool, integrality, priceability and the
no-self-trade rule relaxed), which can only raise the bound, never make it invalid.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from gpux.clearing.allocation import Allocation
from gpux.clearing.helper import Inbox
from gpux.clearing.pricing_dual import RelaxedWinnerDetermination, generate_columns
from gpux.clearing.pricing_instance import (
    IntArray,
    PricingInstance,
    prefix_sums,
    prepare_pricing,
)
from gpux.clearing.pricing_lp import FloatArray
from gpux.clearing.pricing_search import PlacementSearch
from gpux.domain.book import Book
from gpux.domain.money import to_micros

# Above this many bids the bound comes from subgradient steps, not the LP.
SUBGRADIENT_ABOVE_BIDS = 3_000


class LagrangianBound:
    """Evaluates the Lagrangian bound of a book at any integer prices (micros)."""

    def __init__(self, book: Book, inst: PricingInstance) -> None:
        self.inst = inst
        self.search = PlacementSearch(inst, book.bids)
        offered: dict[tuple[int, int, int], int] = defaultdict(int)
        index = inst.pool_index
        for ask in book.asks:
            for t in range(ask.start, ask.end):
                offered[index[ask.pool], t, to_micros(ask.price)] += ask.gpus
        keys = sorted(offered)
        cols = np.array(keys, dtype=np.int64).reshape(len(keys), 3)
        self._pool, self._slot, self._reserve = cols[:, 0], cols[:, 1], cols[:, 2]
        self._gpus = np.array([offered[k] for k in keys], dtype=np.int64)

    def at(self, prices: IntArray) -> int:
        """The bound at `prices` (shape pools x slots, micros; any values are valid)."""
        prices = np.where(self.inst.has_ask, np.maximum(prices, 0), 0).astype(np.int64)
        best = self.search.evaluate(prefix_sums(self.inst, prices).ravel()).best
        demand = sum(int(v) for v in best if v > 0)
        margin = prices[self._pool, self._slot] - self._reserve
        supply = sum(int(g) * int(m) for g, m in zip(self._gpus, margin, strict=True) if m > 0)
        return demand + supply

    def offered_above(self, prices: IntArray) -> IntArray:
        """GPUs offered per (pool, slot) at reserves below the prices there."""
        out = np.zeros(self.inst.has_ask.shape, dtype=np.int64)
        above = prices[self._pool, self._slot] > self._reserve
        np.add.at(out, (self._pool[above], self._slot[above]), self._gpus[above])
        return out


def bound_beside(book: Book) -> Callable[[Inbox], object]:
    """The work of a `Helper` that bounds `book` at the prices the parent sends: it sets up
    the placement search over every bid (which needs no prices) at once, then evaluates
    each price array received (pools with asks x slots, micros) until it receives None,
    and answers with the least bound (micros, None if no prices came) and its stats."""
    def work(inbox: Inbox) -> object:
        began = time.monotonic()
        # the bound holds whatever the allocation: pricing's layout needs one, any will do
        lagrange = LagrangianBound(book, prepare_pricing(book, Allocation(())))
        ready = time.monotonic()
        best: int | None = None
        evaluated, evaluating = 0, 0.0
        while isinstance(prices := inbox.receive(), np.ndarray):
            at = time.monotonic()
            value = lagrange.at(prices)
            evaluating += time.monotonic() - at
            evaluated += 1
            best = value if best is None else min(best, value)
        return best, {"method": "Lagrangian prices, beside the solve",
                      "set_up_seconds": round(ready - began, 3), "prices_evaluated": evaluated,
                      "evaluation_seconds": round(evaluating, 3)}

    return work


def relaxation_bound(book: Book, allocation: Allocation, *, time_limit: float,
                     prices: list[IntArray] | None = None, target: int = 0,
                     ) -> tuple[int | None, dict[str, object]]:
    """The least Lagrangian bound found in `time_limit` seconds, in micros (None: no book).

    Column generation starts from the allocation's placements; each round's duals are
    rounded to micros and evaluated. `prices` are extra price vectors to try (for example
    the clearing prices), each also a valid bound. Large books descend from the best of
    them by subgradient steps aimed at `target` (a known surplus) instead.
    """
    started = time.monotonic()
    deadline = started + time_limit
    inst = prepare_pricing(book, allocation)
    if not inst.pool_ids:
        return None, {"rounds": 0}
    lagrange = LagrangianBound(book, inst)
    best: int | None = None
    start: IntArray | None = None
    for candidate in prices or []:
        value = lagrange.at(candidate)
        if best is None or value < best:
            best, start = value, candidate
    stats: dict[str, object] = {}
    if start is not None and time.monotonic() >= deadline:
        # no time for a step (each costs an evaluation, seconds at 50,000 bids)
        found, rounds = None, 0
        stats.update(method="prices given", rounds=0, converged=False)
    elif len(book.bids) <= SUBGRADIENT_ABOVE_BIDS or start is None:
        lp = RelaxedWinnerDetermination(inst, lagrange.search)
        found, rounds, converged = _column_generation(inst, lagrange, lp, deadline)
        stats["method"] = "column generation"
        stats.update(rounds=rounds, columns=lp.columns, converged=converged)
    else:
        # The slot-by-slot LP does not converge in seconds on books this large; a
        # subgradient descent on the prices improves the bound at every step instead.
        found, rounds = _subgradient(inst, lagrange, start, target, deadline)
        stats.update(method="subgradient", rounds=rounds, converged=False)
    if found is not None:
        best = found if best is None else min(best, found)
    stats["seconds"] = round(time.monotonic() - started, 3)
    return best, stats


def _subgradient(inst: PricingInstance, lagrange: LagrangianBound, start: IntArray,
                 target: int, deadline: float) -> tuple[int | None, int]:
    """Polyak subgradient steps on the prices from `start`; the least bound seen."""
    prices = start.astype(np.int64)
    best: int | None = None
    step_scale, stalled, rounds = 1.0, 0, 0
    while time.monotonic() < deadline:
        rounds += 1
        prices = np.where(inst.has_ask, np.maximum(prices, 0), 0).astype(np.int64)
        evaluation = lagrange.search.evaluate(prefix_sums(inst, prices).ravel())
        value = lagrange.at(prices)
        if best is None or value < best:
            best, stalled = value, 0
        else:
            stalled += 1
            if stalled >= 3:
                step_scale, stalled = step_scale / 2, 0
        # d(bound)/d(price) = GPUs offered above their reserve - GPUs the best placements take
        slope = lagrange.offered_above(prices)
        positive = [k for k, v in enumerate(evaluation.best.tolist()) if v > 0]
        for k in positive:
            for leg in evaluation.route(k).legs:
                slope[leg.pool, leg.first:leg.end] -= leg.gpus
        norm = int((slope * slope).sum())
        if norm == 0 or value <= target:
            break
        step = step_scale * (value - target) / norm
        prices = prices - np.rint(step * slope).astype(np.int64)
    return best, rounds


def _column_generation(inst: PricingInstance, lagrange: LagrangianBound,
                       lp: RelaxedWinnerDetermination, deadline: float
                       ) -> tuple[int | None, int, bool]:
    """Run column generation until `deadline`; the least bound at any round's duals."""
    bounds: list[int] = []

    def evaluate(prices: FloatArray) -> None:
        bounds.append(lagrange.at(np.rint(prices * 1e6).astype(np.int64)))

    _, rounds, converged, _ = generate_columns(inst, lagrange.search, lp, deadline, evaluate)
    return min(bounds, default=None), rounds, converged

