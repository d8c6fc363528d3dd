"""Winner determination: components, greedy start, exact CP-SAT, LP-guided neighbourhoods.

Bids that can never meet (no pool in common, directly or through other bids) are solved
apart. A component small enough is solved whole by CP-SAT (beside HiGHS's MIP when smaller
still), warm-started from greedy. A larger one starts from the best of greedy, a rounding
of its LP relaxation and HiGHS's MIP over the candidates that LP uses (when the LP is small
enough to solve), or from Lagrangian prices (`start`) when it is too large for the LP,
then is improved by ejection moves (a losing bid accepted in place of the accepted ones in
its way, `eject`) in one thread while windows are re-solved in the others (LP, then MIP
over its support, the rest fixed; with two workers, one thread's windows in a forked
process, so that the ejection moves keep this one's GIL), and last by CP-SAT
neighbourhoods, which see priceability exactly. Its bound
comes from that LP tightened by capacity and clique cuts (`cutbound`).
The best valid allocation found is always kept, so a time limit never leaves us with nothing.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from gpux.clearing.cutbound import CutRelaxation
from gpux.clearing.eject import Ejection
from gpux.clearing.greedy import GreedyOrders
from gpux.clearing.helper import Helper
from gpux.clearing.instance import Instance, IntArray
from gpux.clearing.lns import LegIndex, Search, hint_incumbent, window_server
from gpux.clearing.lpguide import (
    MAX_CANDIDATES,
    SUPPORT,
    LpGuide,
    MipRun,
    fitting,
    round_lp,
    solve_mip,
)
from gpux.clearing.model import build
from gpux.clearing.start import GREEDY_SHARE, greedy_start
from gpux.clearing.state import State, repaired

# A component with at most this many candidates is handed to CP-SAT whole, for all its
# time; a larger one goes to neighbourhood search (measured: on 9,000 candidates the whole
# model gained 0.002% over greedy in 8 s, while the search gained 2%).
WHOLE_MODEL_CANDIDATES = 3_000
RELATIVE_GAP = 1e-4
# Whole models up to this many candidates are solved by CP-SAT and HiGHS side by side
# (measured in 21 s on CATS 200x1000, 2 seeds: 15,393 and 15,789 (proven) against CP-SAT
# alone's 15,311 and 15,724; on CATS 400x2000 CP-SAT with both workers did better,
# 31,855 and 32,223 against 31,756 and 31,919).
PORTFOLIO_CANDIDATES = 1_500
# At most these shares of a searched component's time go to its LP relaxation and to
# HiGHS's MIP over the candidates the LP uses; the rest to neighbourhood search. The LP is
# let run long (it takes what it needs, 2 s at 1,000 bids on a quiet machine, 6 s under
# load): without it there is neither the LP start nor a proven bound of the component.
LP_SHARE = 0.4
MIP_SHARE = 0.35
# Then this share of what is left goes to LP-and-MIP windows of about this many candidates
# and seconds each, the rest to CP-SAT neighbourhoods (measured on market-1000 and 10000:
# windows gained 2-3 times what CP-SAT neighbourhoods did in the same time; 0.95 against
# 0.7 was +0.2% on market-1000, 2 seeds, and even at 10,000).
WINDOW_SHARE = 0.95
# This share of a searched component's time (taken right after its LP) goes to tightening
# its LP by capacity and clique cuts for a proven bound (measured on market-1000 seed 1:
# the candidate LP bounds 926.5 k, two rounds of cuts 915.7 k, where it stays; the best
# surplus any method found in 10 minutes is 907.7 k less the other component's ~9.1 k).
CUT_SHARE = 0.2
# A searched component with less time left than its search's set-up takes is not searched
# (measured at 50,000 bids on a slow machine: 5 s for 2 M candidates, after a start that
# had used the whole limit).
SET_UP_SECONDS_PER_CANDIDATE = 2.5e-6
WINDOW_CANDIDATES = 3_000
WINDOW_SECONDS = 1.5
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
    # The Lagrangian prices of least dual over the candidates (pools x slots, micros), when
    # the start computed them: the relaxation bound over every placement evaluates them too.
    dual_prices: IntArray | None = None


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


def _solve_whole(instance: Instance, state: State, comp: list[int], params: SolveParams,
                 limit: float) -> tuple[list[int], int, bool]:
    """Solve one component's whole model, started from the incumbent.

    Up to `PORTFOLIO_CANDIDATES`, CP-SAT and HiGHS's MIP (without priceability, repaired
    after) run side by side, one worker each; whichever proves optimality first stops the
    other. Larger, CP-SAT gets every worker. Returns the
    component's new choice, a bound on the component's surplus, and whether it is proven.
    """
    sub = build(instance, comp, [], state.floors())
    hint_incumbent(instance, state, sub)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(limit, 0.05)
    portfolio = params.workers >= 2 and len(sub.x) <= PORTFOLIO_CANDIDATES
    solver.parameters.num_workers = params.workers - 1 if portfolio else params.workers
    solver.parameters.random_seed = params.seed
    solver.parameters.relative_gap_limit = RELATIVE_GAP
    mip: MipRun | None = None
    thread = None
    if portfolio:
        cands = [c for b in comp for c in instance.by_bid[b]]
        mine = sorted(state.by_bid[b] for b in comp if b in state.by_bid)
        mip = MipRun(instance, cands, mine, limit, stoppable=True)

        def stop_cpsat() -> None:
            if mip is not None and mip.optimal:
                solver.stop_search()

        thread = threading.Thread(target=mip.solve, args=(stop_cpsat,), daemon=True)
        thread.start()
    status = solver.status_name(solver.solve(sub.model))
    if mip is not None and thread is not None:
        if status == "OPTIMAL":
            mip.stop.set()
        thread.join()
    if status not in ("OPTIMAL", "FEASIBLE", "UNKNOWN"):
        raise RuntimeError(f"CP-SAT rejected a component model: {status}")
    # Without a solution CP-SAT may report a bound of 0 (presolve unfinished): no bound.
    bound = NO_BOUND if status == "UNKNOWN" else math.ceil(solver.best_objective_bound)
    optimal = status == "OPTIMAL"
    picked = ([c for c in state.chosen if c in sub.x] if status == "UNKNOWN"
              else [c for c, v in sub.x.items() if solver.boolean_value(v)])
    if mip is not None and mip.bound is not None:
        # HiGHS relaxes the same problem, so its bound holds (floats: round up generously)
        bound = min(bound, math.ceil(mip.bound * 1e6 * (1 + 1e-9)) + 1)
    if mip is not None and mip.picked:
        current = sorted(state.by_bid[b] for b in comp if b in state.by_bid)
        state.try_move(current, picked)
        if _move_to(instance, state, comp, fitting(instance, mip.picked)):
            picked = [state.by_bid[b] for b in comp if b in state.by_bid]
    return picked, bound, optimal or (mip is not None and mip.optimal)


def solve(instance: Instance, params: SolveParams,
          comps: list[list[int]] | None = None,
          on_prices: Callable[[IntArray], None] | None = None) -> Solution:
    """Find a surplus-maximising allocation that clearing prices can support (`comps`:
    the instance's `components`, if the caller has them; `on_prices` is given the
    Lagrangian prices of least dual as soon as the start has them, if it computes them)."""
    started = time.monotonic()
    deadline = started + params.time_limit
    if comps is None:
        comps = components(instance)
    sizes = [sum(len(instance.by_bid[b]) for b in comp) for comp in comps]
    # Where the LP start runs (every component within its size), HiGHS's MIP over the
    # LP's support does better from the first order than from the best of several
    # (market-1000 seed 2: 644-645 k against 639-640 k, 2 and 3 runs).
    searched = any(size > MAX_CANDIDATES for size in sizes)
    orders = GreedyOrders(instance)
    until = started + (GREEDY_SHARE * params.time_limit if searched else 0.0)
    start = greedy_start(instance, orders, deadline, until, params.workers)
    state, greedy_surplus, start_stats = start.state, start.baseline, start.stats
    if on_prices is not None and start.dual_prices is not None:
        on_prices(start.dual_prices)
    bound_total = 0
    lns_rounds = lns_improved = window_rounds = window_improved = cut_bounded = 0
    ejected = ejection_gain = windows_forked = filled = fill_gain = 0
    shifted = shift_gain = 0
    lp_stats: dict[str, object] = {}
    remaining_work = sum(sizes)
    for comp, size in zip(comps, sizes, strict=True):
        share = (deadline - time.monotonic()) * size / max(remaining_work, 1)
        remaining_work -= size
        comp_deadline = time.monotonic() + share
        comp_bound = sum(_best_margin(instance, b) for b in comp)
        if size <= WHOLE_MODEL_CANDIDATES:
            # Small enough for CP-SAT to search the whole component well: it gets all the
            # time, and proves a bound (and often optimality).
            picked, bound, _ = _solve_whole(instance, state, comp, params, share)
            state.try_move([state.by_bid[b] for b in comp if b in state.by_bid], picked)
            comp_bound = min(comp_bound, max(bound, _part_surplus(instance, state, comp)))
            bound_total += comp_bound
            continue
        if share < SET_UP_SECONDS_PER_CANDIDATE * size:
            # The start took the time (on the largest books): setting up the search alone
            # (index, ejection, the LP's rows) would overrun the limit by seconds.
            bound_total += comp_bound
            continue
        index = LegIndex.of(instance, comp)
        ejection = Ejection(instance, state, comp, index, orders)
        lock = threading.Lock()
        # While HiGHS solves the component's MIP (one core, the GIL released), ejection
        # moves improve the incumbent on the other (`_lp_start` starts them once the LP is
        # solved and tightened by cuts).
        beside = (threading.Thread(target=ejection.run, args=(comp_deadline, lock),
                                   daemon=True) if params.workers >= 2 else None)
        try:
            relaxed = CutRelaxation(instance, comp,
                                    (comp_deadline - time.monotonic()) * LP_SHARE)
            guide = _lp_start(instance, state, comp, comp_deadline, lp_stats, relaxed, lock,
                              beside)
            if guide is not None:
                cut_bound = relaxed.bound()
                lp_stats.update(cut_rounds=relaxed.rounds, cuts=relaxed.cuts,
                                cut_bound_micros=cut_bound)
                if cut_bound is not None:
                    with lock:
                        mine = _part_surplus(instance, state, comp)
                    comp_bound = min(comp_bound, max(cut_bound, mine))
                    cut_bounded += 1
        finally:
            ejection.stop.set()
            if beside is not None and beside.is_alive():
                beside.join()
            ejection.stop.clear()
        bound_total += comp_bound
        search = Search(instance, state, comp, workers=1, seed=params.seed, guide=guide,
                        index=index)
        windows_until = comp_deadline - (1 - WINDOW_SHARE) * (comp_deadline - time.monotonic())
        # With two workers or more, one thread's windows are solved in a forked process:
        # this process's GIL is left to the ejection moves (Python) beside.
        helper = (Helper.start(window_server(instance)) if params.workers >= 2 else None)
        try:
            search.run_lp(windows_until, WINDOW_CANDIDATES, WINDOW_SECONDS,
                          threads=params.workers, first=ejection.run, helper=helper)
        finally:
            if helper is not None:
                helper.close()
        windows_forked += helper is not None and not search.remote_failed
        # a last shift of every accepted bid, then the room left to the losing bids
        ejection.shift(comp_deadline)
        ejection.fill(comp_deadline)
        ejected += ejection.improved
        ejection_gain += ejection.gain
        filled += ejection.filled
        fill_gain += ejection.fill_gain
        shifted += ejection.shifted
        shift_gain += ejection.shift_gain
        search.run(comp_deadline)
        lns_rounds += search.rounds
        lns_improved += search.improved
        window_rounds += search.lp_rounds
        window_improved += search.lp_improved
    final = sorted(state.chosen)
    surplus = state.surplus
    bound = max(bound_total, surplus)
    stats: dict[str, object] = {
        "components": len(comps), "largest_component_candidates": max(sizes, default=0),
        "greedy_surplus_micros": greedy_surplus, **start_stats, "lns_rounds": lns_rounds,
        "lns_improvements": lns_improved, "window_rounds": window_rounds,
        "window_improvements": window_improved, "windows_forked": windows_forked,
        "ejection_moves": ejected,
        "ejection_gain_micros": ejection_gain, "fill_moves": filled,
        "fill_gain_micros": fill_gain, "shift_moves": shifted,
        "shift_gain_micros": shift_gain, **lp_stats,
        "searched_components": sum(size > WHOLE_MODEL_CANDIDATES for size in sizes),
        "cut_bounded_components": cut_bounded,
        "solve_seconds": round(time.monotonic() - started, 3),
    }
    # Every component's bound is proven (CP-SAT's, HiGHS's, the cut relaxation's or the sum
    # of best margins), so an allocation within the gap of their sum is optimal, searched
    # components included.
    optimal = (bound - surplus) <= RELATIVE_GAP * max(abs(bound), 1)
    return Solution(final, surplus, bound, optimal, stats, start.dual_prices)


def _lp_start(instance: Instance, state: State, comp: list[int], deadline: float,
              stats: dict[str, object], relaxed: CutRelaxation,
              lock: threading.Lock, beside: threading.Thread | None) -> LpGuide | None:
    """Solve the component's LP relaxation and move to its rounding, tighten the LP by cuts
    (`relaxed` keeps the bound), then move to HiGHS's MIP over the candidates the LP used
    (RENS); each move only if it is better (`lock` held while the incumbent is read or
    changed: ejection moves may run beside)."""
    share = deadline - time.monotonic()
    guide = relaxed.solve(share * LP_SHARE - (time.monotonic() - relaxed.started))
    if guide is None:
        return None
    rounding = round_lp(instance, guide, comp)
    with lock:
        rounded = _move_to(instance, state, comp, rounding)
        mine = sorted(state.by_bid[b] for b in comp if b in state.by_bid)
    support = {c for b in comp for c in instance.by_bid[b] if guide.x[c] > SUPPORT}
    # The cut rounds come now, before the moves beside start: their separation is Python,
    # and shares the GIL with the moves once they run (market-1000 s1 at 10 s, 3 runs each:
    # 4 rounds here, bound 915,710.94 USD, gap 1.97%; after the MIP, 2 rounds, 916,242.05,
    # 2.03-2.07%; the surplus the same).
    relaxed.tighten(time.monotonic() + share * CUT_SHARE)
    if beside is not None:
        # the MIP runs in HiGHS without the GIL: `beside` may use the other core meanwhile
        # (not during the LP: building it is Python, and a slower LP costs the MIP its time)
        beside.start()
    mip_started = time.monotonic()
    picked = solve_mip(instance, sorted(support | set(mine)), mine, share * MIP_SHARE)
    with lock:
        mip = _move_to(instance, state, comp, fitting(instance, picked))
    stats.update(lp_seconds=round(guide.seconds, 3),
                 lp_objective_micros=round(guide.objective * 1e6), lp_rounding_kept=rounded,
                 mip_seconds=round(time.monotonic() - mip_started, 3),
                 mip_candidates=len(support | set(mine)), mip_kept=mip)
    return guide


def _move_to(instance: Instance, state: State, comp: list[int], chosen: list[int]) -> bool:
    """Replace the component's placements by `chosen` (repaired) if that raises the surplus."""
    other = repaired(instance, chosen)
    current = sorted(state.by_bid[b] for b in comp if b in state.by_bid)
    target = sorted(other.by_bid[b] for b in comp if b in other.by_bid)
    return state.try_move(current, target)


def _best_margin(instance: Instance, bid: int) -> int:
    """A bid adds at most its best value less the cheapest cost of the GPUs it takes."""
    return max((instance.candidates[c].margin for c in instance.by_bid[bid]), default=0)


def _part_surplus(instance: Instance, state: State, comp: list[int]) -> int:
    """The incumbent's surplus within one component (its bids and the pools they may use)."""
    pools = {leg.pool for b in comp for c in instance.by_bid[b]
             for leg in instance.candidates[c].legs}
    value = sum(instance.candidates[state.by_bid[b]].value for b in comp if b in state.by_bid)
    return value - sum(state.pool_cost(p) for p in pools)
