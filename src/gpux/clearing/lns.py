"""Large neighbourhood search: free the bids around one pool and time, re-solve them exactly.

Two kinds of round. LP windows (`run_lp`): a few thousand candidates around one accepted
leg, solved by their LP relaxation and then HiGHS's MIP over the candidates that LP uses,
the rest fixed; the answer is made valid by `fitting` and repair. CP-SAT rounds (`run`),
which model priceability exactly: each picks a neighbourhood (the bids with a placement in
one pool around the hours of an accepted leg, the bids competing with one bid, or bids at
random), builds the CP-SAT model over those bids with every other accepted placement fixed,
starts it from the incumbent (a complete hint: placements, supply and reserve levels) and
keeps the answer only if the incumbent `State`, updated pool by pool, says the surplus
rose. The number of candidates freed adapts so that most neighbourhoods are solved to
optimality quickly.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from gpux.clearing.instance import Instance, IntArray
from gpux.clearing.lpguide import SUPPORT, LpGuide, MipRun, fitting, solve_lp
from gpux.clearing.model import SubModel, build, supply_edges
from gpux.clearing.state import State

MIN_FREE = 40
MAX_FREE = 6_000
# Share of neighbourhoods centred on a candidate the LP relaxation uses but the incumbent
# does not (when there is an LP guide).
LP_SHARE = 0.4


@dataclass(slots=True)
class LegIndex:
    """Per pool, the legs of a component's candidates: start, end and bid, as arrays."""

    start: dict[int, IntArray]
    end: dict[int, IntArray]
    bid: dict[int, IntArray]

    @classmethod
    def of(cls, instance: Instance, bids: list[int]) -> LegIndex:
        """Index every leg of every candidate of `bids` by pool."""
        rows: dict[int, list[tuple[int, int, int]]] = {}
        for b in bids:
            for c in instance.by_bid[b]:
                for leg in instance.candidates[c].legs:
                    rows.setdefault(leg.pool, []).append((leg.start, leg.end, b))
        arrays = {p: np.array(r, dtype=np.int64).reshape(-1, 3) for p, r in rows.items()}
        return cls({p: a[:, 0] for p, a in arrays.items()}, {p: a[:, 1] for p, a in arrays.items()},
                   {p: a[:, 2] for p, a in arrays.items()})

    def bids_near(self, p: int, lo: int, hi: int) -> IntArray:
        """Bids with a leg in pool `p` overlapping slots [lo, hi)."""
        if p not in self.start:
            return np.zeros(0, dtype=np.int64)
        mask = (self.start[p] < hi) & (self.end[p] > lo)
        out: IntArray = np.unique(self.bid[p][mask])
        return out


class Search:
    """Neighbourhood search over one component, improving `state` in place."""

    def __init__(self, instance: Instance, state: State, comp: list[int], workers: int,
                 seed: int, guide: LpGuide | None = None) -> None:
        self.instance = instance
        self.state = state
        self.comp = comp
        self.workers = workers
        self.seed = seed
        self.rng = random.Random(seed)
        self.index = LegIndex.of(instance, comp)
        self.edges = {p: supply_edges(instance, p) for p in self.index.start}
        self.target = 300
        self.rounds = 0
        self.improved = 0
        self.optimal_rounds = 0
        self.lp_rounds = 0
        self.lp_improved = 0
        # candidates the LP relaxation uses: neighbourhoods around those not accepted
        self.lp_support: list[int] = []
        if guide is not None:
            cands = np.array([c for b in comp for c in instance.by_bid[b]], dtype=np.int64)
            self.lp_support = cands[guide.x[cands] > SUPPORT].tolist()

    def run(self, deadline: float, round_limit: float = 0.5) -> None:
        """Solve neighbourhoods until `deadline` (a `time.monotonic()` instant)."""
        while time.monotonic() < deadline - 0.05:
            free = self._neighbourhood()
            if not free:
                continue
            limit = min(round_limit, deadline - time.monotonic())
            self.rounds += 1
            started = time.monotonic()
            optimal = self._solve(free, limit)
            took = time.monotonic() - started
            if optimal:
                self.optimal_rounds += 1
                if took < 0.4 * round_limit:
                    self.target = min(MAX_FREE, int(self.target * 1.15) + 1)
            else:
                self.target = max(MIN_FREE, int(self.target * 0.8))

    def run_lp(self, deadline: float, target: int, round_limit: float) -> None:
        """Re-solve windows of about `target` candidates by LP, then HiGHS's MIP over the
        candidates the LP uses (RENS), each with the rest of the allocation fixed.

        The window shrinks when the LP or the MIP runs out of time and grows back (never
        beyond `target`: larger windows measured worse at 10,000 bids) when the MIP is
        solved to optimality well within `round_limit`.
        """
        inst, state = self.instance, self.state
        ceiling = target
        while time.monotonic() < deadline - 0.2 * round_limit:
            free = self._window(target)
            if not free:
                continue
            free_set = set(free)
            pools = {leg.pool for b in free for c in inst.by_bid[b]
                     for leg in inst.candidates[c].legs}
            fixed = sorted({c for p in pools for c in state.chosen_at(p)
                            if inst.candidates[c].bid not in free_set})
            limit = min(round_limit, deadline - time.monotonic())
            started = time.monotonic()
            self.lp_rounds += 1
            guide = solve_lp(inst, free, limit / 2, fixed)
            if guide is None:
                target = max(MIN_FREE, int(target * 0.7))
                continue
            current = sorted(state.by_bid[b] for b in free if b in state.by_bid)
            support = {c for b in free for c in inst.by_bid[b] if guide.x[c] > SUPPORT}
            left = limit - (time.monotonic() - started)
            mip = MipRun(inst, sorted(support | set(current)), current, left, fixed)
            mip.solve()
            if mip.picked and state.try_move(current, fitting(inst, mip.picked, fixed)):
                self.lp_improved += 1
            if mip.optimal and time.monotonic() - started < 0.5 * round_limit:
                target = min(ceiling, int(target * 1.2) + 1)
            elif not mip.optimal:
                target = max(MIN_FREE, int(target * 0.8))

    def _window(self, target: int) -> list[int]:
        """Bids around one accepted leg's pool and hours, grown through the pools they may
        use until about `target` candidates."""
        chosen = sorted(self.state.by_bid.values())
        if not chosen:
            return []
        leg = self.rng.choice(self.instance.candidates[self.rng.choice(chosen)].legs)
        width = max(leg.end - leg.start, 24)
        lo, hi = leg.start - width, leg.end + width
        seen: set[int] = set()
        frontier = [leg.pool]
        visited: set[int] = set()
        size = 0
        while frontier and size < target:
            p = frontier.pop(self.rng.randrange(len(frontier)))
            if p in visited:
                continue
            visited.add(p)
            for b in self.index.bids_near(p, lo, hi).tolist():
                if b in seen:
                    continue
                seen.add(b)
                size += len(self.instance.by_bid[b])
                for c in self.instance.by_bid[b]:
                    frontier.extend(leg.pool for leg in self.instance.candidates[c].legs
                                    if leg.pool not in visited)
                if size >= target:
                    break
        return sorted(seen)

    def _neighbourhood(self) -> list[int]:
        kind = self.rng.random()
        chosen = sorted(self.state.by_bid.values()) if kind < 0.8 else []
        if chosen and self.lp_support and kind < LP_SHARE:
            missing = [c for c in self.rng.sample(self.lp_support, min(8, len(self.lp_support)))
                       if c not in self.state.chosen]
            chosen = missing or chosen
        if chosen:
            leg = self.rng.choice(self.instance.candidates[self.rng.choice(chosen)].legs)
            pad = self.rng.randint(0, max(1, leg.end - leg.start))
            near = self.index.bids_near(leg.pool, leg.start - pad, leg.end + pad).tolist()
        elif kind < 0.9:
            seed_bid = self.rng.choice(self.comp)
            near = []
            for c in self.instance.by_bid[seed_bid]:
                for leg in self.instance.candidates[c].legs:
                    near.extend(self.index.bids_near(leg.pool, leg.start, leg.end).tolist())
            near = sorted(set(near))
        else:
            near = self.rng.sample(self.comp, min(len(self.comp), 200))
        self.rng.shuffle(near)
        free: list[int] = []
        size = 0
        for b in near:
            n = len(self.instance.by_bid[b])
            if free and size + n > self.target:
                continue
            free.append(b)
            size += n
        return sorted(free)

    def _solve(self, free: list[int], limit: float) -> bool:
        inst, state = self.instance, self.state
        free_set = set(free)
        pools = {leg.pool for b in free for c in inst.by_bid[b] for leg in inst.candidates[c].legs}
        fixed = sorted({c for p in pools for c in state.chosen_at(p)
                        if inst.candidates[c].bid not in free_set})
        sub = build(inst, free, fixed, state.floors(), self.edges)
        hint_incumbent(inst, state, sub)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(limit, 0.02)
        solver.parameters.num_workers = self.workers
        solver.parameters.random_seed = self.seed + self.rounds
        status = solver.solve(sub.model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False
        picked = [c for c, v in sub.x.items() if solver.boolean_value(v)]
        current = sorted(state.by_bid[b] for b in free if b in state.by_bid)
        if sorted(picked) != current and state.try_move(current, picked):
            self.improved += 1
        return bool(status == cp_model.OPTIMAL)



def hint_incumbent(instance: Instance, state: State, sub: SubModel) -> None:
    """Hint the incumbent completely: chosen placements, cheapest supply, reserve levels."""
    m = sub.model
    for c, v in sub.x.items():
        m.add_hint(v, int(c in state.chosen))
    for seg in sub.segments:
        rows = state.supply_at(seg.pool)
        groups = instance.groups[seg.pool]
        used: list[int] = []
        for i, y in zip(seg.groups, seg.supply, strict=True):
            take = int(rows[i][seg.start])
            m.add_hint(y, take)
            if take > 0:
                used.append(groups[i].reserve)
        if seg.above_floor:
            top = max(used, default=-1)
            reserves = sorted({groups[i].reserve for i in seg.groups})
            for r, (_, u) in zip(reserves[1:], seg.above_floor, strict=True):
                m.add_hint(u, int(top >= r))
