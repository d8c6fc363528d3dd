"""Winner determination: components, greedy start, exact CP-SAT, large neighbourhood search.

Bids that can never meet (no pool in common, directly or through other bids) are solved
apart. A component small enough is solved whole by CP-SAT, warm-started from greedy; a
larger one is improved by solving many small neighbourhoods exactly with the rest fixed.
The best valid allocation found is always kept, so a time limit never leaves us with nothing.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from gpux.clearing.greedy import greedy
from gpux.clearing.instance import Instance
from gpux.clearing.model import build
from gpux.clearing.supply import cheapest_supply, floor_prices, repair, surplus_of

# A component with at most this many candidates is handed to CP-SAT whole.
WHOLE_MODEL_CANDIDATES = 20_000
# Below this many candidates the whole model gets all the time; above, a share of it.
SMALL_COMPONENT = 800
WHOLE_MODEL_SHARE = 0.35
NEIGHBOURHOOD_BIDS = 40
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


def _run(sub_model: cp_model.CpModel, params: SolveParams, limit: float,
         hint: dict[cp_model.IntVar, int]) -> tuple[cp_model.CpSolver, str]:
    for var, val in hint.items():
        sub_model.add_hint(var, val)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(limit, 0.05)
    solver.parameters.num_workers = params.workers
    solver.parameters.random_seed = params.seed
    solver.parameters.relative_gap_limit = RELATIVE_GAP
    status = solver.solve(sub_model)
    return solver, solver.status_name(status)


def _solve_free(instance: Instance, free_bids: list[int], chosen: set[int],
                params: SolveParams, limit: float) -> tuple[list[int], int, bool]:
    """Re-solve `free_bids` with every other chosen placement fixed.

    Returns the new choice for the free bids, the model's bound on the free part's
    objective, and whether it was proven optimal.
    """
    free_set = set(free_bids)
    fixed = [c for c in chosen if instance.candidates[c].bid not in free_set]
    floors = floor_prices(instance, cheapest_supply(instance, chosen))
    sub = build(instance, free_bids, fixed, floors)
    hint = {v: int(c in chosen) for c, v in sub.x.items()}
    solver, status = _run(sub.model, params, limit, hint)
    if status not in ("OPTIMAL", "FEASIBLE", "UNKNOWN"):
        raise RuntimeError(f"CP-SAT rejected a neighbourhood model: {status}")
    if status == "UNKNOWN":
        # Without a solution CP-SAT may report a bound of 0 (presolve unfinished): no bound.
        return [c for c in chosen if c in sub.x], NO_BOUND, False
    bound = math.ceil(solver.best_objective_bound)
    picked = [c for c, v in sub.x.items() if solver.boolean_value(v)]
    return picked, bound, status == "OPTIMAL"


def solve(instance: Instance, params: SolveParams) -> Solution:
    """Find a surplus-maximising allocation that clearing prices can support."""
    started = time.monotonic()
    deadline = started + params.time_limit
    chosen, _ = repair(instance, greedy(instance))
    greedy_surplus = surplus_of(instance, chosen, cheapest_supply(instance, chosen))
    current = set(chosen)
    rng = random.Random(params.seed)
    comps = components(instance)
    bound_total = 0
    proven = True
    lns_rounds = lns_improved = 0
    sizes = [sum(len(instance.by_bid[b]) for b in comp) for comp in comps]
    remaining_work = sum(sizes)
    for comp, size in zip(comps, sizes, strict=True):
        now = time.monotonic()
        share = (deadline - now) * size / max(remaining_work, 1)
        remaining_work -= size
        comp_set = set(comp)
        before = {c for c in current if instance.candidates[c].bid in comp_set}
        comp_deadline = time.monotonic() + share
        comp_bound = sum(_best_margin(instance, b) for b in comp)
        if size <= WHOLE_MODEL_CANDIDATES:
            # The whole model proves a bound (and often optimality); what time it leaves
            # goes to neighbourhood search.
            limit = share if size <= SMALL_COMPONENT else share * WHOLE_MODEL_SHARE
            picked, bound, optimal = _solve_free(instance, comp, current, params, limit)
            trial = (current - before) | set(picked)
            trial_list, _ = repair(instance, sorted(trial))
            if _surplus(instance, trial_list) >= _surplus(instance, sorted(current)):
                current = set(trial_list)
            comp_bound = min(comp_bound, max(bound, _surplus_part(instance, current, comp_set)))
            if optimal:
                bound_total += comp_bound
                continue
        proven = False
        bound_total += comp_bound
        while time.monotonic() < comp_deadline - 0.05:
            lns_rounds += 1
            free = _neighbourhood(instance, comp, current, rng)
            limit = min(0.5, comp_deadline - time.monotonic())
            picked, _, _ = _solve_free(instance, free, current, params, limit)
            free_set = set(free)
            trial = {c for c in current if instance.candidates[c].bid not in free_set}
            trial |= set(picked)
            trial_list, _ = repair(instance, sorted(trial))
            if _surplus(instance, trial_list) > _surplus(instance, sorted(current)):
                current = set(trial_list)
                lns_improved += 1
    final = sorted(current)
    surplus = _surplus(instance, final)
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


def _surplus(instance: Instance, chosen: list[int]) -> int:
    return surplus_of(instance, chosen, cheapest_supply(instance, chosen))


def _surplus_part(instance: Instance, chosen: set[int], bids: set[int]) -> int:
    part = sorted(c for c in chosen if instance.candidates[c].bid in bids)
    return _surplus(instance, part)


def _neighbourhood(instance: Instance, comp: list[int], current: set[int],
                   rng: random.Random) -> list[int]:
    """Bids competing with a random bid for the same pools around the same hours."""
    seed_bid = rng.choice(comp)
    cands = instance.by_bid[seed_bid]
    legs = [leg for c in cands for leg in instance.candidates[c].legs]
    pools = {leg.pool for leg in legs}
    lo = min(leg.start for leg in legs)
    hi = max(leg.end for leg in legs)
    near = [b for b in comp if any(
        leg.pool in pools and leg.start < hi and leg.end > lo
        for c in instance.by_bid[b] for leg in instance.candidates[c].legs)]
    rng.shuffle(near)
    return sorted(set(near[:NEIGHBOURHOOD_BIDS]) | {seed_bid})
