"""Winner determination: components, greedy start, exact CP-SAT, large neighbourhood search.

Bids that can never meet (no pool in common, directly or through other bids) are solved
apart. A component small enough is solved whole by CP-SAT, warm-started from greedy; a
larger one is improved by solving many small neighbourhoods exactly with the rest fixed.
The best valid allocation found is always kept, so a time limit never leaves us with nothing.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from gpux.clearing.greedy import greedy
from gpux.clearing.instance import Instance
from gpux.clearing.lns import Search, hint_incumbent
from gpux.clearing.model import build
from gpux.clearing.state import State

# A component with at most this many candidates is handed to CP-SAT whole, for all its
# time; a larger one goes to neighbourhood search (measured: on 9,000 candidates the whole
# model gained 0.002% over greedy in 8 s, while the search gained 2%).
WHOLE_MODEL_CANDIDATES = 3_000
RELATIVE_GAP = 1e-4
NO_BOUND = 2**62


@dataclass(frozen=True, slots=True)
class SolveParams:
    """Solver settings: wall-clock limit in seconds, CP-SAT workers, random seed."""

    time_limit: float = 30.0
    workers: int = 2
    seed: int = 0


@dataclass(slots=True)
class Solution:
    """Chosen candidates with surplus and a proven upper bound, both in micros."""

    chosen: list[int]
    surplus: int
    bound: int
    optimal: bool
    stats: dict[str, object] = field(default_factory=dict)


def components(instance: Instance) -> list[list[int]]:
    """Groups of bids linked through pools their candidates may use, largest first."""
    parent = list(range(len(instance.pool_ids)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for cands in instance.by_bid:
        pools = {leg.pool for c in cands for leg in instance.candidates[c].legs}
        first = next(iter(pools), None)
        for p in pools:
            if first is not None:
                parent[find(p)] = find(first)
    groups: dict[int, list[int]] = {}
    for b, cands in enumerate(instance.by_bid):
        if cands:
            root = find(instance.candidates[cands[0]].legs[0].pool)
            groups.setdefault(root, []).append(b)
    return sorted(groups.values(), key=len, reverse=True)


def _run(sub_model: cp_model.CpModel, params: SolveParams, limit: float
         ) -> tuple[cp_model.CpSolver, str]:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(limit, 0.05)
    solver.parameters.num_workers = params.workers
    solver.parameters.random_seed = params.seed
    solver.parameters.relative_gap_limit = RELATIVE_GAP
    status = solver.solve(sub_model)
    return solver, solver.status_name(status)


def _solve_whole(instance: Instance, state: State, comp: list[int], params: SolveParams,
                 limit: float) -> tuple[list[int], int, bool]:
    """Solve one component's whole model, started from the incumbent.

    Returns the component's new choice, the model's bound on the component's surplus, and
    whether it was proven optimal.
    """
    sub = build(instance, comp, [], state.floors())
    hint_incumbent(instance, state, sub)
    solver, status = _run(sub.model, params, limit)
    if status not in ("OPTIMAL", "FEASIBLE", "UNKNOWN"):
        raise RuntimeError(f"CP-SAT rejected a component model: {status}")
    # Even without a solution (UNKNOWN) CP-SAT's best bound is a valid upper bound.
    bound = math.ceil(solver.best_objective_bound)
    if status == "UNKNOWN":
        return [c for c in state.chosen if c in sub.x], bound, False
    picked = [c for c, v in sub.x.items() if solver.boolean_value(v)]
    return picked, bound, status == "OPTIMAL"


def solve(instance: Instance, params: SolveParams) -> Solution:
    """Find a surplus-maximising allocation that clearing prices can support."""
    started = time.monotonic()
    deadline = started + params.time_limit
    state = State(instance, greedy(instance))
    state.repair()
    greedy_surplus = state.surplus
    comps = components(instance)
    bound_total = 0
    proven = True
    lns_rounds = lns_improved = 0
    sizes = [sum(len(instance.by_bid[b]) for b in comp) for comp in comps]
    remaining_work = sum(sizes)
    for comp, size in zip(comps, sizes, strict=True):
        share = (deadline - time.monotonic()) * size / max(remaining_work, 1)
        remaining_work -= size
        comp_deadline = time.monotonic() + share
        comp_bound = sum(_best_margin(instance, b) for b in comp)
        if size <= WHOLE_MODEL_CANDIDATES:
            # Small enough for CP-SAT to search the whole component well: it gets all the
            # time, and proves a bound (and often optimality).
            picked, bound, optimal = _solve_whole(instance, state, comp, params, share)
            state.try_move([state.by_bid[b] for b in comp if b in state.by_bid], picked)
            comp_bound = min(comp_bound, max(bound, _part_surplus(instance, state, comp)))
            bound_total += comp_bound
            proven = proven and optimal
            continue
        proven = False
        bound_total += comp_bound
        search = Search(instance, state, comp, workers=1, seed=params.seed)
        search.run(comp_deadline)
        lns_rounds += search.rounds
        lns_improved += search.improved
    final = sorted(state.chosen)
    surplus = state.surplus
    bound = max(bound_total, surplus)
    stats: dict[str, object] = {
        "components": len(comps), "largest_component_candidates": max(sizes, default=0),
        "greedy_surplus_micros": greedy_surplus, "lns_rounds": lns_rounds,
        "lns_improvements": lns_improved,
        "solve_seconds": round(time.monotonic() - started, 3),
    }
    optimal = proven and (bound - surplus) <= RELATIVE_GAP * max(abs(bound), 1)
    return Solution(final, surplus, bound, optimal, stats)


def _best_margin(instance: Instance, bid: int) -> int:
    """A bid adds at most its best value less the cheapest cost of the GPUs it takes."""
    return max((instance.candidates[c].margin for c in instance.by_bid[bid]), default=0)


def _part_surplus(instance: Instance, state: State, comp: list[int]) -> int:
    """The incumbent's surplus within one component (its bids and the pools they may use)."""
    pools = {leg.pool for b in comp for c in instance.by_bid[b]
             for leg in instance.candidates[c].legs}
    value = sum(instance.candidates[state.by_bid[b]].value for b in comp if b in state.by_bid)
    return value - sum(state.pool_cost(p) for p in pools)
