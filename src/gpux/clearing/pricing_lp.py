"""The envy-minimising price LP, solved with HiGHS by generating envy rows as they are needed.

One column per priced (pool, slot), bounded below by the supply floor (0 where nothing is
sold). Each accepted bid's payment is at most its value. Overprice is unsold GPUs times
max(0, price - reserve) per (pool, slot, reserve); where the reserve is at or below the price's
lower bound that is linear in the price and needs no row. Envy rows e_b >= value - cost of a
placement are added only for losing bids whose cheapest placement at the current prices beats
their e_b, and the same HiGHS model is re-solved from its last basis.

A second phase breaks ties without touching the error: it fixes every column and row that
the first phase's duals say is tight on all optimal solutions (complementary slackness), so
only the optimal face is left, and on it moves prices as close to the supply floor (the
cheapest reserve where nothing is sold) as it can, still generating envy rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from highspy import HighsModelStatus, kHighsInf
from highspy._core import _Highs

from gpux.clearing.pricing_instance import IntArray, LegUse, PricingInstance
from gpux.clearing.pricing_search import PlacementSearch

FloatArray = npt.NDArray[np.float64]
# An envy row is violated when the best placement beats e_b by more than this many dollars.
TOLERANCE = 1e-6
# Duals and reduced costs above this are taken as nonzero when fixing the optimal face.
_TIGHT = 1e-9
MAX_ROUNDS = 500


def new_highs() -> Any:
    """A silent HiGHS instance with a fixed seed."""
    # highspy.Highs() prints a banner on stdout, where `gpux clear` writes its result.
    h = _Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    return h


def _empty_cols(h: Any, cost: FloatArray, lower: FloatArray, upper: FloatArray) -> None:
    h.addCols(
        len(cost),
        cost,
        lower,
        upper,
        0,
        np.zeros(len(cost), dtype=np.int32),
        np.zeros(0, dtype=np.int32),
        np.zeros(0),
    )


@dataclass
class _Rows:
    """Rows in compressed form, collected before one call to addRows."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    index: list[IntArray] = field(default_factory=list)
    value: list[FloatArray] = field(default_factory=list)
    nnz: int = 0

    def add(self, lower: float, upper: float, index: IntArray, value: FloatArray) -> None:
        self.lower.append(lower)
        self.upper.append(upper)
        self.starts.append(self.nnz)
        self.index.append(index)
        self.value.append(value)
        self.nnz += len(index)

    def flush(self, h: Any) -> int:
        n = len(self.lower)
        if n:
            h.addRows(
                n,
                np.array(self.lower),
                np.array(self.upper),
                self.nnz,
                np.array(self.starts, dtype=np.int32),
                np.concatenate(self.index).astype(np.int32),
                np.concatenate(self.value),
            )
        self.lower, self.upper, self.starts, self.index, self.value = [], [], [], [], []
        self.nnz = 0
        return n


class EnvyLp:
    """One HiGHS model of the pricing LP, grown by envy rows until none is violated."""

    def __init__(self, inst: PricingInstance, search: PlacementSearch) -> None:
        self.inst, self.search = inst, search
        self.h = h = new_highs()
        cells = np.argwhere(inst.has_ask)
        self.n_x = len(cells)
        self.col_of = np.full(inst.has_ask.shape, -1, dtype=np.int64)
        self.col_of[inst.has_ask] = np.arange(self.n_x)
        lower = np.where(inst.supplied, inst.floor, 0)[inst.has_ask]
        # Overprice of unsold GPUs whose reserve is at or below the lower bound is linear.
        bound = lower[self.col_of[inst.unsold_pool, inst.unsold_slot]]
        linear = inst.unsold_reserve <= bound
        cost = np.zeros(self.n_x)
        np.add.at(
            cost,
            self.col_of[inst.unsold_pool, inst.unsold_slot][linear],
            inst.unsold_gpus[linear].astype(np.float64),
        )
        self.offset = -float((inst.unsold_gpus[linear] * inst.unsold_reserve[linear]).sum()) / 1e6
        h.changeObjectiveOffset(self.offset)
        _empty_cols(h, cost, lower / 1e6, np.full(self.n_x, kHighsInf))
        kinked = np.flatnonzero(~linear)
        self.o0 = self.n_x
        _empty_cols(
            h,
            inst.unsold_gpus[kinked].astype(np.float64),
            np.zeros(len(kinked)),
            np.full(len(kinked), kHighsInf),
        )
        self.e0 = self.o0 + len(kinked)
        n_e = len(search.placed)
        _empty_cols(h, np.ones(n_e), np.zeros(n_e), np.full(n_e, kHighsInf))
        rows = _Rows()
        for o, g in enumerate(kinked.tolist()):
            x = self.col_of[inst.unsold_pool[g], inst.unsold_slot[g]]
            rows.add(
                -float(inst.unsold_reserve[g]) / 1e6,
                kHighsInf,
                np.array([self.o0 + o, x]),
                np.array([1.0, -1.0]),
            )
        for bid in inst.purchases:
            rows.add(-kHighsInf, bid.value / 1e6, *self._cost(bid.legs))
        rows.flush(h)
        self.seen: set[tuple[int, int, int, tuple[LegUse, ...]]] = set()
        self.rows_generated = 0
        self.rounds = 0
        self.lp_seconds = 0.0

    def _cost(self, legs: tuple[LegUse, ...]) -> tuple[IntArray, FloatArray]:
        cols = np.concatenate([self.col_of[leg.pool, leg.first : leg.end] for leg in legs])
        gpus = np.concatenate([np.full(leg.end - leg.first, float(leg.gpus)) for leg in legs])
        if len(legs) == 1:
            return cols, gpus
        unique, where = np.unique(cols, return_inverse=True)
        return unique.astype(np.int64), np.bincount(where, weights=gpus).astype(np.float64)

    def prices(self, x: FloatArray) -> FloatArray:
        """Prices in dollars per (pool, slot) from the columns, 0 off the asks."""
        out = np.zeros(self.inst.has_ask.shape)
        out[self.inst.has_ask] = x[: self.n_x]
        return out

    def solve(self, deadline: float) -> tuple[FloatArray | None, bool]:
        """Solve, adding violated envy rows until none is left or time runs out.

        Returns the last optimal columns (None if there was none) and whether no envy row
        was left violated.
        """
        x: FloatArray | None = None
        while self.rounds < MAX_ROUNDS:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            # HiGHS measures its time limit against its own clock, summed over runs.
            self.h.setOptionValue("time_limit", self.h.getRunTime() + left)
            started = time.monotonic()
            self.h.run()
            self.lp_seconds += time.monotonic() - started
            self.rounds += 1
            if self.h.getModelStatus() != HighsModelStatus.kOptimal:
                break
            x = np.asarray(self.h.getSolution().col_value, dtype=np.float64)
            if self._add_envy_rows(x) == 0:
                return x, True
        return x, False

    def _add_envy_rows(self, x: FloatArray) -> int:
        prefix = np.zeros((self.inst.has_ask.shape[0], self.inst.slots + 1))
        prefix[:, 1:] = np.cumsum(self.prices(x), axis=1)
        evaluation = self.search.evaluate(prefix.ravel())
        e = x[self.e0 : self.e0 + len(self.search.placed)]
        best = np.asarray(evaluation.best, dtype=np.float64)
        violated = np.flatnonzero(best - e > TOLERANCE + 1e-9 * np.abs(best))
        rows = _Rows()
        for k in violated.tolist():
            route = evaluation.route(k)
            key = (k, route.alternative, route.start, route.legs)
            if key in self.seen:
                continue  # within the LP's own tolerance; the row is there already
            self.seen.add(key)
            bid = self.search.bids[int(self.search.placed[k])]
            cols, gpus = self._cost(route.legs)
            rows.add(
                float(bid.alternatives[route.alternative].value),
                kHighsInf,
                np.append(cols, self.e0 + k),
                np.append(gpus, 1.0),
            )
        added = rows.flush(self.h)
        self.rows_generated += added
        return added

    def objective(self) -> float:
        """The current LP objective: envy plus overprice in dollars in phase one."""
        return float(self.h.getInfo().objective_function_value)

    def to_tie_break(self) -> None:
        """Keep only the optimal face, then aim for prices close to the supply floor."""
        h, inst = self.h, self.inst
        solution = h.getSolution()
        n_col = h.getNumCol()
        col_value = np.asarray(solution.col_value)
        col_dual = np.asarray(solution.col_dual)
        fixed = np.flatnonzero(np.abs(col_dual) > _TIGHT).astype(np.int32)
        h.changeColsBounds(len(fixed), fixed, col_value[fixed], col_value[fixed])
        row_value = np.asarray(solution.row_value)
        tight = np.flatnonzero(np.abs(np.asarray(solution.row_dual)) > _TIGHT).astype(np.int32)
        h.changeRowsBounds(len(tight), tight, row_value[tight], row_value[tight])
        h.changeObjectiveOffset(0.0)
        # Sum of prices, plus twice the shortfall below the cheapest reserve where nothing is
        # sold: |x - r| = (x - r) + 2 max(0, r - x), with u >= r - x.
        cost = np.zeros(n_col)
        cost[: self.n_x] = 1.0
        h.changeColsCost(n_col, np.arange(n_col, dtype=np.int32), cost)
        below = np.flatnonzero((~inst.supplied & (inst.lowest_reserve > 0))[inst.has_ask])
        _empty_cols(
            h, np.full(len(below), 2.0), np.zeros(len(below)), np.full(len(below), kHighsInf)
        )
        rows = _Rows()
        reserve = inst.lowest_reserve[inst.has_ask]
        for u, x in enumerate(below.tolist()):
            rows.add(
                float(reserve[x]) / 1e6, kHighsInf, np.array([n_col + u, x]), np.array([1.0, 1.0])
            )
        rows.flush(h)


def envy_lp_prices(
    inst: PricingInstance, search: PlacementSearch, deadline: float, tie_break: bool = True
) -> tuple[list[FloatArray], dict[str, object]]:
    """Prices in dollars per (pool, slot) minimising envy plus overprice.

    Returns the first phase's prices and, after them, the tie-broken ones if that phase
    finished (an empty list if no LP was solved), with figures for the stats.
    """
    lp = EnvyLp(inst, search)
    x, converged = lp.solve(deadline)
    stats: dict[str, object] = {"converged": converged}
    found = [] if x is None else [lp.prices(x)]
    if x is not None and converged:
        stats["lp_error"] = round(lp.objective(), 6)
        if tie_break:
            rounds = lp.rounds
            lp.to_tie_break()
            tied, done = lp.solve(deadline)
            stats["tie_break_rounds"] = lp.rounds - rounds
            if tied is not None and done:
                found.append(lp.prices(tied))
    stats.update(
        {
            "rounds": lp.rounds,
            "rows_generated": lp.rows_generated,
            "lp_seconds": round(lp.lp_seconds, 3),
        }
    )
    return found, stats
