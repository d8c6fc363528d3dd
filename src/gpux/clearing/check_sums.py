"""The result rules that add up over many rows: supply meets demand, no self-trade, payments
follow prices, the exchange balances, surplus and bound are right.

Part of the independent validator (`gpux.clearing.check`), which hands over only rows it has
already matched to the book. Sums are compared to a relative tolerance of 1e-6 of the largest
term involved, as the format allows; everything else is exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from gpux.clearing.check_shape import shown
from gpux.domain.book import Alternative, Ask, Bid, Book
from gpux.domain.result import AcceptedBid, Supplied

TOLERANCE = Decimal("1e-6")
OPTIMAL_GAP = Decimal("1e-4")

V = TypeVar("V")
PoolSlot = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Won:
    """An accepted row whose bid, alternative and leg pools exist, legs within the horizon."""

    path: str
    row: AcceptedBid
    bid: Bid
    alt: Alternative


@dataclass(frozen=True, slots=True)
class Sold:
    """A supplied row of an ask the book has, with at least one GPU over slots of the horizon."""

    path: str
    row: Supplied
    ask: Ask


def close(stated: Decimal, computed: Decimal, terms: Iterable[Decimal] = ()) -> bool:
    """Tell whether two amounts agree to 1e-6 of the largest of them and of `terms`."""
    largest = max(abs(x) for x in (stated, computed, *terms))
    return abs(stated - computed) <= TOLERANCE * largest


def runs(values: Mapping[int, V]) -> list[tuple[int, int, V]]:
    """Maximal ranges [start, end) of consecutive slots that hold equal values."""
    found: list[tuple[int, int, V]] = []
    for t in sorted(values):
        if found and found[-1][1] == t and found[-1][2] == values[t]:
            found[-1] = (found[-1][0], t + 1, values[t])
        else:
            found.append((t, t + 1, values[t]))
    return found


def _was(path: str, message: str, value: object) -> str:
    return f"{path}: {message}, was {shown(value)}"


def balance(book: Book, won: Sequence[Won], sold: Sequence[Sold]) -> list[str]:
    """Supply equals demand in every pool and slot, and no buyer trades with itself."""
    used: dict[str, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    delivered: dict[str, dict[int, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for w in won:
        for fill in w.row.legs:
            for t in range(fill.start, fill.end):
                by_buyer = used[fill.pool][t]
                by_buyer[w.bid.buyer] = by_buyer.get(w.bid.buyer, 0) + fill.gpus
    for s in sold:
        for t in range(s.row.start, s.row.end):
            by_seller = delivered[s.ask.pool][t]
            by_seller[s.ask.seller] = by_seller.get(s.ask.seller, 0) + s.row.gpus
    problems: list[str] = []
    for pool in book.pools:
        use, supply = used[pool.id], delivered[pool.id]
        sums = {t: (sum(use[t].values()), sum(supply[t].values())) for t in {*use, *supply}}
        for a, b, (u, d) in runs({t: ud for t, ud in sums.items() if ud[0] != ud[1]}):
            problems.append(
                f"pool {pool.id!r} slots [{a}, {b}): accepted legs use {u} GPUs "
                f"but supplied rows deliver {d}"
            )
        # Where demand equals supply, all buyers can be served by sellers other than
        # themselves at once exactly when each buyer alone can be: by Hall's theorem on the
        # buyer-seller graph, since any two buyers together neighbour every seller. Where the
        # two differ, the shortfall is already reported and no assignment exists to judge.
        for buyer in sorted({b for t in use for b in use[t]}):
            short: dict[int, tuple[int, int]] = {}
            for t, by_buyer in use.items():
                others = sums[t][1] - supply[t].get(buyer, 0)
                if sums[t][0] == sums[t][1] and by_buyer.get(buyer, 0) > others:
                    short[t] = (by_buyer[buyer], others)
            for a, b, (u, o) in runs(short):
                problems.append(
                    f"pool {pool.id!r} slots [{a}, {b}): buyer {buyer!r} uses {u} GPUs "
                    f"but asks of other sellers deliver only {o} (self-trade)"
                )
    return problems


def _due(
    price: Mapping[PoolSlot, Decimal], pool: str, start: int, end: int, gpus: int
) -> Decimal | None:
    """GPUs times the prices summed over [start, end); None where a price is missing."""
    total = Decimal(0)
    for t in range(start, end):
        p = price.get((pool, t))
        # A missing price is always reported elsewhere: as a gap in the coverage of the
        # pool's asks, or as use of a pool and slot that no ask offers.
        if p is None:
            return None
        total += p
    return gpus * total


def payments(won: Sequence[Won], price: Mapping[PoolSlot, Decimal]) -> list[str]:
    """Each accepted bid pays the prices of its GPU-slots, and at most its value."""
    problems: list[str] = []
    for w in won:
        paid = w.row.payment
        dues = [_due(price, g.pool, g.start, g.end, g.gpus) for g in w.row.legs]
        if all(d is not None for d in dues):
            due = sum((d for d in dues if d is not None), Decimal(0))
            if not close(paid, due):
                problems.append(
                    _was(
                        f"{w.path}.payment",
                        f"must be the prices summed over its GPU-slots, {due}",
                        paid,
                    )
                )
        if paid - w.alt.value > TOLERANCE * max(abs(paid), w.alt.value):
            problems.append(
                _was(
                    f"{w.path}.payment",
                    f"must be at most the value {w.alt.value} of alternative {w.row.alternative}",
                    paid,
                )
            )
    return problems


def revenues(sold: Sequence[Sold], price: Mapping[PoolSlot, Decimal]) -> list[str]:
    """Each supplied row earns the prices of its GPU-slots, none below the ask's reserve."""
    problems: list[str] = []
    for s in sold:
        row, ask = s.row, s.ask
        due = _due(price, ask.pool, row.start, row.end, row.gpus)
        if due is not None and not close(row.revenue, due):
            problems.append(
                _was(
                    f"{s.path}.revenue",
                    f"must be the prices summed over its GPU-slots, {due}",
                    row.revenue,
                )
            )
        below = {
            t: price[ask.pool, t]
            for t in range(row.start, row.end)
            if (ask.pool, t) in price and price[ask.pool, t] < ask.price
        }
        for a, b, p in runs(below):
            problems.append(
                f"{s.path}: pool {ask.pool!r} price {p} in slots [{a}, {b}) "
                f"is below ask {ask.id!r} reserve {ask.price}"
            )
    return problems


def totals(won: Sequence[Won], sold: Sequence[Sold], surplus: Decimal | None) -> list[str]:
    """Payments add up to revenues, and the surplus is values minus supply cost at reserves."""
    problems: list[str] = []
    paid = [w.row.payment for w in won]
    earned = [s.row.revenue for s in sold]
    total_paid, total_earned = sum(paid, Decimal(0)), sum(earned, Decimal(0))
    if not close(total_paid, total_earned, (*paid, *earned)):
        problems.append(f"payments: total {total_paid} must equal total revenues {total_earned}")
    if surplus is not None:
        values = [w.alt.value for w in won]
        costs = [s.row.gpus * (s.row.end - s.row.start) * s.ask.price for s in sold]
        expected = sum(values, Decimal(0)) - sum(costs, Decimal(0))
        if not close(surplus, expected, (*values, *costs)):
            problems.append(
                _was(
                    "surplus",
                    f"must be the accepted values minus the supply cost at reserves, {expected}",
                    surplus,
                )
            )
    return problems


def bound(status: str | None, surplus: Decimal | None, upper: Decimal | None) -> list[str]:
    """The bound is at least the surplus, and within the optimality gap when status says so."""
    if surplus is None or upper is None:
        return []
    scale = max(abs(surplus), abs(upper))
    if surplus - upper > TOLERANCE * scale:
        return [_was("bound", f"must be at least the surplus {surplus}", upper)]
    if status == "optimal" and upper - surplus > (OPTIMAL_GAP + TOLERANCE) * scale:
        return [
            _was(
                "bound",
                f"must be within a relative gap of {OPTIMAL_GAP} of the surplus "
                f"{surplus} when the status is 'optimal'",
                upper,
            )
        ]
    return []
