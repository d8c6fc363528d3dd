"""Dual prices of the LP relaxation of winner determination, the textbook baseline.

The relaxation has one column per bid placement in [0, 1] under one row per bid, and supply
columns per (pool, slot, reserve) up to the GPUs offered there at that reserve (asks of one
pool and reserve are interchangeable once integrality and the no-self-trade rule are
relaxed). Maximise values minus reserve costs subject to, per (pool, slot), GPUs used <= GPUs
supplied; the duals of those rows are the prices. Placements enter by column generation: at
the current duals, the search finds each bid's best placement, and it enters if its value
beats the bid's dual.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
from highspy import HighsModelStatus, kHighsInf

from gpux.clearing.pricing_instance import LegUse, PricingInstance
from gpux.clearing.pricing_lp import TOLERANCE, FloatArray, new_highs
from gpux.clearing.pricing_search import PlacementSearch
from gpux.domain.money import to_micros

MAX_ROUNDS = 500


class RelaxedWinnerDetermination:
    """The restricted master LP: supply columns, and the placements generated so far."""

    def __init__(self, inst: PricingInstance, search: PlacementSearch) -> None:
        self.inst, self.search, self.h = inst, search, new_highs()
        cells = np.argwhere(inst.has_ask)
        self.row_of = {(int(p), int(t)): i for i, (p, t) in enumerate(cells.tolist())}
        self.n_cells = len(cells)
        n_bids = len(search.placed)
        self.h.addRows(
            self.n_cells + n_bids,
            np.full(self.n_cells + n_bids, -kHighsInf),
            np.concatenate([np.zeros(self.n_cells), np.ones(n_bids)]),
            0,
            np.zeros(0, dtype=np.int32),
            np.zeros(0, dtype=np.int32),
            np.zeros(0),
        )
        offered: dict[tuple[int, int, int], int] = defaultdict(int)
        index = inst.pool_index
        for ask in inst.book.asks:
            reserve = to_micros(ask.price)
            for t in range(ask.start, ask.end):
                offered[index[ask.pool], t, reserve] += ask.gpus
        keys = list(offered)
        self.h.addCols(
            len(keys),
            np.array([k[2] / 1e6 for k in keys]),
            np.zeros(len(keys)),
            np.array([float(offered[k]) for k in keys]),
            len(keys),
            np.arange(len(keys), dtype=np.int32),
            np.array([self.row_of[k[0], k[1]] for k in keys], dtype=np.int32),
            np.full(len(keys), -1.0),
        )
        self.columns = 0
        self.seen: set[tuple[int, int, int, tuple[LegUse, ...]]] = set()

    def add_placement(self, k: int, value: float, legs: tuple[LegUse, ...]) -> None:
        """Add the column of one placement of placed bid `k`."""
        coefs: dict[int, float] = {self.n_cells + k: 1.0}
        for leg in legs:
            for t in range(leg.first, leg.end):
                row = self.row_of[leg.pool, t]
                coefs[row] = coefs.get(row, 0.0) + leg.gpus
        self.h.addCols(
            1,
            np.array([-value]),
            np.zeros(1),
            np.ones(1),
            len(coefs),
            np.zeros(1, dtype=np.int32),
            np.array(list(coefs), dtype=np.int32),
            np.array(list(coefs.values())),
        )
        self.columns += 1

    def duals(self) -> tuple[FloatArray, FloatArray]:
        """Prices per (pool, slot) in dollars, and each placed bid's dual."""
        y = -np.asarray(self.h.getSolution().row_dual, dtype=np.float64)
        prices = np.zeros(self.inst.has_ask.shape)
        prices[self.inst.has_ask] = np.maximum(y[: self.n_cells], 0.0)
        return prices, np.maximum(y[self.n_cells :], 0.0)


def generate_columns(
    inst: PricingInstance,
    search: PlacementSearch,
    lp: RelaxedWinnerDetermination,
    deadline: float,
    on_duals: Callable[[FloatArray], None] | None = None,
) -> tuple[FloatArray | None, int, bool, float]:
    """Column generation on `lp` until no placement improves or `deadline`.

    Starts from the allocation's own placements; `on_duals` sees each round's prices.
    Returns the last prices (dollars), the rounds, whether it converged and LP seconds.
    """
    h: Any = lp.h
    k_of = {int(i): k for k, i in enumerate(search.placed.tolist())}
    bid_index = {b.id: i for i, b in enumerate(search.bids)}
    for purchase in inst.purchases:
        k = k_of.get(bid_index[purchase.bid])
        if k is not None:  # always, for an allocation that keeps the no-self-trade rule
            lp.add_placement(k, purchase.value / 1e6, purchase.legs)
            lp.seen.add((k, purchase.alternative, purchase.start, purchase.legs))
    prices: FloatArray | None = None
    rounds, converged, lp_seconds = 0, False, 0.0
    while rounds < MAX_ROUNDS and time.monotonic() < deadline:
        # HiGHS measures its time limit against its own clock, summed over runs.
        h.setOptionValue("time_limit", h.getRunTime() + max(deadline - time.monotonic(), 0.01))
        started = time.monotonic()
        h.run()
        lp_seconds += time.monotonic() - started
        rounds += 1
        if h.getModelStatus() != HighsModelStatus.kOptimal:
            break
        prices, bid_duals = lp.duals()
        if on_duals is not None:
            on_duals(prices)
        prefix = np.zeros((prices.shape[0], prices.shape[1] + 1))
        prefix[:, 1:] = np.cumsum(prices, axis=1)
        evaluation = search.evaluate(prefix.ravel())
        gain = np.asarray(evaluation.best, dtype=np.float64) - bid_duals
        added = 0
        for k in np.flatnonzero(gain > TOLERANCE + 1e-9 * np.abs(gain)).tolist():
            route = evaluation.route(k)
            key = (k, route.alternative, route.start, route.legs)
            if key not in lp.seen:
                lp.seen.add(key)
                bid = search.bids[int(search.placed[k])]
                lp.add_placement(k, float(bid.alternatives[route.alternative].value), route.legs)
                added += 1
        if added == 0:
            converged = True
            break
    return prices, rounds, converged, lp_seconds


def wd_lp_duals(
    inst: PricingInstance, search: PlacementSearch, deadline: float
) -> tuple[FloatArray | None, dict[str, object]]:
    """Duals of the per-(pool, slot) rows of the relaxed winner determination, in dollars."""
    lp = RelaxedWinnerDetermination(inst, search)
    prices, rounds, converged, lp_seconds = generate_columns(inst, search, lp, deadline)
    stats: dict[str, object] = {
        "rounds": rounds,
        "columns": lp.columns,
        "converged": converged,
        "lp_seconds": round(lp_seconds, 3),
    }
    if prices is not None:
        h: Any = lp.h
        stats["relaxation_bound"] = round(-float(h.getInfo().objective_function_value), 6)
    return prices, stats
