"""The independent validator of auction results: every rule of `gpu-auction-result/1`.

The worker runs it on each solution before a single fill is written, so it shares no code
with the solver: it reads only the book and the result document and judges every rule from
scratch. Each violation says where it is (a JSON path, or a pool and its slots), what the rule
wants and what was seen. This module matches each row to the book; `check_shape` reads the
document's fields and `check_sums` judges what adds up over many rows.

Checks over all rows at once (supply against demand, self-trade, price coverage, totals,
surplus) run only once every row has been read and names things the book has; otherwise they
would report the echo of a problem already listed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext

from gpux.clearing import check_sums
from gpux.clearing.check_shape import Shape, read_shape, shown
from gpux.clearing.check_sums import PoolSlot, Sold, Won, runs
from gpux.domain.book import Alternative, Book, Leg, Pool
from gpux.domain.result import AcceptedBid

# Enough digits that no sum a valid book can produce is ever rounded.
_PRECISION = 60


def check_result(book: Book, result: Mapping[str, object]) -> list[str]:
    """Every rule of `gpu-auction-result/1` that `result` breaks for `book`; empty if none."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return _Checker(book, read_shape(result)).run()


def _overlaps(rows: Sequence[tuple[str, int, int]]) -> list[str]:
    """Each row (path, start, end) that overlaps an earlier-starting one, with the slots shared."""
    found: list[str] = []
    reach: tuple[str, int] | None = None
    for path, start, end in sorted(rows, key=lambda r: (r[1], r[2])):
        if reach is not None and start < reach[1]:
            found.append(f"{path}: overlaps {reach[0]} in slots [{start}, {min(end, reach[1])})")
        if reach is None or end > reach[1]:
            reach = (path, end)
    return found


class _Checker:
    def __init__(self, book: Book, shape: Shape) -> None:
        self.book = book
        self.shape = shape
        self.problems = list(shape.problems)
        self.resolved = shape.whole
        self.bids = {b.id: b for b in book.bids}
        self.asks = {a.id: a for a in book.asks}
        self.ask_slots = {(a.pool, t) for a in book.asks for t in range(a.start, a.end)}

    def run(self) -> list[str]:
        won, sold, prices = self.accepted(), self.supplied(), self.prices()
        if self.resolved:
            self.coverage(prices)
            self.problems += check_sums.balance(self.book, won, sold)
        self.problems += check_sums.payments(won, prices)
        self.problems += check_sums.revenues(sold, prices)
        if self.resolved:
            self.problems += check_sums.totals(won, sold, self.shape.surplus)
        self.problems += check_sums.bound(self.shape.status, self.shape.surplus, self.shape.bound)
        return self.problems

    def fail(self, path: str, message: str, value: object) -> None:
        self.problems.append(f"{path}: {message}, was {shown(value)}")

    def in_horizon(self, path: str, start: int, end: int, *, quiet: bool = False) -> bool:
        if 0 <= start < end <= self.book.slots:
            return True
        if not quiet:
            self.problems.append(
                f"{path}: slots [{start}, {end}) must be a non-empty range "
                f"within the horizon [0, {self.book.slots})"
            )
        return False

    def accepted(self) -> list[Won]:
        won: list[Won] = []
        first: dict[str, str] = {}
        for i, row in enumerate(self.shape.accepted):
            path = f"accepted[{i}]"
            if row is None:
                continue
            bid = self.bids.get(row.bid)
            if bid is None:
                self.fail(f"{path}.bid", "names no bid of the book", row.bid)
                self.resolved = False
                continue
            if row.bid in first:
                self.problems.append(
                    f"{path}.bid: bid {row.bid!r} is accepted more than once, "
                    f"first at {first[row.bid]}"
                )
            first.setdefault(row.bid, path)
            if not 0 <= row.alternative < len(bid.alternatives):
                self.fail(
                    f"{path}.alternative",
                    f"bid {row.bid!r} has alternatives 0 to {len(bid.alternatives) - 1}",
                    row.alternative,
                )
                self.resolved = False
                continue
            alt = bid.alternatives[row.alternative]
            starts = alt.starts()
            if row.start not in starts:
                self.fail(
                    f"{path}.start",
                    f"alternative {row.alternative} of bid {row.bid!r} "
                    f"can start only in [{starts.start}, {starts.stop - 1}]",
                    row.start,
                )
            if self.legs(path, row, alt):
                won.append(Won(path, row, bid, alt))
            else:
                self.resolved = False
        return won

    def legs(self, path: str, row: AcceptedBid, alt: Alternative) -> bool:
        """Check each leg row against its leg; tell whether all can be counted as usage."""
        if len(row.legs) != len(alt.legs):
            self.problems.append(
                f"{path}.legs: must list the {len(alt.legs)} leg(s) of alternative "
                f"{row.alternative} in order, listed {len(row.legs)}"
            )
            return False
        usable = True
        for j, (fill, leg) in enumerate(zip(row.legs, alt.legs, strict=True)):
            where = f"{path}.legs[{j}]"
            pool = self.book.pool_by_id.get(fill.pool)
            if pool is None:
                self.fail(f"{where}.pool", "names no pool of the book", fill.pool)
                usable = False
            else:
                self.filters(where, leg, pool)
            start, end = row.start + leg.offset, row.start + leg.end_offset
            if fill.start != start:
                self.fail(
                    f"{where}.start",
                    f"must be start {row.start} + offset {leg.offset} = {start}",
                    fill.start,
                )
            if fill.end != end:
                self.fail(
                    f"{where}.end",
                    f"must be start {row.start} + offset {leg.offset} + duration {leg.duration} "
                    f"= {end}",
                    fill.end,
                )
            if fill.gpus != leg.gpus:
                self.fail(f"{where}.gpus", f"must be the leg's {leg.gpus} GPUs", fill.gpus)
            mismatch = (fill.start, fill.end) != (start, end)
            if not self.in_horizon(where, fill.start, fill.end, quiet=mismatch) or fill.gpus < 1:
                usable = False
        return usable

    def filters(self, where: str, leg: Leg, pool: Pool) -> None:
        misses: list[str] = []
        if leg.gpu is not None and pool.gpu not in leg.gpu:
            misses.append(f"gpu {list(leg.gpu)}, was gpu {pool.gpu!r}")
        if leg.regions is not None and pool.region not in leg.regions:
            misses.append(f"regions {list(leg.regions)}, was region {pool.region!r}")
        if leg.min_uptime is not None and pool.uptime < leg.min_uptime:
            misses.append(f"min_uptime {leg.min_uptime}, was uptime {pool.uptime}")
        if leg.pools is not None and pool.id not in leg.pools:
            misses.append(f"pools {list(leg.pools)}")
        for miss in misses:
            self.problems.append(f"{where}: pool {pool.id!r} does not meet filter {miss}")

    def supplied(self) -> list[Sold]:
        sold: list[Sold] = []
        for k, row in enumerate(self.shape.supplied):
            path = f"supplied[{k}]"
            if row is None:
                continue
            ask = self.asks.get(row.ask)
            if ask is None:
                self.fail(f"{path}.ask", "names no ask of the book", row.ask)
            if row.gpus < 1:
                self.fail(f"{path}.gpus", "must be at least 1", row.gpus)
            in_horizon = self.in_horizon(path, row.start, row.end)
            if in_horizon and ask is not None and not ask.start <= row.start < row.end <= ask.end:
                self.problems.append(
                    f"{path}: slots [{row.start}, {row.end}) lie outside ask "
                    f"{ask.id!r} slots [{ask.start}, {ask.end})"
                )
            if ask is not None and row.gpus >= 1 and in_horizon:
                sold.append(Sold(path, row, ask))
            else:
                self.resolved = False
        by_ask: dict[str, list[Sold]] = defaultdict(list)
        for s in sold:
            by_ask[s.ask.id].append(s)
        for rows in by_ask.values():
            ask = rows[0].ask
            for overlap in _overlaps([(s.path, s.row.start, s.row.end) for s in rows]):
                self.problems.append(f"{overlap} of the same ask {ask.id!r}")
            delivered: dict[int, int] = defaultdict(int)
            for s in rows:
                for t in range(s.row.start, s.row.end):
                    delivered[t] += s.row.gpus
            over = {t: n for t, n in delivered.items() if n > ask.gpus}
            for a, b, n in runs(over):
                self.problems.append(
                    f"supplied: ask {ask.id!r} delivers {n} GPUs in slots "
                    f"[{a}, {b}), more than its {ask.gpus}"
                )
        return sold

    def prices(self) -> dict[PoolSlot, Decimal]:
        price: dict[PoolSlot, Decimal] = {}
        rows: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
        for m, row in enumerate(self.shape.prices):
            path = f"prices[{m}]"
            if row is None:
                continue
            if row.price < 0:
                self.fail(f"{path}.price", "must not be negative", row.price)
            known = row.pool in self.book.pool_by_id
            if not known:
                self.fail(f"{path}.pool", "names no pool of the book", row.pool)
            if not self.in_horizon(path, row.start, row.end) or not known:
                self.resolved = False
                continue
            rows[row.pool].append((path, row.start, row.end))
            slots = range(row.start, row.end)
            bare = {t: None for t in slots if (row.pool, t) not in self.ask_slots}
            for a, b, _ in runs(bare):
                self.problems.append(
                    f"{path}: pool {row.pool!r} has no ask in slots [{a}, {b}), "
                    "so it must have no price there"
                )
            for t in slots:
                price.setdefault((row.pool, t), row.price)
        for pool_id, pool_rows in rows.items():
            for overlap in _overlaps(pool_rows):
                self.problems.append(f"{overlap} of pool {pool_id!r}")
        return price

    def coverage(self, price: Mapping[PoolSlot, Decimal]) -> None:
        bare: dict[str, dict[int, None]] = defaultdict(dict)
        for pool_id, t in self.ask_slots - price.keys():
            bare[pool_id][t] = None
        for pool in self.book.pools:
            for a, b, _ in runs(bare[pool.id]):
                self.problems.append(
                    f"prices: pool {pool.id!r} has no price in slots "
                    f"[{a}, {b}), where it has an ask"
                )
