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
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from gpux.clearing.helper import Helper, Inbox
from gpux.clearing.instance import Instance, IntArray
from gpux.clearing.lpguide import SUPPORT, LpGuide, MipRun, fitting, solve_lp
from gpux.clearing.model import SubModel, build, supply_edges
from gpux.clearing.state import State

MIN_FREE = 40
MAX_FREE = 6_000
# Share of neighbourhoods centred on a candidate the LP relaxation uses but the incumbent
# does not (when there is an LP guide).
LP_SHARE = 0.4
# Windows sent to a forked process at once: while it solves one, the next waits in its
# pipe, so it never waits for this process (whose GIL the ejection moves hold most of the
# time). An answer later than this after the search's deadline is not waited for.
IN_FLIGHT = 2
ANSWER_GRACE_SECONDS = 0.5
# A queued window with less time than this left is answered empty.
MIN_WINDOW_SECONDS = 0.05


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

    def bids_nearest(self, p: int, lo: int, hi: int, centre: int, rng: random.Random
                     ) -> IntArray:
        """Bids with a leg in pool `p` overlapping slots [lo, hi), nearest to slot `centre`
        first (by their nearest leg's middle; ties in random order)."""
        if p not in self.start:
            return np.zeros(0, dtype=np.int64)
        mask = (self.start[p] < hi) & (self.end[p] > lo)
        bids = self.bid[p][mask]
        far = np.abs(self.start[p][mask] + self.end[p][mask] - 2 * centre)
        jitter = np.random.default_rng(rng.getrandbits(32)).random(len(bids))
        order = np.lexsort((jitter, far))
        first = np.unique(bids[order], return_index=True)[1]
        out: IntArray = bids[order][np.sort(first)]
        return out


class Search:
    """Neighbourhood search over one component, improving `state` in place."""

    def __init__(self, instance: Instance, state: State, comp: list[int], workers: int,
                 seed: int, guide: LpGuide | None = None, index: LegIndex | None = None
                 ) -> None:
        self.instance = instance
        self.state = state
        self.comp = comp
        self.workers = workers
        self.seed = seed
        self.rng = random.Random(seed)
        self.index = index if index is not None else LegIndex.of(instance, comp)
        self.edges = {p: supply_edges(instance, p) for p in self.index.start}
        self.target = 300
        self.rounds = 0
        self.improved = 0
        self.optimal_rounds = 0
        self.lp_rounds = 0
        self.lp_improved = 0
        self.remote_failed = False
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

    def run_lp(self, deadline: float, target: int, round_limit: float,
               threads: int = 1,
               first: Callable[[float, threading.Lock], None] | None = None,
               helper: Helper | None = None) -> None:
        """Re-solve windows of about `target` candidates by LP, then HiGHS's MIP over the
        candidates the LP uses (RENS), each with the rest of the allocation fixed.

        With `threads` > 1 that many windows are solved at once (HiGHS releases the GIL),
        each thread with its own window size and random stream; a thread's answer is fitted
        to the allocation as it is when the answer comes (the other thread may have moved
        meanwhile), so every move kept is valid.

        `first(deadline, lock)`, if given, is other search sharing the incumbent under
        `lock`; the first thread runs it, then windows for the time it leaves.

        `helper`, a forked `window_server`, solves the second thread's windows: that
        thread then only picks them and applies their answers (if the process fails, the
        thread solves the rest itself).
        """
        lock = threading.Lock()

        def worker(k: int) -> None:
            if k == 0 and first is not None:
                first(deadline, lock)
            rng = self.rng if threads <= 1 else random.Random(self.seed * 1_000 + k)
            if k == 1 and helper is not None and not self._remote_windows(
                    deadline, target, round_limit, rng, lock, helper):
                self.remote_failed = True
            self._lp_windows(deadline, target, round_limit, rng, lock)

        if threads <= 1:
            worker(0)
            return
        workers = [threading.Thread(target=worker, args=(k,), daemon=True)
                   for k in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    def _lp_windows(self, deadline: float, target: int, round_limit: float,
                    rng: random.Random, lock: threading.Lock) -> None:
        """One thread of `run_lp`: the window shrinks when the LP or the MIP runs out of
        time and grows back (never beyond `target`: larger windows measured worse at 10,000
        bids) when the MIP is solved to optimality well within `round_limit`."""
        ceiling = target
        while time.monotonic() < deadline - 0.2 * round_limit:
            job = self._next_window(target, rng, lock, deadline, round_limit)
            if job is None:
                continue
            target = self._apply(job[0], solve_window(self.instance, *job), target, ceiling,
                                 round_limit, lock)

    def _remote_windows(self, deadline: float, target: int, round_limit: float,
                        rng: random.Random, lock: threading.Lock, helper: Helper) -> bool:
        """`_lp_windows` with the windows solved in a forked process (`window_server`),
        `IN_FLIGHT` at a time so that it never waits for this process: the GIL stays here
        for the thread beside. Returns False if the process failed to answer in time (it
        is then closed)."""
        ceiling = target
        pending: deque[list[int]] = deque()
        while True:
            while len(pending) < IN_FLIGHT and time.monotonic() < deadline - 0.2 * round_limit:
                job = self._next_window(target, rng, lock, deadline, round_limit)
                if job is not None:
                    helper.send((*job, deadline))
                    pending.append(job[0])
            if not pending:
                return True
            answer = helper.receive(deadline + ANSWER_GRACE_SECONDS)
            if answer is None:
                helper.close()
                return False
            assert isinstance(answer, WindowAnswer)
            target = self._apply(pending.popleft(), answer, target, ceiling, round_limit,
                                 lock)

    def _next_window(self, target: int, rng: random.Random, lock: threading.Lock,
                     deadline: float, round_limit: float
                     ) -> tuple[list[int], list[int], list[int], float] | None:
        """A window around one accepted leg: its bids, the accepted candidates fixed around
        it, its bids' current candidates, and its time limit (None: no window)."""
        with lock:
            free = self._window(target, rng)
            if not free:
                return None
            fixed = self._fixed_around(free)
            current = sorted(self.state.by_bid[b] for b in free if b in self.state.by_bid)
            self.lp_rounds += 1
        return free, fixed, current, min(round_limit, deadline - time.monotonic())

    def _apply(self, free: list[int], answer: WindowAnswer, target: int, ceiling: int,
               round_limit: float, lock: threading.Lock) -> int:
        """Move to a window's answer if it raises the surplus; the next window's size."""
        inst, state = self.instance, self.state
        if answer.picked:
            with lock:
                # the allocation as it is now, outside the window and inside it
                fixed = self._fixed_around(free)
                current = sorted(state.by_bid[b] for b in free if b in state.by_bid)
                if state.try_move(current, fitting(inst, answer.picked, fixed)):
                    self.lp_improved += 1
        if answer.lp_failed:
            return max(MIN_FREE, int(target * 0.7))
        if answer.optimal and answer.seconds < 0.5 * round_limit:
            return min(ceiling, int(target * 1.2) + 1)
        if not answer.optimal:
            return max(MIN_FREE, int(target * 0.8))
        return target

    def _fixed_around(self, free: list[int]) -> list[int]:
        """Accepted candidates of other bids in the pools `free`'s candidates may use."""
        inst, state = self.instance, self.state
        free_set = set(free)
        pools = {leg.pool for b in free for c in inst.by_bid[b]
                 for leg in inst.candidates[c].legs}
        return sorted({c for p in pools for c in state.chosen_at(p)
                       if inst.candidates[c].bid not in free_set})

    def _window(self, target: int, rng: random.Random) -> list[int]:
        """Bids around one accepted leg's pool and hours, grown through the pools they may
        use until about `target` candidates."""
        chosen = sorted(self.state.by_bid.values())
        if not chosen:
            return []
        leg = rng.choice(self.instance.candidates[rng.choice(chosen)].legs)
        width = max(leg.end - leg.start, 24)
        lo, hi = leg.start - width, leg.end + width
        seen: set[int] = set()
        frontier = [leg.pool]
        visited: set[int] = set()
        size = 0
        while frontier and size < target:
            p = frontier.pop(rng.randrange(len(frontier)))
            if p in visited:
                continue
            visited.add(p)
            for b in self.index.bids_nearest(p, lo, hi, (leg.start + leg.end) // 2,
                                             rng).tolist():
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
        fixed = self._fixed_around(free)
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



@dataclass(frozen=True, slots=True)
class WindowAnswer:
    """A window's MIP answer: the candidates it picked (before fitting), whether the MIP
    was solved to optimality, whether the LP failed (too big or too slow), and seconds."""

    picked: list[int]
    optimal: bool
    lp_failed: bool
    seconds: float


def solve_window(instance: Instance, free: list[int], fixed: list[int], current: list[int],
                 limit: float) -> WindowAnswer:
    """The LP over `free`'s candidates with `fixed` accepted, then HiGHS's MIP over the
    candidates that LP uses and `current` (RENS), in at most `limit` seconds."""
    started = time.monotonic()
    guide = solve_lp(instance, free, limit / 2, fixed)
    if guide is None:
        return WindowAnswer([], False, True, time.monotonic() - started)
    support = {c for b in free for c in instance.by_bid[b] if guide.x[c] > SUPPORT}
    left = limit - (time.monotonic() - started)
    mip = MipRun(instance, sorted(support | set(current)), current, left, fixed)
    mip.solve()
    return WindowAnswer(mip.picked, mip.optimal, False, time.monotonic() - started)


def window_server(instance: Instance) -> Callable[[Inbox], None]:
    """The work of a forked process solving windows (`solve_window`) as they come: each
    message (free bids, fixed and current candidates, the window's time limit and the
    search's deadline: a window queued behind another gets what is left) is answered
    with a `WindowAnswer`; None ends it. A window whose deadline has passed is answered
    empty at once."""
    def serve(inbox: Inbox) -> None:
        while True:
            job = inbox.receive()
            if job is None:
                return
            assert isinstance(job, tuple)
            free, fixed, current, limit, deadline = job
            limit = min(limit, deadline - time.monotonic())
            if limit < MIN_WINDOW_SECONDS:
                inbox.reply(WindowAnswer([], False, False, 0.0))
            else:
                inbox.reply(solve_window(instance, free, fixed, current, limit))
    return serve


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
