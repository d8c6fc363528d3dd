"""Ejection moves: accept a losing bid by pushing out the accepted bids in its way.

Greedy accepts bids by value per GPU-hour, so a big training job (hundreds of GPUs for
days, with a large surplus in all) often loses to many small jobs that took its hours
first. A window of a few thousand candidates rarely frees all of them at once. An ejection
move takes one placement of a losing bid, removes the accepted placements overlapping it
(least valuable per GPU-hour first) until it fits, accepts it, then re-places the removed
bids and the losing bids around it wherever they still fit, best first. The incumbent
`State` keeps the move only if the surplus (after its priceability repair) rises.
Losing bids are tried by margin, largest first, so the biggest possible gains come first.

Two cheap moves polish the incumbent between them (`shift`: each accepted bid to its best
placement given the rest, often cheaper supply; `fill`: each losing bid that fits the room
left as it is). On market-10000's guided start they gained 50 k in 1.9 s, more than the
ejection's first seconds; run first, though, they fill the room the top losing bids need,
so a pass runs them only after its first `POLISH_FIRST` bids.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np

from gpux.clearing.greedy import GreedyOrders, Ledger, leg_deltas
from gpux.clearing.instance import Instance, IntArray
from gpux.clearing.lns import LegIndex
from gpux.clearing.state import State

# At most this many accepted placements are pushed out for one move, and this many losing
# bids around it are offered the room left (measured on market-10000, 15 s from greedy:
# 30 gained 0.89%, 100 0.77%, none 0.84%: fewer offers, more moves tried).
MAX_EJECTED = 400
MAX_REFILL = 30
# Placements of one losing bid refilled and tried, best first (by value gained less lost).
# Measured on market-10000, the 300 losing bids of largest margin from greedy: 1 gained
# 1.32% in 10 s, 2 gained 1.39% in 19 s, 3 1.39% in 29 s.
TRIES = 1
# Victims screened at once (numpy), in order, until their sum covers the excess.
SCREEN_CHUNK = 32
# Pause between bids, so that a window thread waiting for the incumbent gets it.
YIELD_SECONDS = 0.001
# `fill` and `shift` take this many bids at a time, holding the lock.
FILL_CHUNK = 200
# A pass shifts and fills after its first `POLISH_FIRST` losing bids, then after every
# `POLISH_EVERY` more. Measured on market-10000 at 30 s (pairs, `python -m bench.pairs`):
# after every 300, against only at the end, s1 +15.2/+18.5/+14.8 k, s2 +8.3/+6.4 k; also
# before the first bid, -5.8 to -6.8 k (s1), -6.1/-9.3 k (s2): the top losing bids' moves
# need the room that filling takes; after 300 and then every 150, s1 +7.5/+0.7/-1.3 k,
# s2 -1.8/-0.1 k (kept the simpler rule).
POLISH_FIRST = 300
POLISH_EVERY = 300


def ledger_of(state: State, like: Ledger | None = None) -> Ledger:
    """A greedy ledger holding exactly the incumbent's GPUs per pool and slot."""
    inst = state.instance
    ledger = Ledger(inst, like)
    for p, ps in enumerate(state.pools):
        ledger.demand[p] = ps.demand.copy()
        for buyer, own in ps.own.items():
            ledger.own[(buyer, p)] = own.copy()
    return ledger


class Ejection:
    """Ejection moves over one component, improving `state` in place."""

    def __init__(self, instance: Instance, state: State, comp: list[int],
                 index: LegIndex | None = None, orders: GreedyOrders | None = None) -> None:
        self.instance = instance
        self.state = state
        self.comp = comp
        self.index = index if index is not None else LegIndex.of(instance, comp)
        self.tried = 0
        self.improved = 0
        self.gain = 0
        self.filled = 0
        self.fill_gain = 0
        self.shifted = 0
        self.shift_gain = 0
        self.tables = Ledger(instance)
        # set by another thread to end `run` early (after the bid being tried)
        self.stop = threading.Event()
        # every candidate's margin per GPU-hour (a list: its `__getitem__` is a C sort key)
        self._density = (orders if orders is not None else GreedyOrders(instance)).density()
        # per bid, computed when first needed (most are never looked at)
        self._bid_density: dict[int, float] = {}

    def density(self, c: int) -> float:
        """A candidate's margin per GPU-hour."""
        return self._density[c]

    def by_density(self, cands: set[int]) -> list[int]:
        """`cands` least margin per GPU-hour first (ties: lower number first)."""
        ordered = sorted(cands)
        ordered.sort(key=self._density.__getitem__)
        return ordered

    def bid_density(self, b: int) -> float:
        """The best margin per GPU-hour of a bid's candidates."""
        found = self._bid_density.get(b)
        if found is None:
            found = self._bid_density[b] = max(self.density(c)
                                               for c in self.instance.by_bid[b])
        return found

    def run(self, deadline: float, lock: threading.Lock | None = None) -> None:
        """Passes over the losing bids until `deadline`, or until a pass gains nothing.

        `lock` is held while a bid is tried (the window search may share the incumbent)."""
        guard = lock if lock is not None else threading.Lock()
        while time.monotonic() < deadline and not self.stop.is_set():
            improved = self.improved
            self._pass(deadline, guard)
            if self.improved == improved:
                return

    def fill(self, deadline: float, lock: threading.Lock | None = None) -> None:
        """Accept each losing bid whose best placement fits the capacity left as it is and
        raises the surplus (after repair), largest margin per GPU-hour first, until
        `deadline`. Windows' answers, fitted to an allocation that moved meanwhile, and
        ejection moves leave such room: on market-10000 after 30 s, 198 small bids
        (+3,981 USD) fitted into it."""
        inst, state = self.instance, self.state
        guard = lock if lock is not None else threading.Lock()
        with guard:
            losing = [b for b in self.comp if b not in state.by_bid and inst.by_bid[b]]
        losing.sort(key=lambda b: -self.bid_density(b))
        for chunk in self._chunks(losing, deadline, guard):
            ledger = ledger_of(state, self.tables)
            for b in chunk:
                if b in state.by_bid:
                    continue
                best = ledger.best_of_bid(b)
                if best is None:
                    continue
                before, size = state.surplus, len(state.chosen)
                if not state.try_move([], [best]):
                    continue
                self.filled += 1
                self.fill_gain += state.surplus - before
                if len(state.chosen) == size + 1:
                    ledger.add(best)
                else:  # the repair dropped placements
                    ledger = ledger_of(state, self.tables)

    def shift(self, deadline: float, lock: threading.Lock | None = None) -> None:
        """Move each accepted bid to its best placement given the rest (often cheaper
        supply elsewhere), where that raises the surplus (after repair), least margin per
        GPU-hour first, until `deadline`."""
        state = self.state
        guard = lock if lock is not None else threading.Lock()
        with guard:
            accepted = sorted(state.by_bid, key=self.bid_density)
        for chunk in self._chunks(accepted, deadline, guard):
            ledger = ledger_of(state, self.tables)
            for b in chunk:
                c = state.by_bid.get(b)
                if c is None:
                    continue
                ledger.add(c, -1)
                best = ledger.best_of_bid(b)
                if best is None or best == c:
                    ledger.add(c)
                    continue
                before, size = state.surplus, len(state.chosen)
                if not state.try_move([c], [best]):
                    ledger.add(c)
                    continue
                self.shifted += 1
                self.shift_gain += state.surplus - before
                if len(state.chosen) == size:
                    ledger.add(best)
                else:  # the repair dropped placements
                    ledger = ledger_of(state, self.tables)

    def _chunks(self, bids: list[int], deadline: float, guard: threading.Lock
                ) -> Iterator[list[int]]:
        """`bids` in chunks of `FILL_CHUNK`, each handed out with `guard` held, until
        `deadline` or a stop; a pause after each lets a window thread take the lock."""
        for first in range(0, len(bids), FILL_CHUNK):
            if time.monotonic() >= deadline or self.stop.is_set():
                return
            with guard:
                yield bids[first:first + FILL_CHUNK]
            time.sleep(YIELD_SECONDS)

    def _pass(self, deadline: float, lock: threading.Lock) -> None:
        """Try each losing bid, largest margin first. Each placement of a bid is first only
        ejected for (cheap); the `TRIES` whose value less the ejected placements' values is
        highest are then refilled and tried."""
        inst, state = self.instance, self.state
        with lock:
            losing = [b for b in self.comp if b not in state.by_bid and inst.by_bid[b]]
        losing.sort(key=lambda b: -max(inst.candidates[c].margin for c in inst.by_bid[b]))
        for k, b in enumerate(losing):
            if time.monotonic() >= deadline or self.stop.is_set():
                return
            if k >= POLISH_FIRST and (k - POLISH_FIRST) % POLISH_EVERY == 0:
                self.shift(deadline, lock)
                self.fill(deadline, lock)
            with lock:
                self._try_bid(b, deadline)
            # Python's lock is not fair: let a window thread waiting for it take it
            time.sleep(YIELD_SECONDS)

    def _try_bid(self, b: int, deadline: float) -> None:
        inst, state = self.instance, self.state
        if b in state.by_bid:
            return
        tables: dict[int, tuple[list[int], IntArray, IntArray, IntArray]] = {}
        scored = []
        for c in inst.by_bid[b]:
            ejected = self._screen(c, tables)
            if ejected is not None:
                score = inst.candidates[c].value - sum(inst.candidates[v].value
                                                       for v in ejected)
                scored.append((score, c, ejected))
        scored.sort(key=lambda t: -t[0])
        for _, c, ejected in scored[:TRIES]:
            if time.monotonic() >= deadline:
                return
            made = self._eject(c, ejected)
            if made is None:
                continue
            self.tried += 1
            before = state.surplus
            if self._refill(c, *made):
                self.improved += 1
                self.gain += state.surplus - before
                return

    def _screen(self, c: int, tables: dict[int, tuple[list[int], IntArray, IntArray, IntArray]]
                ) -> list[int] | None:
        """The accepted placements to push out so that `c` fits its pools' capacity, least
        valuable per GPU-hour first (None: more than `MAX_EJECTED`). Counts GPUs only:
        `_eject` then checks the rest (no self-trade) on a ledger."""
        inst, state = self.instance, self.state
        over: dict[int, tuple[int, int, IntArray]] = {}
        for p, lo, hi, add in leg_deltas(inst.candidates[c].legs):
            excess = state.pools[p].demand[lo:hi] + add - inst.cap[p][lo:hi]
            if (excess > 0).any():
                over[p] = (lo, hi, excess)
        if not over:
            return []
        near: set[int] = set()
        for p, (lo, hi, _) in over.items():
            if p not in tables:
                tables[p] = self._table(p)
            cands, start, end, _gpus = tables[p]
            near.update(cands[i] for i in np.flatnonzero((start < hi) & (end > lo)).tolist())
        # The GPUs each victim frees over the slots in excess (all pools side by side), in
        # chunks: the first prefix whose running sum covers every excess is pushed out.
        offset, at = {}, 0
        for p, (lo, hi, _) in over.items():
            offset[p] = at
            at += hi - lo
        need = np.concatenate([excess for _, _, excess in over.values()])
        victims = self.by_density(near)[:MAX_EJECTED]
        freed = np.zeros(len(need), dtype=np.int64)
        for first in range(0, len(victims), SCREEN_CHUNK):
            chunk = victims[first:first + SCREEN_CHUNK]
            rows = np.zeros((len(chunk), len(need)), dtype=np.int64)
            for i, v in enumerate(chunk):
                for leg in inst.candidates[v].legs:
                    if leg.pool in over:
                        lo, hi, _ = over[leg.pool]
                        a, z = max(lo, leg.start), min(hi, leg.end)
                        if a < z:
                            base = offset[leg.pool] - lo
                            rows[i, base + a:base + z] += leg.gpus
            running = np.cumsum(rows, axis=0) + freed
            covered = (running >= need).all(axis=1)
            if covered.any():
                return victims[:first + int(covered.argmax()) + 1]
            freed = running[-1]
        return None

    def _table(self, p: int) -> tuple[list[int], IntArray, IntArray, IntArray]:
        """The accepted legs in pool `p`: their candidates, starts, ends and GPUs."""
        inst = self.instance
        rows = [(v, leg.start, leg.end, leg.gpus) for v in self.state.chosen_at(p)
                for leg in inst.candidates[v].legs if leg.pool == p]
        a = np.array([r[1:] for r in rows], dtype=np.int64).reshape(-1, 3)
        return [r[0] for r in rows], a[:, 0], a[:, 1], a[:, 2]

    def _eject(self, c: int, screened: list[int]) -> tuple[Ledger, list[int]] | None:
        """A ledger of the incumbent less the placements pushed out to fit `c`, and those:
        the screened ones, then more (least valuable per GPU-hour first) while `c` still
        does not fit (self-trade rules)."""
        inst, state = self.instance, self.state
        ledger = ledger_of(state, self.tables)
        for v in screened:
            ledger.add(v, -1)
        if ledger.extra_cost(c) is not None:
            return ledger, screened
        cand = inst.candidates[c]
        gone = set(screened)
        victims = {v for leg in cand.legs for v in state.chosen_at(leg.pool)
                   if v not in gone}
        ejected = list(screened)
        for v in self.by_density(victims):
            if len(ejected) >= MAX_EJECTED:
                return None
            ledger.add(v, -1)
            ejected.append(v)
            if ledger.extra_cost(c) is not None:
                return ledger, ejected
        return None

    def _refill(self, c: int, ledger: Ledger, ejected: list[int]) -> bool:
        """Accept `c`, re-place the ejected bids and the losing bids around it, best
        first, and keep it all if the incumbent's surplus rises."""
        inst, state = self.instance, self.state
        cand = inst.candidates[c]
        ledger.add(c)
        added = [c]
        refill = [inst.candidates[v].bid for v in ejected]
        near: set[int] = set()
        for leg in cand.legs:
            near.update(self.index.bids_near(leg.pool, leg.start - 24, leg.end + 24).tolist())
        skip = set(state.by_bid) | {cand.bid}
        others = [b for b in near if b not in skip]
        others.sort(key=lambda b: -self.bid_density(b))
        for b in refill + others[:MAX_REFILL]:
            best = ledger.best_of_bid(b)
            if best is not None:
                ledger.add(best)
                added.append(best)
        return state.try_move(ejected, added)
