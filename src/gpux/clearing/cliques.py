"""Clique cuts from the conflicts between candidates, for the cut relaxation.

Two candidates conflict when they belong to one bid (at most one is accepted) or when, in
some pool segment both use, their GPUs together exceed everything offered there. Any set
of pairwise conflicting candidates holds at most one accepted, so sum x <= 1 over it is
valid for every allocation. The LP relaxation breaks these across its rows: half of a
64-GPU job at one start, half at the next, each beside half of another job. Cliques are
grown greedily, heaviest LP value first, over the candidates the LP uses.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
# Only cliques whose LP values sum above 1 by more than this are cuts worth adding.
MIN_EXCESS = 1e-3
# Candidates at LP values above this take part in the separation.
SUPPORT = 1e-6
# At most this many cuts per round (the heaviest first).
MAX_CUTS = 2_000


def conflicts(x: FloatArray, col: IntArray, row: IntArray, gpus: IntArray, cap: IntArray,
              bid: IntArray) -> dict[int, set[int]]:
    """For each candidate the LP uses, the used candidates it conflicts with."""
    used = x[col] > SUPPORT
    col, row, gpus = col[used], row[used], gpus[used]
    order = np.lexsort((-gpus, row))
    col, row, gpus = col[order], row[order], gpus[order]
    bounds = np.searchsorted(row, np.arange(len(cap) + 1))
    out: dict[int, set[int]] = {int(c): set() for c in np.flatnonzero(x > SUPPORT)}
    for r in np.unique(row).tolist():
        lo, hi = int(bounds[r]), int(bounds[r + 1])
        g, cs, limit = gpus[lo:hi].tolist(), col[lo:hi].tolist(), int(cap[r])
        for i in range(len(g)):
            if g[i] + g[i] <= limit and (i + 1 >= len(g) or g[i] + g[i + 1] <= limit):
                break  # sorted by GPUs: no pair from here on overflows
            for j in range(i + 1, len(g)):
                if g[i] + g[j] <= limit:
                    break
                out[cs[i]].add(cs[j])
                out[cs[j]].add(cs[i])
    by_bid: dict[int, list[int]] = {}
    for c in out:
        by_bid.setdefault(int(bid[c]), []).append(c)
    for same in by_bid.values():
        for c in same:
            out[c].update(d for d in same if d != c)
    return out


class ConflictIndex:
    """Every candidate's conflicts, found on demand, to lift cliques beyond the LP's support."""

    def __init__(self, col: IntArray, row: IntArray, gpus: IntArray, cap: IntArray,
                 bid: IntArray) -> None:
        order = np.lexsort((-gpus, row))
        self.col, self.row, self.gpus = col[order], row[order], gpus[order]
        self.bounds = np.searchsorted(self.row, np.arange(len(cap) + 1))
        self.cap = cap
        by_col = np.argsort(col, kind="stable")
        self.col_rows, self.col_gpus = row[by_col], gpus[by_col]
        self.col_bounds = np.searchsorted(col[by_col], np.arange(len(bid) + 1))
        bid_order = np.argsort(bid, kind="stable")
        self.bid_order = bid_order
        self.bid_bounds = np.searchsorted(bid[bid_order], np.arange(int(bid.max()) + 2))
        self.bid = bid
        self._known: dict[int, set[int]] = {}

    def of(self, c: int) -> set[int]:
        """The candidates that conflict with `c`."""
        known = self._known.get(c)
        if known is None:
            known = self._known[c] = self._find(c)
        return known

    def _find(self, c: int) -> set[int]:
        out: set[int] = set()
        lo, hi = int(self.col_bounds[c]), int(self.col_bounds[c + 1])
        for r, g in zip(self.col_rows[lo:hi].tolist(), self.col_gpus[lo:hi].tolist(),
                        strict=True):
            a, b = int(self.bounds[r]), int(self.bounds[r + 1])
            # a row's entries run by GPUs, most first: those that overflow with c lead
            over = int(np.searchsorted(-self.gpus[a:b], -(int(self.cap[r]) - g), side="left"))
            out.update(self.col[a:a + over].tolist())
        b = int(self.bid[c])
        out.update(self.bid_order[self.bid_bounds[b]:self.bid_bounds[b + 1]].tolist())
        out.discard(c)
        return out


def clique_cuts(x: FloatArray, col: IntArray, row: IntArray, gpus: IntArray, cap: IntArray,
                bid: IntArray, index: ConflictIndex | None = None
                ) -> list[tuple[IntArray, IntArray, int]]:
    """Violated clique inequalities `sum x <= 1` as (columns, coefficients, 1), lifted with
    every candidate that conflicts with the whole clique when `index` is given."""
    adjacent = conflicts(x, col, row, gpus, cap, bid)
    seen: set[tuple[int, ...]] = set()
    found: list[tuple[float, tuple[int, ...]]] = []
    for seed in sorted(adjacent, key=lambda c: -x[c]):
        clique = [seed]
        common = set(adjacent[seed])
        while common:
            nxt = max(common, key=lambda c: (x[c], -c))
            clique.append(nxt)
            common &= adjacent[nxt]
        weight = float(x[clique].sum())
        key = tuple(sorted(clique))
        if weight > 1 + MIN_EXCESS and key not in seen and _not_one_bid(key, bid):
            seen.add(key)
            found.append((weight, key))
    found.sort(key=lambda f: -f[0])
    cuts = []
    for _, key in found[:MAX_CUTS]:
        members = list(key)
        if index is not None:
            common = set(index.of(members[0]))
            for m in members[1:]:
                common &= index.of(m)
            # grow by conflicting candidates, each kept only if it conflicts with all so far
            for c in sorted(common - set(members)):
                if all(c in index.of(m) for m in members[len(key):]):
                    members.append(c)
        cuts.append((np.array(sorted(members), dtype=np.int64),
                     np.ones(len(members), dtype=np.int64), 1))
    return cuts


def _not_one_bid(clique: tuple[int, ...], bid: IntArray) -> bool:
    """Whether the clique spans bids (one bid's own row already says as much)."""
    return len({int(bid[c]) for c in clique}) > 1
