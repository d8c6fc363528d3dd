"""A proven bound on a component: its candidate LP, tightened by capacity and clique cuts.

The LP relaxation over a component's candidates (`lpguide`) is loose where whole jobs
must share a pool: it packs one and a half 64-GPU jobs into 100 GPUs, or runs half a job
at one start and half at the next. Each balance row says that the GPUs the candidates take
in one pool segment are supplied: no more than the k cheapest supply groups' capacity
`cap_k` plus what the dearer groups supply, `s`. For binary candidates and any divisor `d`
(a leg's GPU count) that implies the mixed-integer rounding cut, scaled to integers with
`r = cap_k mod d`:  sum ((d - r) floor(g/d) + max(0, g mod d - r)) x - s <= (d - r) floor(cap_k/d)
(with every group and r = 0 it is no cut; with every group it is at least the
Chvátal-Gomory cut sum floor(g/d) x <= floor(cap/d)). Each round adds the most violated
such cut per segment and the violated clique cuts of `cliques`, then re-solves (warm).

The bound reported is not the LP's floating-point objective but the Lagrangian bound at
its duals rounded to integer micros, computed exactly in integers: for any prices on the
balance rows and any non-negative prices on the cuts, each bid's best candidate value
less its priced cost (or 0), plus each supply column's capacity times how far its row's
price exceeds its reserve cost (or 0), plus the cuts' priced right-hand sides, bounds every
allocation over these candidates. It is valid whatever the LP solver returned; a good LP
solution only makes it tight. Only candidates are searched, so the bound holds for the
book when preparing cut no profitable placement (`auction._incomplete`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import numpy.typing as npt

from gpux.clearing.cliques import ConflictIndex, clique_cuts
from gpux.clearing.instance import Instance
from gpux.clearing.lpguide import MAX_CANDIDATES, LpGuide, relaxation

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
# A cut is added only when the LP solution violates it by more than this many units.
MIN_VIOLATION = 1e-3
# At most this many rounds of cuts (measured on market-1000: the bound stops moving after 2).
CUT_ROUNDS = 4


class CutRelaxation:
    """One component's candidate LP, which can be tightened by cuts and bounds exactly."""

    def __init__(self, instance: Instance, comp: list[int], time_limit: float) -> None:
        self.started = time.monotonic()
        self.instance = instance
        self.cands = [c for b in comp for c in instance.by_bid[b]]
        self.cuts = 0
        self.rounds = 0
        self.h: Any = None
        self.conflicts: ConflictIndex | None = None
        self.best: int | None = None
        if self.cands and len(self.cands) <= MAX_CANDIDATES:
            self.h = relaxation(instance, self.cands, self.started, time_limit)
        if self.h is not None:
            self._layout()

    def _layout(self) -> None:
        """Integer copies of the LP's data: the bound is computed from these, not floats."""
        lp = self.h.getLp()
        a = lp.a_matrix_
        start = np.asarray(a.start_, dtype=np.int64)
        row = np.asarray(a.index_, dtype=np.int64)
        val = np.rint(np.asarray(a.value_, dtype=np.float64)).astype(np.int64)
        col = np.repeat(np.arange(lp.num_col_, dtype=np.int64), np.diff(start))
        n_x = len(self.cands)
        lower = np.asarray(lp.row_lower_, dtype=np.float64)
        upper = np.asarray(lp.row_upper_, dtype=np.float64)
        # balance rows are equalities; the at-most-one rows per bid stay in the subproblem
        balance = np.isfinite(lower)
        self.n_balance_rows = int(balance.sum())
        if not balance[: self.n_balance_rows].all():
            raise AssertionError("balance rows must come first in the relaxation")
        self.balance_rhs = np.rint(upper[: self.n_balance_rows]).astype(np.int64)
        if self.balance_rhs.any():
            # the capacity cuts read "GPUs taken = GPUs supplied": no candidate held fixed
            raise AssertionError("the cut relaxation has no fixed candidates")
        keep = balance[row]
        self.col, self.row, self.val = col[keep], row[keep], val[keep]
        self.n_x = n_x
        self.n_cols = int(lp.num_col_)
        self.value = np.array([self.instance.candidates[c].value for c in self.cands],
                              dtype=np.int64)
        self.bid = np.array([self.instance.candidates[c].bid for c in self.cands],
                            dtype=np.int64)
        cost = np.asarray(lp.col_cost_, dtype=np.float64)[n_x:]
        self.supply_cost = np.rint(cost * 1e6).astype(np.int64)  # -reserve x slots, micros
        self.supply_cap = np.rint(np.asarray(lp.col_upper_)[n_x:]).astype(np.int64)
        supply = self.col >= n_x
        self.supply_row = np.full(self.n_cols - n_x, -1, dtype=np.int64)
        self.supply_row[self.col[supply] - n_x] = self.row[supply]
        # rank of each supply column in its row, cheapest first; capacity of the k cheapest
        by_cost = np.lexsort((-self.supply_cost, self.supply_row))
        first = np.searchsorted(self.supply_row[by_cost], self.supply_row[by_cost])
        self.supply_rank = np.empty(len(by_cost), dtype=np.int64)
        self.supply_rank[by_cost] = np.arange(len(by_cost)) - first
        self.max_groups = int(self.supply_rank.max()) + 1 if len(by_cost) else 0
        ranked = np.zeros((self.n_balance_rows, self.max_groups), dtype=np.int64)
        ranked[self.supply_row, self.supply_rank] = self.supply_cap
        counts = np.bincount(self.supply_row, minlength=self.n_balance_rows)
        self.cap = ranked.sum(axis=1)
        self.prefix_cap = np.where(np.arange(self.max_groups) < counts[:, None],
                                   np.cumsum(ranked, axis=1), -1)
        take = ~supply
        self.take_col, self.take_row = self.col[take], self.row[take]
        self.take_gpus = -self.val[take]
        self.cut_col: list[IntArray] = []
        self.cut_coef: list[IntArray] = []
        self.cut_rhs: list[int] = []

    def solve(self, time_limit: float) -> LpGuide | None:
        """Solve (or re-solve) the LP; its candidate values, or None if not solved in time."""
        if self.h is None or time_limit <= 0.05:
            return None
        # HiGHS's time limit counts its run time over every solve of this object
        self.h.setOptionValue("time_limit", self.h.getRunTime() + float(time_limit))
        self.h.run()
        status = self.h.modelStatusToString(self.h.getModelStatus())
        if status != "Optimal":
            return None
        found = self._bound_at_duals()
        self.best = found if self.best is None else min(self.best, found)
        x = np.zeros(len(self.instance.candidates))
        x[np.array(self.cands)] = np.asarray(self.h.getSolution().col_value)[: self.n_x]
        return LpGuide(x, float(self.h.getInfo().objective_function_value),
                       time.monotonic() - self.started, status)

    def tighten(self, deadline: float, rounds: int = CUT_ROUNDS) -> None:
        """Add rounds of violated capacity cuts, re-solving after each, until `deadline`."""
        for _ in range(rounds):
            left = deadline - time.monotonic()
            if self.h is None or left <= 0.05:
                return
            values = np.asarray(self.h.getSolution().col_value)
            if len(values) != self.n_cols:
                return
            x = values[: self.n_x]
            added = self._separate(x, values[self.n_x:])
            if self.conflicts is None:
                self.conflicts = ConflictIndex(self.take_col, self.take_row, self.take_gpus,
                                               self.cap, self.bid)
            added += self._add_cuts(clique_cuts(x, self.take_col, self.take_row,
                                                self.take_gpus, self.cap, self.bid,
                                                self.conflicts))
            if not added:
                return
            self.rounds += 1
            if self.solve(deadline - time.monotonic()) is None:
                return

    def _separate(self, x: FloatArray, y: FloatArray) -> int:
        """Add the most violated cut of each balance row; how many were added."""
        used = x[self.take_col] > 1e-9
        gpus, rows, cols = self.take_gpus[used], self.take_row[used], self.take_col[used]
        n = self.n_balance_rows
        best = np.zeros(n)
        best_cut = np.zeros((n, 2), dtype=np.int64)  # (divisor, cheapest groups kept)
        divisors = np.unique(gpus[gpus > 1]).tolist()
        beyond = np.bincount(self.supply_row, weights=y, minlength=n)
        for k in range(1, self.max_groups + 1):
            offered = self.prefix_cap[:, k - 1]
            has = offered >= 0
            beyond = beyond - np.bincount(self.supply_row[self.supply_rank == k - 1],
                                          weights=y[self.supply_rank == k - 1], minlength=n)
            for d in divisors:
                rest = np.where(has, offered % d, 0)
                scale = d - rest
                coef = scale[rows] * (gpus // d) + np.maximum(gpus % d - rest[rows], 0)
                lhs = np.bincount(rows, weights=coef * x[cols], minlength=n) - beyond
                violation = (lhs - scale * (offered // d)) / scale
                better = has & (rest > 0) & (violation > np.maximum(best, MIN_VIOLATION))
                best[better] = violation[better]
                best_cut[better] = (d, k)
        found = np.flatnonzero(best_cut[:, 0])
        if len(found) == 0:
            return 0
        gpus, rows, cols = self.take_gpus, self.take_row, self.take_col
        order = np.argsort(rows, kind="stable")
        bounds = np.searchsorted(rows[order], np.arange(n + 1))
        cuts = []
        for r in found.tolist():
            d, k = (int(v) for v in best_cut[r])
            kept = int(self.prefix_cap[r, k - 1])
            rho = kept % d
            entries = order[bounds[r]:bounds[r + 1]]
            g = gpus[entries]
            coef = (d - rho) * (g // d) + np.maximum(g % d - rho, 0)
            nonzero = coef > 0
            extra = self.n_x + np.flatnonzero((self.supply_row == r) & (self.supply_rank >= k))
            cuts.append((np.concatenate([cols[entries][nonzero], extra]),
                         np.concatenate([coef[nonzero], -np.ones(len(extra), dtype=np.int64)]),
                         (d - rho) * (kept // d)))
        return self._add_cuts(cuts)

    def _add_cuts(self, cuts: list[tuple[IntArray, IntArray, int]]) -> int:
        """Add cuts `coef . columns <= rhs`; how many."""
        if not cuts:
            return 0
        starts = np.cumsum([0] + [len(c) for c, _, _ in cuts])
        self.h.addRows(len(cuts), np.full(len(cuts), -np.inf),
                       np.array([float(r) for _, _, r in cuts]), int(starts[-1]),
                       starts[:-1].astype(np.int32),
                       np.concatenate([c for c, _, _ in cuts]).astype(np.int32),
                       np.concatenate([v for _, v, _ in cuts]).astype(np.float64))
        for cols, coef, rhs in cuts:
            self.cut_col.append(cols)
            self.cut_coef.append(coef)
            self.cut_rhs.append(rhs)
        self.cuts += len(cuts)
        return len(cuts)

    def bound(self) -> int | None:
        """The least exact Lagrangian bound (micros) at any solve's duals; None before one."""
        return self.best

    def _bound_at_duals(self) -> int:
        dual = np.asarray(self.h.getSolution().row_dual, dtype=np.float64)
        n_amo = len(dual) - self.n_balance_rows - len(self.cut_rhs)
        balance = dual[: self.n_balance_rows]
        cut = dual[self.n_balance_rows + n_amo:]
        # Whatever HiGHS's sign convention for a maximisation, every sign gives a valid
        # bound, so evaluate each and keep the least.
        return min(self.at(np.rint(s * balance * 1e6).astype(np.int64),
                           np.rint(t * cut * 1e6).astype(np.int64))
                   for s in (1.0, -1.0) for t in (1.0, -1.0))

    def at(self, prices: IntArray, cut_prices: IntArray) -> int:
        """The Lagrangian bound at integer multipliers of the balance rows and the cuts
        (micros; the cuts' are clipped at 0, as their rows are `<=`)."""
        mu = np.maximum(cut_prices, 0)
        priced = np.zeros(self.n_cols, dtype=np.int64)
        np.add.at(priced, self.col, self.val * prices[self.row])
        for k, (cols, coef) in enumerate(zip(self.cut_col, self.cut_coef, strict=True)):
            if mu[k]:
                np.add.at(priced, cols, coef * mu[k])
        reduced = self.value - priced[: self.n_x]
        per_bid = np.zeros(int(self.bid.max()) + 1, dtype=np.int64)
        np.maximum.at(per_bid, self.bid, reduced)
        supply = self.supply_cost - priced[self.n_x:]
        total = sum(int(v) for v in per_bid if v > 0)
        total += sum(int(u) * int(m) for u, m in zip(self.supply_cap, supply, strict=True)
                     if m > 0)
        total += sum(int(m) * r for m, r in zip(mu.tolist(), self.cut_rhs, strict=True))
        total += sum(int(p) * int(r) for p, r in zip(prices, self.balance_rhs, strict=True)
                     if r)
        return total
