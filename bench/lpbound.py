"""The LP relaxation of the naive model, solved by column generation with HiGHS.

Handing HiGHS the whole relaxation at once stalls at 10,000 bids (16 million nonzeros:
neither simplex nor interior point finished in 150 s on the benchmark machine). The same
optimum comes out of a restricted master that starts with every row and every supply column
but no placement, and takes in each bid's placement of best reduced cost while any is
positive. Only a converged master is reported: its optimum then is the relaxation's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from highspy import HighsModelStatus, ObjSense
from highspy._core import _Highs

from bench.naive import IntArray, NaiveModel

TOLERANCE = 1e-7  # dollars of reduced cost below which a placement is not worth adding
MAX_ROUNDS = 1_000


@dataclass(slots=True)
class LpBound:
    """An upper bound in micros: the relaxation's optimum if `converged`, else Lagrangian."""

    bound: int | None
    converged: bool
    status: str
    stats: dict[str, object] = field(default_factory=dict)


class _Columns:
    """The placement columns in compressed-column form, with each one's bid row."""

    def __init__(self, naive: NaiveModel, n_linear: int) -> None:
        counts = np.diff(naive.row_start)
        rows = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        is_x = naive.row_col < naive.n_x
        cols, rows, coefs = naive.row_col[is_x], rows[is_x], naive.row_coef[is_x]
        order = np.argsort(cols, kind="stable")
        self.rows, self.coefs, cols = rows[order], coefs[order].astype(float), cols[order]
        self.start = np.concatenate(([0], np.cumsum(np.bincount(cols, minlength=naive.n_x))))
        self.cols = cols
        self.value = naive.value / 1e6
        self.amo_row = n_linear + naive.bid

    def reduced_costs(self, row_dual: np.ndarray) -> np.ndarray:
        """value - column . duals of the linear rows (not the bid rows), for every placement."""
        priced = np.bincount(self.cols, weights=self.coefs * row_dual[self.rows],
                             minlength=len(self.value))
        return np.asarray(self.value - priced)

    def add(self, h: Any, picked: IntArray) -> None:
        """Add the picked placement columns to the master."""
        lengths = self.start[picked + 1] - self.start[picked]
        first = np.repeat(self.start[picked] - np.concatenate(([0], np.cumsum(lengths)[:-1])),
                          lengths)
        take = first + np.arange(int(lengths.sum()))
        # each column: its linear entries, then 1 in its bid's at-most-one row
        index = np.concatenate([self.rows[take], self.amo_row[picked]])
        value = np.concatenate([self.coefs[take], np.ones(len(picked))])
        col_of = np.concatenate([np.repeat(np.arange(len(picked)), lengths),
                                 np.arange(len(picked))])
        order = np.argsort(col_of, kind="stable")
        starts = np.concatenate(([0], np.cumsum(lengths + 1)))[:-1]
        n = len(picked)
        h.addCols(n, self.value[picked], np.zeros(n), np.ones(n), len(order),
                  starts.astype(np.int32), index[order].astype(np.int32), value[order])


def lp_bound(naive: NaiveModel, time_limit: float) -> LpBound:
    """An upper bound from the naive model's LP relaxation, by column generation."""
    deadline = time.monotonic() + time_limit
    h: Any = _Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    n_linear = len(naive.row_lo)
    n_bids = len(naive.book.bids)
    lower = naive.row_lo.astype(float)
    is_le = naive.row_lo < naive.row_hi  # the no-self-trade rows; the rest are equalities
    lower[is_le] = -np.inf
    lower = np.concatenate([lower, np.full(n_bids, -np.inf)])
    upper = np.concatenate([naive.row_hi.astype(float), np.ones(n_bids)])
    empty_i = np.zeros(0, dtype=np.int32)
    h.addRows(n_linear + n_bids, lower, upper, 0, empty_i, empty_i, np.zeros(0))
    # supply columns: +1 in their balance row, -1 in the no-self-trade rows they serve
    counts = np.diff(naive.row_start)
    rows = np.repeat(np.arange(n_linear, dtype=np.int64), counts)
    is_y = naive.row_col >= naive.n_x
    ycol = naive.row_col[is_y] - naive.n_x
    yrows, ycoef = rows[is_y], naive.row_coef[is_y].astype(float)
    order = np.argsort(ycol, kind="stable")
    ystart = np.concatenate(([0], np.cumsum(np.bincount(ycol, minlength=naive.n_y))))[:-1]
    h.addCols(naive.n_y, -naive.y_cost / 1e6, np.zeros(naive.n_y), naive.y_cap.astype(float),
              len(order), ystart.astype(np.int32), yrows[order].astype(np.int32), ycoef[order])
    h.changeObjectiveSense(ObjSense.kMaximize)
    columns = _Columns(naive, n_linear)
    in_master = np.zeros(naive.n_x, dtype=bool)
    best = np.inf
    rounds = 0
    while rounds < MAX_ROUNDS:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        h.setOptionValue("time_limit", h.getRunTime() + left)  # counts across runs
        h.run()
        rounds += 1
        if h.getModelStatus() != HighsModelStatus.kOptimal:
            break
        dual = np.asarray(h.getSolution().row_dual, dtype=float)
        # Lagrangian bound: any duals do, as long as the <= rows' multipliers are >= 0
        pi = dual[:n_linear].copy()
        pi[is_le] = np.maximum(pi[is_le], 0.0)
        rc = columns.reduced_costs(np.concatenate([pi, np.zeros(n_bids)]))
        per_bid = np.zeros(n_bids)
        np.maximum.at(per_bid, naive.bid, rc)
        y_rc = -naive.y_cost / 1e6 - np.bincount(ycol, weights=ycoef * pi[yrows],
                                                   minlength=naive.n_y)
        best = min(best, float(per_bid.sum() + (naive.y_cap * np.maximum(y_rc, 0.0)).sum()))
        rc = columns.reduced_costs(dual) - dual[columns.amo_row]
        rc[in_master] = -np.inf
        picked = _best_per_bid(naive.bid, rc)
        if len(picked) == 0:
            objective = float(h.getInfo().objective_function_value)
            return LpBound(_micros_up(objective), True, "Optimal", _stats(rounds, in_master))
        in_master[picked] = True
        columns.add(h, picked)
    status = f"not converged: Lagrangian bound after {rounds} rounds"
    return LpBound(_micros_up(best) if np.isfinite(best) else None, False, status,
                   _stats(rounds, in_master))


def _micros_up(dollars: float) -> int:
    """Dollars to micros, rounded up (it is an upper bound), past float noise."""
    return int(np.ceil(dollars * 1e6 * (1 + 1e-12) + 1e-3))


def _best_per_bid(bid: IntArray, rc: np.ndarray) -> IntArray:
    """Each bid's placement of largest positive reduced cost."""
    good = np.flatnonzero(rc > TOLERANCE)
    if len(good) == 0:
        return np.zeros(0, dtype=np.int64)
    order = good[np.lexsort((-rc[good], bid[good]))]
    first = np.concatenate(([True], bid[order][1:] != bid[order][:-1]))
    return np.asarray(order[first], dtype=np.int64)


def _stats(rounds: int, in_master: np.ndarray) -> dict[str, object]:
    return {"rounds": rounds, "columns": int(in_master.sum())}
