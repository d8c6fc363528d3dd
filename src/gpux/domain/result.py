"""The outcome of one auction: accepted bids, supplying asks, clearing prices.

Converts to and from the `gpu-auction-result/1` JSON format without loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

RESULT_FORMAT = "gpu-auction-result/1"
Status = Literal["optimal", "feasible"]


@dataclass(frozen=True, slots=True)
class LegFill:
    """The GPUs one accepted leg takes from one pool over [start, end)."""

    pool: str
    start: int
    end: int
    gpus: int


@dataclass(frozen=True, slots=True)
class AcceptedBid:
    """One accepted bid: which alternative, where it starts, its legs and what it pays."""

    bid: str
    alternative: int
    start: int
    payment: Decimal
    legs: tuple[LegFill, ...]


@dataclass(frozen=True, slots=True)
class Supplied:
    """A range of slots over which one ask delivers a constant number of GPUs."""

    ask: str
    start: int
    end: int
    gpus: int
    revenue: Decimal


@dataclass(frozen=True, slots=True)
class PriceRange:
    """The clearing price per GPU-slot of one pool over a range of slots."""

    pool: str
    start: int
    end: int
    price: Decimal


@dataclass(frozen=True, slots=True)
class Result:
    """A complete auction result in the shape of `gpu-auction-result/1`."""

    status: Status
    surplus: Decimal
    bound: Decimal
    accepted: tuple[AcceptedBid, ...]
    supplied: tuple[Supplied, ...]
    prices: tuple[PriceRange, ...]
    stats: dict[str, object] = field(default_factory=dict)


def result_to_doc(result: Result) -> dict[str, object]:
    """The `gpu-auction-result/1` document of a Result (money as Decimal)."""
    return {
        "format": RESULT_FORMAT,
        "status": result.status,
        "surplus": result.surplus,
        "bound": result.bound,
        "accepted": [
            {"bid": a.bid, "alternative": a.alternative, "start": a.start, "payment": a.payment,
             "legs": [{"pool": g.pool, "start": g.start, "end": g.end, "gpus": g.gpus}
                      for g in a.legs]}
            for a in result.accepted],
        "supplied": [{"ask": s.ask, "start": s.start, "end": s.end, "gpus": s.gpus,
                      "revenue": s.revenue} for s in result.supplied],
        "prices": [{"pool": p.pool, "start": p.start, "end": p.end, "price": p.price}
                   for p in result.prices],
        "stats": result.stats,
    }
