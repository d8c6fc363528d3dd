"""The baselines gpux must beat, each working from the same Book.

- naive CP-SAT on `bench.naive`'s full enumeration, cold or hinted with gpux's greedy;
- HiGHS MIP on the same model, cold or given gpux's greedy as a starting solution;
- the LP relaxation of that model (`bench.lpbound`), whose optimum bounds every surplus;
- gpux's own greedy followed by `repair`.

The naive models do not require priceability, so their allocations may be ones no clearing
prices support. `to_gpux` maps an allocation onto gpux's candidates (a placement gpux pruned
could never beat the cheapest supply, so it is dropped) and `repaired` then applies gpux's
`repair`, which gives the surplus the baseline would really deliver under the spec's rules.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from highspy import HighsVarType, ObjSense
from highspy._core import _Highs
from ortools.sat.python import cp_model

from bench.naive import IntArray, NaiveModel
from gpux.clearing.greedy import greedy
from gpux.clearing.instance import Instance
from gpux.clearing.supply import cheapest_supply, repair, supply_by_ask, surplus_of

MIP_GAP = 1e-4  # the same relative gap at which gpux calls a result optimal


@dataclass(slots=True)
class BaselineRun:
    """What one baseline found: chosen placements (naive columns) and its figures, in micros."""

    status: str
    chosen: list[int]
    surplus: int | None
    bound: int | None
    build_seconds: float
    solve_seconds: float
    stats: dict[str, object] = field(default_factory=dict)


def _candidate_keys(instance: Instance) -> dict[tuple[int, int, int, tuple[int, ...]], int]:
    return {(c.bid, c.alternative, c.start, tuple(leg.pool for leg in c.legs)): i
            for i, c in enumerate(instance.candidates)}


def to_gpux(instance: Instance, naive: NaiveModel, chosen: list[int]) -> tuple[list[int], int]:
    """gpux candidates for chosen naive placements, and how many had no candidate (dropped)."""
    keys = _candidate_keys(instance)
    mapped, dropped = [], 0
    for j in chosen:
        c = keys.get((int(naive.bid[j]), int(naive.alt[j]), int(naive.start[j]), naive.pools[j]))
        if c is None:
            dropped += 1
        else:
            mapped.append(c)
    return mapped, dropped


def repaired(instance: Instance, chosen: list[int]) -> tuple[list[int], int]:
    """gpux's `repair` applied to chosen candidates: what stays, and its surplus in micros."""
    kept, supply = repair(instance, chosen)
    return kept, surplus_of(instance, kept, supply)


def hint_vector(instance: Instance, naive: NaiveModel, chosen: list[int]) -> IntArray:
    """A full naive solution (x and y) for gpux candidates `chosen`, cheapest supply first."""
    cols = {(int(naive.bid[j]), int(naive.alt[j]), int(naive.start[j]), naive.pools[j]): j
            for j in range(naive.n_x)}
    values = np.zeros(naive.n_x + naive.n_y, dtype=np.int64)
    for c in chosen:
        cand = instance.candidates[c]
        values[cols[cand.bid, cand.alternative, cand.start,
                    tuple(leg.pool for leg in cand.legs)]] = 1
    y_col = {(int(a), int(t)): naive.n_x + i
             for i, (a, t) in enumerate(zip(naive.y_ask.tolist(), naive.y_slot.tolist(),
                                            strict=True))}
    for i, by_slot in supply_by_ask(instance, chosen).items():
        for t, got in by_slot.items():
            values[y_col[i, t]] = got
    return values


def _surplus(naive: NaiveModel, values: IntArray) -> int:
    x, y = values[:naive.n_x], values[naive.n_x:]
    return int(naive.value @ x) - int(naive.y_cost @ y)


def solve_cpsat(naive: NaiveModel, time_limit: float, workers: int, seed: int,
                hint: IntArray | None = None) -> BaselineRun:
    """CP-SAT on the naive model, optionally hinted with a full solution."""
    started = time.monotonic()
    m = cp_model.CpModel()
    proto: Any = m.proto
    for _ in range(naive.n_x):
        proto.variables.add().domain.extend([0, 1])
    for cap in naive.y_cap.tolist():
        proto.variables.add().domain.extend([0, cap])
    rs, cols, coefs = naive.row_start.tolist(), naive.row_col, naive.row_coef
    for r, (lo, hi) in enumerate(zip(naive.row_lo.tolist(), naive.row_hi.tolist(), strict=True)):
        lin = proto.constraints.add().linear
        lin.vars.extend(cols[rs[r]:rs[r + 1]].tolist())
        lin.coeffs.extend(coefs[rs[r]:rs[r + 1]].tolist())
        lin.domain.extend([lo, hi])
    for group in naive.at_most_one:
        proto.constraints.add().at_most_one.literals.extend(group.tolist())
    # CP-SAT minimises; a maximisation is stored negated with scaling factor -1
    proto.objective.vars.extend(range(naive.n_x + naive.n_y))
    proto.objective.coeffs.extend((-naive.value).tolist() + naive.y_cost.tolist())
    proto.objective.scaling_factor = -1.0
    if hint is not None:
        proto.solution_hint.vars.extend(range(len(hint)))
        proto.solution_hint.values.extend(hint.tolist())
    built = time.monotonic()
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    solver.parameters.relative_gap_limit = MIP_GAP
    status = solver.status_name(solver.solve(m))
    done = time.monotonic()
    if status not in ("OPTIMAL", "FEASIBLE"):
        # without a solution CP-SAT's best_objective_bound is not a bound (it reads 0)
        return BaselineRun(status, [], None, None, built - started, done - built)
    values = np.array(solver.response_proto.solution, dtype=np.int64)
    chosen = np.flatnonzero(values[:naive.n_x]).tolist()
    return BaselineRun(status, chosen, _surplus(naive, values),
                       int(np.floor(solver.best_objective_bound + 0.5)),
                       built - started, done - built)


def _highs_model(naive: NaiveModel) -> Any:
    h = _Highs()
    h.setOptionValue("output_flag", False)
    n_rows = len(naive.row_lo)
    n_amo = len(naive.at_most_one)
    lower = np.concatenate([naive.row_lo, np.zeros(n_amo, dtype=np.int64)]).astype(float)
    lower[:n_rows][naive.row_lo < naive.row_hi] = -np.inf
    upper = np.concatenate([naive.row_hi, np.ones(n_amo, dtype=np.int64)]).astype(float)
    empty_i, empty_f = np.zeros(0, dtype=np.int32), np.zeros(0)
    h.addRows(n_rows + n_amo, lower, upper, 0, empty_i, empty_i, empty_f)
    counts = np.diff(naive.row_start)
    ent_row = np.repeat(np.arange(n_rows, dtype=np.int64), counts)
    ent_col, ent_val = naive.row_col, naive.row_coef.astype(float)
    if n_amo:
        amo_cols = np.concatenate(naive.at_most_one)
        amo_rows = np.repeat(np.arange(n_rows, n_rows + n_amo),
                             [len(g) for g in naive.at_most_one])
        ent_row = np.concatenate([ent_row, amo_rows])
        ent_col = np.concatenate([ent_col, amo_cols])
        ent_val = np.concatenate([ent_val, np.ones(len(amo_cols))])
    order = np.argsort(ent_col, kind="stable")
    n_cols = naive.n_x + naive.n_y
    col_start = np.concatenate(([0], np.cumsum(np.bincount(ent_col, minlength=n_cols))))[:-1]
    cost = np.concatenate([naive.value, -naive.y_cost]) / 1e6
    col_lo = np.zeros(n_cols)
    col_hi = np.concatenate([np.ones(naive.n_x), naive.y_cap]).astype(float)
    h.addCols(n_cols, cost, col_lo, col_hi, len(order), col_start.astype(np.int32),
              ent_row[order].astype(np.int32), ent_val[order])
    h.changeObjectiveSense(ObjSense.kMaximize)
    h.changeColsIntegrality(n_cols, np.arange(n_cols, dtype=np.int32),
                            np.full(n_cols, HighsVarType.kInteger.value, dtype=np.uint8))
    return h


def solve_highs(naive: NaiveModel, time_limit: float, seed: int,
                hint: IntArray | None = None) -> BaselineRun:
    """HiGHS's MIP solver on the naive model, optionally started from `hint`."""
    started = time.monotonic()
    h = _highs_model(naive)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("random_seed", seed)
    h.setOptionValue("mip_rel_gap", MIP_GAP)
    if hint is not None:
        n = len(hint)
        h.setSolution(n, np.arange(n, dtype=np.int32), hint.astype(float))
    built = time.monotonic()
    h.run()
    done = time.monotonic()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    bound = None
    if np.isfinite(info.mip_dual_bound) and abs(info.mip_dual_bound) < 1e30:
        bound = round(info.mip_dual_bound * 1e6)
    if info.primal_solution_status == 0:
        return BaselineRun(status, [], None, bound, built - started, done - built,
                           {"mip_nodes": info.mip_node_count})
    values = np.rint(np.array(h.getSolution().col_value)).astype(np.int64)
    chosen = np.flatnonzero(values[:naive.n_x]).tolist()
    return BaselineRun(status, chosen, _surplus(naive, values), bound, built - started,
                       done - built, {"mip_nodes": info.mip_node_count})


def greedy_run(instance: Instance) -> tuple[list[int], int, list[int], int]:
    """gpux's greedy: (chosen, surplus) as it stands, then after `repair`, in micros."""
    chosen = greedy(instance)
    raw = surplus_of(instance, chosen, cheapest_supply(instance, chosen))
    kept, surplus = repaired(instance, chosen)
    return chosen, raw, kept, surplus
