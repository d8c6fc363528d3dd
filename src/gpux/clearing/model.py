"""CP-SAT model of winner determination over a set of free bids, the rest held fixed.

prepared instance -> segments -> variables -> one function per constraint family ->
objective. A segment is a run of slots of one pool over which nothing changes (no leg or
ask begins or ends inside it), so one set of supply variables serves all its slots.
With every bid free this is the whole problem; with a few free it is one neighbourhood of
the large neighbourhood search.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from gpux.clearing.instance import Instance, IntArray


@dataclass(slots=True)
class Segment:
    """Slots [start, end) of one pool, with its supply variables."""

    pool: int
    start: int
    end: int
    fixed_demand: int
    groups: list[int]
    supply: list[cp_model.IntVar]
    free: list[tuple[int, int]] = field(default_factory=list)  # (candidate, gpus)
    above_floor: list[tuple[int, cp_model.IntVar]] = field(default_factory=list)


@dataclass(slots=True)
class SubModel:
    """A built model with the handles needed to read a solution back."""

    model: cp_model.CpModel
    x: dict[int, cp_model.IntVar]
    segments: list[Segment]


def _segments(instance: Instance, free: list[int], fixed: list[int],
              edges: dict[int, frozenset[int]] | None) -> list[tuple[int, int, int]]:
    touched: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for c in free:
        for leg in instance.candidates[c].legs:
            touched[leg.pool].append((leg.start, leg.end))
    fixed_cuts: dict[int, set[int]] = defaultdict(set)
    for c in fixed:
        for leg in instance.candidates[c].legs:
            if leg.pool in touched:
                fixed_cuts[leg.pool].update((leg.start, leg.end))
    out: list[tuple[int, int, int]] = []
    for p, spans in touched.items():
        cuts = {s for span in spans for s in span} | fixed_cuts[p] | (
            edges[p] if edges is not None else supply_edges(instance, p))
        covered = np.zeros(instance.slots + 1, dtype=np.int64)
        for s, e in spans:
            covered[s] += 1
            covered[e] -= 1
        inside = np.cumsum(covered) > 0
        points = sorted(cuts)
        out.extend((p, a, b) for a, b in itertools.pairwise(points) if inside[a])
    return out


def supply_edges(instance: Instance, p: int) -> frozenset[int]:
    """Slots where some supply group of pool `p` changes its capacity."""
    edges: set[int] = set()
    for g in instance.groups[p]:
        found = np.flatnonzero(np.diff(np.concatenate(([0], g.cap, [0]))))
        edges.update(int(e) for e in found)
    return frozenset(edges)


def build(instance: Instance, free_bids: list[int], fixed: list[int],
          floors: list[IntArray], edges: dict[int, frozenset[int]] | None = None) -> SubModel:
    """Build the model: free bids choose among their candidates; `fixed` stay accepted.

    `edges`, if given, holds `supply_edges` of every pool, computed once by the caller.
    """
    m = cp_model.CpModel()
    free = [c for b in free_bids for c in instance.by_bid[b]]
    x = {c: m.new_bool_var(f"x{c}") for c in free}
    for b in free_bids:
        if len(instance.by_bid[b]) > 1:
            m.add_at_most_one(x[c] for c in instance.by_bid[b])
    segments = _make_segments(m, instance, free, fixed, edges)
    _add_balance(m, instance, segments, x)
    _add_no_self_trade(m, instance, segments, fixed, x)
    _add_priceability(m, instance, segments, free, fixed, x, floors)
    _set_objective(m, instance, segments, x)
    return SubModel(m, x, segments)


def _make_segments(m: cp_model.CpModel, instance: Instance, free: list[int],
                   fixed: list[int], edges: dict[int, frozenset[int]] | None
                   ) -> list[Segment]:
    segs = []
    index: dict[int, list[Segment]] = defaultdict(list)
    for p, a, b in _segments(instance, free, fixed, edges):
        groups = [i for i, g in enumerate(instance.groups[p]) if g.cap[a] > 0]
        supply = [m.new_int_var(0, int(instance.groups[p][i].cap[a]), f"y{p}_{a}_{i}")
                  for i in groups]
        seg = Segment(p, a, b, 0, groups, supply)
        segs.append(seg)
        index[p].append(seg)
    for p in index:
        index[p].sort(key=lambda s: s.start)
    starts = {p: [s.start for s in lst] for p, lst in index.items()}

    def overlapping(p: int, lo: int, hi: int) -> list[Segment]:
        lst = index.get(p, [])
        i = int(np.searchsorted(starts[p], lo, side="right")) - 1 if lst else 0
        out = []
        for seg in lst[max(i, 0):]:
            if seg.start >= hi:
                break
            if seg.end > lo:
                out.append(seg)
        return out

    for c in free:
        for leg in instance.candidates[c].legs:
            for seg in overlapping(leg.pool, leg.start, leg.end):
                seg.free.append((c, leg.gpus))
    for c in fixed:
        for leg in instance.candidates[c].legs:
            for seg in overlapping(leg.pool, leg.start, leg.end):
                seg.fixed_demand += leg.gpus
    return segs


def _add_balance(m: cp_model.CpModel, instance: Instance, segs: list[Segment],
                 x: dict[int, cp_model.IntVar]) -> None:
    for seg in segs:
        m.add(sum(seg.supply) == seg.fixed_demand + sum(g * x[c] for c, g in seg.free))


def _add_no_self_trade(m: cp_model.CpModel, instance: Instance, segs: list[Segment],
                       fixed: list[int], x: dict[int, cp_model.IntVar]) -> None:
    fixed_by_pool: dict[int, list[int]] = defaultdict(list)
    for c in fixed:
        for leg in instance.candidates[c].legs:
            fixed_by_pool[leg.pool].append(c)
    for seg in segs:
        sellers = instance.sellers_by_pool[seg.pool]
        if not sellers:
            continue
        for seller in sellers:
            mine = [(c, g) for c, g in seg.free if instance.buyer(instance.candidates[c].bid)
                    == seller]
            held = sum(leg.gpus for c in fixed_by_pool[seg.pool]
                       if instance.buyer(instance.candidates[c].bid) == seller
                       for leg in instance.candidates[c].legs
                       if leg.pool == seg.pool and leg.start <= seg.start < leg.end)
            if not mine and not held:
                continue
            others = [y for i, y in zip(seg.groups, seg.supply, strict=True)
                      if instance.groups[seg.pool][i].seller != seller]
            m.add(held + sum(g * x[c] for c, g in mine) <= sum(others))


def _levels(m: cp_model.CpModel, instance: Instance, seg: Segment) -> None:
    """Indicators u_j = 'supply at reserve level j or above is used' for levels above the first."""
    if seg.above_floor or len(seg.groups) < 2:
        return
    reserves = sorted({instance.groups[seg.pool][i].reserve for i in seg.groups})
    u = {r: m.new_bool_var(f"u{seg.pool}_{seg.start}_{r}") for r in reserves[1:]}
    for i, y in zip(seg.groups, seg.supply, strict=True):
        g = instance.groups[seg.pool][i]
        if g.reserve in u:
            m.add(y <= int(g.cap[seg.start]) * u[g.reserve])
    for lo, hi in itertools.pairwise(reserves[1:]):
        m.add_implication(u[hi], u[lo])
    seg.above_floor = [(hi - lo, u[hi]) for lo, hi in itertools.pairwise(reserves)]


def _add_priceability(m: cp_model.CpModel, instance: Instance, segs: list[Segment],
                      free: list[int], fixed: list[int], x: dict[int, cp_model.IntVar],
                      floors: list[IntArray]) -> None:
    """An accepted placement must afford the dearest reserve supplying each of its slots."""
    by_pool: dict[int, list[Segment]] = defaultdict(list)
    for seg in segs:
        by_pool[seg.pool].append(seg)

    def above_floor_cost(c: int) -> tuple[list[tuple[int, cp_model.IntVar]], int]:
        terms: list[tuple[int, cp_model.IntVar]] = []
        outside = 0
        for leg in instance.candidates[c].legs:
            inside = np.zeros(instance.slots, dtype=bool)
            for seg in by_pool[leg.pool]:
                lo, hi = max(seg.start, leg.start), min(seg.end, leg.end)
                if lo >= hi:
                    continue
                inside[lo:hi] = True
                _levels(m, instance, seg)
                terms.extend((leg.gpus * (hi - lo) * d, u) for d, u in seg.above_floor)
            rest = ~inside[leg.start:leg.end]
            outside += leg.gpus * int((floors[leg.pool][leg.start:leg.end][rest]
                                       - instance.cheapest[leg.pool][leg.start:leg.end][rest]
                                       ).clip(min=0).sum())
        return terms, outside

    for c in free:
        cand = instance.candidates[c]
        if cand.ceiling_cost <= cand.value:
            continue
        terms, outside = above_floor_cost(c)
        if terms:
            m.add(sum(k * u for k, u in terms) <= cand.margin - outside).only_enforce_if(x[c])
    for c in fixed:
        cand = instance.candidates[c]
        if cand.ceiling_cost <= cand.value:
            continue
        touches = any(by_pool.get(leg.pool) for leg in cand.legs)
        if touches:
            terms, outside = above_floor_cost(c)
            if terms:
                m.add(sum(k * u for k, u in terms) <= cand.margin - outside)


def _set_objective(m: cp_model.CpModel, instance: Instance, segs: list[Segment],
                   x: dict[int, cp_model.IntVar]) -> None:
    value = [(instance.candidates[c].value, v) for c, v in x.items()]
    cost = [((seg.end - seg.start) * instance.groups[seg.pool][i].reserve, y)
            for seg in segs for i, y in zip(seg.groups, seg.supply, strict=True)]
    m.maximize(sum(k * v for k, v in value) - sum(k * y for k, y in cost))
