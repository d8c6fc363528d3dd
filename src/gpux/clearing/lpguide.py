"""LP guidance: the LP relaxation over a component's candidates, and a start rounded from it.

The relaxation has one column per candidate (0..1), one per supply group and pool segment
(GPUs supplied in each slot of the segment), a balance row per segment and an at-most-one
row per bid; priceability and no-self-trade are left out (it only guides). Segments are cut
wherever a leg or a supply group's capacity changes, so one row serves all slots of a
segment. Its solution orders a rounding (candidates by descending LP value, each accepted
if it still fits, then the rest by greedy's rule) and points the neighbourhood search at
the bids where the LP and the incumbent disagree.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from highspy import HighsVarType, ObjSense
from highspy._core import cb

from gpux.clearing.greedy import Ledger
from gpux.clearing.instance import Instance
from gpux.clearing.pricing_lp import new_highs

FloatArray = npt.NDArray[np.float64]
# Above this many nonzeros the LP is not worth its time inside a 30-second clearing
# (measured: ~1 s of dual simplex at 0.3 M nonzeros on 1,000 bids).
MAX_NONZEROS = 1_500_000
# Candidates carry some 30 nonzeros each: above this many, do not even start building.
MAX_CANDIDATES = 60_000
# An LP value above this counts as "the LP uses this candidate".
SUPPORT = 1e-6


@dataclass(slots=True)
class LpGuide:
    """The LP's value of every candidate of a component (0 for those outside it)."""

    x: FloatArray
    objective: float
    seconds: float
    status: str


def _legs(instance: Instance, cands: list[int]
          ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64],
                     npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    rows = [(i, leg.pool, leg.start, leg.end, leg.gpus)
            for i, c in enumerate(cands) for leg in instance.candidates[c].legs]
    a = np.array(rows, dtype=np.int64).reshape(-1, 5)
    return a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4]


def solve_lp(instance: Instance, bids: list[int], time_limit: float,
             fixed: list[int] | None = None) -> LpGuide | None:
    """Solve the LP relaxation over `bids` (`fixed` held accepted), or None if too big or
    not solved in time."""
    started = time.monotonic()
    cands = [c for b in bids for c in instance.by_bid[b]]
    if not cands or len(cands) > MAX_CANDIDATES or time_limit <= 0.05:
        return None
    h = relaxation(instance, cands, started, time_limit, fixed)
    if h is None:
        return None
    left = time_limit - (time.monotonic() - started)
    if left <= 0.05:
        return None
    h.setOptionValue("time_limit", float(left))
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    if status != "Optimal":
        return None
    x = np.zeros(len(instance.candidates))
    x[np.array(cands)] = np.array(h.getSolution().col_value)[:len(cands)]
    return LpGuide(x, float(h.getInfo().objective_function_value),
                   time.monotonic() - started, status)


def solve_mip(instance: Instance, cands: list[int], start: list[int], time_limit: float,
              fixed: list[int] | None = None) -> list[int]:
    """HiGHS's MIP over `cands` alone (no priceability), started from `start`."""
    run = MipRun(instance, cands, start, time_limit, fixed)
    run.solve()
    return run.picked


class MipRun:
    """One HiGHS MIP over some candidates, which another thread may stop early.

    The model leaves out priceability and no-self-trade, so it relaxes gpux's problem over
    the same candidates: its dual bound is a valid upper bound there, and its solution is
    made valid with `fitting` and repair.
    """

    def __init__(self, instance: Instance, cands: list[int], start: list[int],
                 time_limit: float, fixed: list[int] | None = None,
                 stoppable: bool = False) -> None:
        """`stoppable`: `stop` may be set while it runs (HiGHS then calls back into Python
        at every interrupt check, which waits for the GIL: a thread running Python beside
        it slows it down, so only a MIP that may be stopped asks for the callback)."""
        self.started = time.monotonic()
        self.instance, self.cands, self.start, self.fixed = instance, cands, start, fixed
        self.time_limit = time_limit
        self.stoppable = stoppable
        self.stop = threading.Event()
        self.picked: list[int] = []
        self.bound: float | None = None
        self.optimal = False

    def solve(self, when_done: Callable[[], None] | None = None) -> None:
        """Solve (in the calling thread), then call `when_done`, whatever happened."""
        try:
            self._solve()
        finally:
            if when_done is not None:
                when_done()

    def _solve(self) -> None:
        h = relaxation(self.instance, self.cands, self.started, self.time_limit, self.fixed)
        if h is None:
            return
        n = len(self.cands)
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                np.full(n, HighsVarType.kInteger.value, dtype=np.uint8))
        chosen = set(self.start)
        mine = [i for i, c in enumerate(self.cands) if c in chosen]
        if mine:
            h.setSolution(len(mine), np.array(mine, dtype=np.int32), np.ones(len(mine)))
        left = self.time_limit - (time.monotonic() - self.started)
        if left <= 0.05 or self.stop.is_set():
            return
        h.setOptionValue("time_limit", float(left))
        h.setOptionValue("mip_rel_gap", 1e-4)
        if self.stoppable:
            h.setCallback(self._interrupt, None)
            h.startCallback(cb.HighsCallbackType.kCallbackMipInterrupt)
        h.run()
        info = h.getInfo()
        if np.isfinite(info.mip_dual_bound) and abs(info.mip_dual_bound) < 1e30:
            self.bound = float(info.mip_dual_bound)
        self.optimal = h.modelStatusToString(h.getModelStatus()) == "Optimal"
        if info.primal_solution_status == 0:
            return
        x = np.array(h.getSolution().col_value)[:n]
        self.picked = [c for c, v in zip(self.cands, x.tolist(), strict=True) if v > 0.5]

    def _interrupt(self, kind: object, message: str, out: object, data_in: Any,
                   user: object) -> None:
        if self.stop.is_set() and data_in is not None:
            data_in.user_interrupt = True


def relaxation(instance: Instance, cands: list[int], started: float, time_limit: float,
                fixed: list[int] | None = None) -> Any:
    """The HiGHS LP over `cands` (columns: candidates first, then supply), or None if too big.

    `fixed` candidates stay accepted: their GPUs are demand the supply must also meet.
    """
    if not cands:
        # e.g. a window whose LP used no candidate, around bids none of which is accepted
        return None
    bids = sorted({instance.candidates[c].bid for c in cands})
    col, pool, start, end, gpus = _legs(instance, cands)
    f_pool, f_start, f_end, f_gpus = _legs(instance, fixed or [])[1:]
    slots = instance.slots
    # cut points per pool: leg ends and supply-capacity changes
    ent_col: list[npt.NDArray[np.int64]] = []
    ent_row: list[npt.NDArray[np.int64]] = []
    ent_val: list[npt.NDArray[np.float64]] = []
    y_cost: list[float] = []
    y_cap: list[float] = []
    y_row: list[int] = []
    n_rows = 0
    total_nnz = 0
    rhs: list[FloatArray] = []
    order = np.argsort(pool, kind="stable")
    bounds = np.searchsorted(pool[order], np.arange(len(instance.pool_ids) + 1))
    for p in range(len(instance.pool_ids)):
        idx = order[bounds[p]:bounds[p + 1]]
        if len(idx) == 0:
            continue
        cuts = np.zeros(slots + 1, dtype=bool)
        cuts[start[idx]] = True
        cuts[end[idx]] = True
        mine = f_pool == p
        cuts[f_start[mine]] = True
        cuts[f_end[mine]] = True
        for g in instance.groups[p]:
            cuts[np.flatnonzero(np.diff(np.concatenate(([0], g.cap, [0]))))] = True
        points = np.flatnonzero(cuts)
        seg_of_start = np.searchsorted(points, start[idx])
        seg_of_end = np.searchsorted(points, end[idx])
        counts = seg_of_end - seg_of_start
        total_nnz += int(counts.sum())
        if total_nnz > MAX_NONZEROS or time.monotonic() - started > time_limit / 2:
            return None
        covered = np.zeros(len(points), dtype=np.int64)
        np.add.at(covered, seg_of_start, 1)
        np.add.at(covered, seg_of_end, -1)
        used = np.flatnonzero(np.cumsum(covered)[:-1] > 0)
        row_of = np.full(len(points), -1, dtype=np.int64)
        row_of[used] = n_rows + np.arange(len(used))
        n_rows += len(used)
        held = np.zeros(len(points) + 1, dtype=np.int64)
        np.add.at(held, np.searchsorted(points, f_start[mine]), f_gpus[mine])
        np.subtract.at(held, np.searchsorted(points, f_end[mine]), f_gpus[mine])
        rhs.append(np.cumsum(held)[used].astype(np.float64))
        # one entry per (leg, segment it covers)
        rep = np.repeat(np.arange(len(idx)), counts)
        within = np.arange(len(rep)) - np.repeat(np.cumsum(counts) - counts, counts)
        segs = seg_of_start[rep] + within
        ent_col.append(col[idx][rep])
        ent_row.append(row_of[segs])
        ent_val.append(-gpus[idx][rep].astype(np.float64))
        for s in used.tolist():
            a, length = int(points[s]), int(points[s + 1] - points[s])
            for g in instance.groups[p]:
                if g.cap[a] > 0:
                    y_row.append(int(row_of[s]))
                    y_cap.append(float(g.cap[a]))
                    y_cost.append(-g.reserve * length / 1e6)
    n_x, n_y = len(cands), len(y_row)
    local = {c: i for i, c in enumerate(cands)}
    per_bid = [[local[c] for c in instance.by_bid[b] if c in local] for b in bids]
    bid_rows = [cols for cols in per_bid if len(cols) > 1]
    amo_col = [i for cols in bid_rows for i in cols]
    amo_row = [n_rows + k for k, cols in enumerate(bid_rows) for _ in cols]
    all_col = np.concatenate([*ent_col, np.array(amo_col, dtype=np.int64),
                              n_x + np.arange(n_y, dtype=np.int64)])
    all_row = np.concatenate([*ent_row, np.array(amo_row, dtype=np.int64),
                              np.array(y_row, dtype=np.int64)])
    coef = np.concatenate([*ent_val, np.ones(len(amo_col)), np.ones(n_y)])
    # two legs of one candidate may share a pool segment: merge their entries
    n_all_rows = n_rows + len(bid_rows)
    key, inverse = np.unique(all_col * n_all_rows + all_row, return_inverse=True)
    all_val = np.bincount(inverse, weights=coef)
    all_col, all_row = key // n_all_rows, key % n_all_rows
    srt = np.arange(len(key))
    col_start = np.concatenate(([0], np.cumsum(np.bincount(all_col, minlength=n_x + n_y))))
    h = new_highs()
    n_amo = len(bid_rows)
    demand = np.concatenate(rhs)
    lower = np.concatenate([demand, np.full(n_amo, -np.inf)])
    upper = np.concatenate([demand, np.ones(n_amo)])
    empty_i, empty_f = np.zeros(0, dtype=np.int32), np.zeros(0)
    h.addRows(n_rows + n_amo, lower, upper, 0, empty_i, empty_i, empty_f)
    value = np.array([instance.candidates[c].value / 1e6 for c in cands])
    cost = np.concatenate([value, np.array(y_cost)])
    col_hi = np.concatenate([np.ones(n_x), np.array(y_cap)])
    h.addCols(n_x + n_y, cost, np.zeros(n_x + n_y), col_hi, len(srt),
              col_start[:-1].astype(np.int32), all_row[srt].astype(np.int32), all_val[srt])
    h.changeObjectiveSense(ObjSense.kMaximize)
    return h


def round_lp(instance: Instance, guide: LpGuide, bids: list[int]) -> list[int]:
    """A feasible allocation: LP-supported candidates by descending LP value, then greedy."""
    ledger = Ledger(instance)
    taken: set[int] = set()
    chosen: list[int] = []

    def offer(cands: list[int]) -> None:
        best = ledger.best(cands)
        if best is not None:
            ledger.add(best)
            taken.add(instance.candidates[best].bid)
            chosen.append(best)

    cands = np.array([c for b in bids for c in instance.by_bid[b]], dtype=np.int64)
    support = cands[guide.x[cands] > SUPPORT]
    ranked = support[np.argsort(-guide.x[support], kind="stable")]
    for c in ranked.tolist():
        b = instance.candidates[c].bid
        if b not in taken:
            offer([c])
    for b in _by_density(instance, [b for b in bids if b not in taken]):
        offer(instance.by_bid[b])
    return chosen


def fitting(instance: Instance, picked: list[int], fixed: list[int] | None = None
            ) -> list[int]:
    """The candidates of `picked` that fit together, and with `fixed`, most valuable first."""
    ledger = Ledger(instance)
    for c in fixed or []:
        ledger.add(c)
    kept = []
    for c in sorted(picked, key=lambda c: -instance.candidates[c].value):
        if ledger.extra_cost(c) is not None:
            ledger.add(c)
            kept.append(c)
    return kept


def _by_density(instance: Instance, bids: list[int]) -> list[int]:
    def density(b: int) -> int:
        best = 0
        for c in instance.by_bid[b]:
            cand = instance.candidates[c]
            size = sum(leg.gpus * (leg.end - leg.start) for leg in cand.legs)
            best = max(best, cand.margin // size)
        return best

    return sorted(bids, key=density, reverse=True)
