"""Resale: a holder offers (part of) a contract back into the auction.

A contract is a rectangle: GPUs of one pool in every hour of [starts_at, ends_at). Offering
part of one splits it at once into the offered piece, marked with the offer's order id, and
the pieces its holder keeps, so every live piece is either wholly on offer or not at all and a
GPU-hour can never be offered twice. A split contract is superseded; its children cover
exactly its GPU-hours and keep its provider. What a round does with offers that sell is in
`gpux.domain.resale_round`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from gpux.domain.errors import (
    ContractNotHeld,
    ContractSuperseded,
    InvalidValue,
    OfferExceedsContract,
    OfferOutsideContract,
)
from gpux.domain.money import from_micros, to_micros
from gpux.domain.orders import AskOrder, iso_hour

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Piece:
    """A live contract as resale reads it; `offer_id` is the order offering all of it."""

    id: int
    holder_id: str
    provider_id: str
    pool_id: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    price: Decimal
    offer_id: int | None = None


@dataclass(frozen=True, slots=True)
class NewContract:
    """A contract to write: bought in a round (`fill_id`) or split off `parent_id`."""

    holder_id: str
    provider_id: str
    pool_id: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    price: Decimal
    fill_id: int | None = None
    parent_id: int | None = None
    offer_id: int | None = None

    def __post_init__(self) -> None:
        if self.gpus <= 0:
            raise InvalidValue("gpus", "must be positive", self.gpus)
        if self.starts_at >= self.ends_at:
            raise InvalidValue("ends_at", "must be after starts_at", self.ends_at)


@dataclass(frozen=True, slots=True)
class ResaleOffer:
    """A holder's offer of (part of) a contract: `gpus` of its GPUs in every hour of
    [starts_at, ends_at), at a reserve of `price` per GPU-hour."""

    client_order_id: str
    contract_id: int
    gpus: int
    starts_at: datetime
    ends_at: datetime
    price: Decimal

    def as_ask(self, pool: str) -> AskOrder:
        """The ask it places on the contract's pool."""
        return AskOrder(self.client_order_id, pool, self.gpus, self.starts_at, self.ends_at,
                        self.price)

    def to_doc(self) -> dict[str, Any]:
        """The canonical JSON form (what a retry under the same client order id must match)."""
        return {"side": "ask", "client_order_id": self.client_order_id,
                "contract_id": self.contract_id, "gpus": self.gpus,
                "starts_at": iso_hour(self.starts_at), "ends_at": iso_hour(self.ends_at),
                "price": self.price}


@dataclass(frozen=True, slots=True)
class HeldContract:
    """A contract as an offer finds it (locked): whether it was split, which open order
    offers it (if any)."""

    piece: Piece
    superseded: bool
    offered_by: int | None


def check_holder(held: HeldContract, caller: str) -> None:
    """Raise unless `caller` holds `held` and it is live (not split into pieces)."""
    c = held.piece
    if c.holder_id != caller:
        raise ContractNotHeld(f"contract {c.id} is not held by {caller}", "contract_id", c.id)
    if held.superseded:
        raise ContractSuperseded(f"contract {c.id} was split into pieces; offer one of them "
                                 "(GET /contracts lists them)", "contract_id", c.id)


def check_offer(held: HeldContract, caller: str, gpus: int, starts_at: datetime,
                ends_at: datetime, now: datetime) -> None:
    """Raise why `caller` may not offer `gpus` GPUs of `held` over [starts_at, ends_at)."""
    check_holder(held, caller)
    c = held.piece
    if starts_at <= now:
        raise OfferOutsideContract("starts_at", "has started: only hours that have not "
                                   "started can be offered", iso_hour(starts_at))
    if starts_at < c.starts_at:
        raise OfferOutsideContract("starts_at", f"is before the contract starts, "
                                   f"{iso_hour(c.starts_at)}", iso_hour(starts_at))
    if ends_at > c.ends_at:
        raise OfferOutsideContract("ends_at", f"is after the contract ends, "
                                   f"{iso_hour(c.ends_at)}", iso_hour(ends_at))
    if held.offered_by is not None:
        raise OfferExceedsContract(f"contract {c.id} is on offer in full by order "
                                   f"{held.offered_by}: no GPU of it is left to offer "
                                   "(cancel that order first)", "gpus", gpus)
    if gpus > c.gpus:
        raise OfferExceedsContract(f"contract {c.id} holds {c.gpus} GPUs", "gpus", gpus)


def offer_pieces(c: Piece, gpus: int, starts_at: datetime, ends_at: datetime,
                 offer_id: int) -> tuple[NewContract, ...]:
    """The pieces `c` splits into when `gpus` GPUs over [starts_at, ends_at) go on offer:
    the offered piece first, then what the holder keeps (none if all of it is offered)."""
    rects: list[tuple[int, datetime, datetime, int | None]] = [
        (gpus, starts_at, ends_at, offer_id)]
    if c.gpus > gpus:
        rects.append((c.gpus - gpus, starts_at, ends_at, None))
    if c.starts_at < starts_at:
        rects.append((c.gpus, c.starts_at, starts_at, None))
    if ends_at < c.ends_at:
        rects.append((c.gpus, ends_at, c.ends_at, None))
    if len(rects) == 1:
        return ()
    shares = prorate(c.price, [g * hours_between(s, e) for g, s, e, _ in rects])
    return tuple(NewContract(c.holder_id, c.provider_id, c.pool_id, g, s, e, price,
                             parent_id=c.id, offer_id=o)
                 for (g, s, e, o), price in zip(rects, shares, strict=True))


def prorate(total: Decimal, weights: Sequence[int]) -> list[Decimal]:
    """`total` shared by `weights` to the micro-dollar, summing to it exactly (the remainder
    of rounding down goes to the first share)."""
    micros, whole = to_micros(total), sum(weights)
    shares = [micros * w // whole for w in weights]
    shares[0] += micros - sum(shares)
    return [from_micros(s) for s in shares]


def hours_between(starts_at: datetime, ends_at: datetime) -> int:
    """Whole hours in [starts_at, ends_at)."""
    return int((ends_at - starts_at) // HOUR)
