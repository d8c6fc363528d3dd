"""The naive winner-determination model, solver-neutral: full enumeration, one row per slot.

This is the textbook formulation the benchmarks hold gpux against. Columns are one boolean
per bid x alternative x start x pool-per-leg (only placements that cannot fit an empty
market are skipped: no pruning by value, no cap on pool combinations), then one integer per
ask and slot for the GPUs it supplies. Rows: per (pool, slot) that some placement touches,
GPUs supplied equal GPUs used; per reseller, pool and slot, the GPUs its own bids take at
most what other sellers' asks supply (the spec's no-self-trade rule, a validity condition);
at most one placement per bid. The objective is values less reserve costs, in micros.

What the naive model does not have, and gpux's does: the priceability rows (every accepted
bid must afford the dearest reserve supplying its slots), segments instead of slots, and
pruning. `bench.baselines` builds CP-SAT and HiGHS models from this one.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from gpux.domain.book import Book
from gpux.domain.money import to_micros

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(slots=True)
class NaiveModel:
    """Columns [x (placements) | y (ask supply per slot)] and rows in compressed form."""

    book: Book
    # placements (x columns)
    bid: IntArray
    alt: IntArray
    start: IntArray
    pools: list[tuple[int, ...]]
    value: IntArray
    # supply (y columns)
    y_ask: IntArray
    y_slot: IntArray
    y_cap: IntArray
    y_cost: IntArray
    # linear rows over all columns, CSR; lower/upper bounds per row
    row_start: IntArray
    row_col: IntArray
    row_coef: IntArray
    row_lo: IntArray
    row_hi: IntArray
    at_most_one: list[IntArray]
    stats: dict[str, object] = field(default_factory=dict)

    @property
    def n_x(self) -> int:
        """Number of placement columns."""
        return len(self.bid)

    @property
    def n_y(self) -> int:
        """Number of supply columns."""
        return len(self.y_ask)

    @property
    def nnz(self) -> int:
        """Nonzeros in the linear rows."""
        return len(self.row_col)


def _window_ok(cap: IntArray, gpus: int, duration: int) -> BoolArray:
    short = np.concatenate(([0], np.cumsum(cap < gpus)))
    ok: BoolArray = (short[duration:] - short[:-duration]) == 0
    return ok


@dataclass(slots=True)
class _Placements:
    bid: list[IntArray] = field(default_factory=list)
    alt: list[IntArray] = field(default_factory=list)
    start: list[IntArray] = field(default_factory=list)
    value: list[IntArray] = field(default_factory=list)
    pools: list[tuple[int, ...]] = field(default_factory=list)
    rows: list[IntArray] = field(default_factory=list)  # pool * slots + slot
    cols: list[IntArray] = field(default_factory=list)
    gpus: list[IntArray] = field(default_factory=list)
    count: int = 0


def _enumerate(book: Book, cap: IntArray) -> _Placements:
    slots = book.slots
    out = _Placements()
    matching: dict[object, list[int]] = {}
    ok_cache: dict[tuple[int, int, int], BoolArray] = {}
    for b, bid in enumerate(book.bids):
        for k, alt in enumerate(bid.alternatives):
            starts = np.arange(alt.earliest_start, alt.latest_end - alt.span + 1)
            options: list[list[tuple[int, BoolArray]]] = []
            for leg in alt.legs:
                key = (leg.gpu, leg.regions, leg.min_uptime, leg.pools)
                if key not in matching:
                    matching[key] = [p for p, pool in enumerate(book.pools) if leg.matches(pool)]
                opts = []
                for p in matching[key]:
                    ck = (p, leg.gpus, leg.duration)
                    if ck not in ok_cache:
                        ok_cache[ck] = _window_ok(cap[p], leg.gpus, leg.duration)
                    ok = ok_cache[ck][starts + leg.offset]
                    if ok.any():
                        opts.append((p, ok))
                options.append(opts)
            for combo in itertools.product(*options):
                fits = np.logical_and.reduce([o[1] for o in combo])
                placed = starts[fits]
                n = len(placed)
                if n == 0:
                    continue
                cols = np.arange(out.count, out.count + n)
                out.bid.append(np.full(n, b))
                out.alt.append(np.full(n, k))
                out.start.append(placed)
                out.value.append(np.full(n, to_micros(alt.value)))
                pools = tuple(o[0] for o in combo)
                out.pools.extend([pools] * n)
                for (p, _), leg in zip(combo, alt.legs, strict=True):
                    ts = placed[:, None] + leg.offset + np.arange(leg.duration)[None, :]
                    out.rows.append((p * slots + ts).ravel())
                    out.cols.append(np.repeat(cols, leg.duration))
                    out.gpus.append(np.full(n * leg.duration, leg.gpus))
                out.count += n
    return out


def _cat(parts: list[IntArray]) -> IntArray:
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def build_naive(book: Book) -> NaiveModel:
    """Enumerate every placement that fits an empty market and lay out the naive model."""
    started = time.monotonic()
    slots, n_pools = book.slots, len(book.pools)
    pool_index = {p.id: i for i, p in enumerate(book.pools)}
    cap = np.zeros((n_pools, slots), dtype=np.int64)
    for ask in book.asks:
        cap[pool_index[ask.pool], ask.start:ask.end] += ask.gpus
    pl = _enumerate(book, cap)
    n_x = pl.count
    bid, alt, start, value = _cat(pl.bid), _cat(pl.alt), _cat(pl.start), _cat(pl.value)
    # demand entries, merged where two legs of one placement share a pool and slot
    rows, cols, gpus = _cat(pl.rows), _cat(pl.cols), _cat(pl.gpus)
    del pl.rows, pl.cols, pl.gpus
    key = rows * max(n_x, 1) + cols
    del rows, cols
    key, inverse = np.unique(key, return_inverse=True)
    gpus = np.bincount(inverse, weights=gpus).astype(np.int64)
    del inverse
    d_cell, d_col = key // max(n_x, 1), key % max(n_x, 1)
    del key
    used_cells = np.unique(d_cell)
    rank = np.full(n_pools * slots, -1, dtype=np.int64)
    rank[used_cells] = np.arange(len(used_cells))
    # supply columns: one per ask and used slot of its pool
    y_ask_l, y_slot_l, y_cap_l, y_cost_l = [], [], [], []
    for i, ask in enumerate(book.asks):
        p = pool_index[ask.pool]
        ts = np.arange(ask.start, ask.end)
        ts = ts[rank[p * slots + ts] >= 0]
        y_ask_l.append(np.full(len(ts), i))
        y_slot_l.append(ts)
        y_cap_l.append(np.full(len(ts), ask.gpus))
        y_cost_l.append(np.full(len(ts), to_micros(ask.price)))
    y_ask, y_slot, y_cap, y_cost = _cat(y_ask_l), _cat(y_slot_l), _cat(y_cap_l), _cat(y_cost_l)
    y_pool = np.array([pool_index[book.asks[i].pool] for i in y_ask.tolist()], dtype=np.int64)
    y_cell = y_pool * slots + y_slot
    n_bal = len(used_cells)
    # balance rows: sum y - sum g x == 0
    r_row = [rank[d_cell], rank[y_cell]]
    r_col = [d_col, n_x + np.arange(len(y_ask))]
    r_coef = [-gpus, np.ones(len(y_ask), dtype=np.int64)]
    row_lo = [np.zeros(n_bal, dtype=np.int64)]
    row_hi = [np.zeros(n_bal, dtype=np.int64)]
    # no-self-trade rows: own bids' GPUs - other sellers' supply <= 0
    buyers = sorted({b.buyer for b in book.bids})
    buyer_code = {name: i for i, name in enumerate(buyers)}
    x_buyer = np.array([buyer_code[b.buyer] for b in book.bids], dtype=np.int64)[bid]
    y_seller = np.array([buyer_code.get(book.asks[i].seller, -1) for i in y_ask.tolist()],
                        dtype=np.int64)
    resellers = {(buyer_code[a.seller], pool_index[a.pool]) for a in book.asks
                 if a.seller in buyer_code}
    next_row = n_bal
    d_pool = d_cell // slots
    for s, p in sorted(resellers):
        mine = (x_buyer[d_col] == s) & (d_pool == p)
        if not mine.any():
            continue
        cells = np.unique(d_cell[mine])
        local = np.full(n_pools * slots, -1, dtype=np.int64)
        local[cells] = np.arange(next_row, next_row + len(cells))
        others = (y_pool == p) & (y_seller != s) & (local[y_cell] >= 0)
        r_row += [local[d_cell[mine]], local[y_cell[others]]]
        r_col += [d_col[mine], n_x + np.flatnonzero(others)]
        r_coef += [gpus[mine], -np.ones(int(others.sum()), dtype=np.int64)]
        lo = np.zeros(len(cells), dtype=np.int64)
        np.subtract.at(lo, local[y_cell[others]] - next_row, y_cap[others])
        row_lo.append(lo)
        row_hi.append(np.zeros(len(cells), dtype=np.int64))
        next_row += len(cells)
    all_row = _cat(r_row)
    order = np.argsort(all_row, kind="stable")
    row_col, row_coef = _cat(r_col)[order], _cat(r_coef)[order]
    counts = np.bincount(all_row, minlength=next_row)
    row_start = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    by_bid = np.split(np.arange(n_x), np.flatnonzero(np.diff(bid)) + 1) if n_x else []
    at_most_one = [g for g in by_bid if len(g) > 1]
    stats: dict[str, object] = {
        "placements": n_x, "supply_columns": len(y_ask), "balance_rows": n_bal,
        "self_trade_rows": next_row - n_bal, "nonzeros": len(row_col),
        "enumerate_seconds": round(time.monotonic() - started, 3),
    }
    return NaiveModel(book, bid, alt, start, pl.pools, value, y_ask, y_slot, y_cap, y_cost,
                      row_start, row_col, row_coef, _cat(row_lo), _cat(row_hi), at_most_one,
                      stats)
