"""Typed answers of the REST API: frozen dataclasses, money as Decimal, times as datetime."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def _dt(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _dt_or_none(value: Any) -> datetime | None:
    return None if value is None else _dt(value)


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _dec_or_none(value: Any) -> Decimal | None:
    return None if value is None else _dec(value)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list; pass `next_cursor` as `cursor` for the next (None: the last)."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    role: str
    halted: bool

    @classmethod
    def of(cls, d: dict[str, Any]) -> Account:
        return cls(d["id"], d["name"], d["role"], bool(d.get("halted", False)))


@dataclass(frozen=True, slots=True)
class ApiKey:
    account_id: str
    key: str
    prefix: str

    @classmethod
    def of(cls, d: dict[str, Any]) -> ApiKey:
        return cls(d["account_id"], d["key"], d["prefix"])


@dataclass(frozen=True, slots=True)
class Pool:
    id: str
    provider_id: str
    gpu: str
    region: str
    uptime: Decimal
    gpus: int
    partition: str
    created_at: datetime

    @classmethod
    def of(cls, d: dict[str, Any]) -> Pool:
        return cls(d["id"], d["provider_id"], d["gpu"], d["region"], _dec(d["uptime"]),
                   int(d["gpus"]), d["partition"], _dt(d["created_at"]))


@dataclass(frozen=True, slots=True)
class Leg:
    gpus: int
    duration_hours: int
    offset_hours: int = 0
    gpu: list[str] | None = None
    regions: list[str] | None = None
    min_uptime: Decimal | None = None
    pools: list[str] | None = None

    @classmethod
    def of(cls, d: dict[str, Any]) -> Leg:
        return cls(int(d["gpus"]), int(d["duration_hours"]), int(d.get("offset_hours", 0)),
                   d.get("gpu"), d.get("regions"), _dec_or_none(d.get("min_uptime")),
                   d.get("pools"))


@dataclass(frozen=True, slots=True)
class Alternative:
    value: Decimal
    earliest_start: datetime
    latest_end: datetime
    legs: list[Leg]
    limit_per_gpu_hour: Decimal | None = None

    @classmethod
    def of(cls, d: dict[str, Any]) -> Alternative:
        return cls(_dec(d["value"]), _dt(d["earliest_start"]), _dt(d["latest_end"]),
                   [Leg.of(x) for x in d["legs"]], _dec_or_none(d.get("limit_per_gpu_hour")))


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    client_order_id: str
    side: str
    status: str
    cancel_pending: bool
    frozen_auction_id: int | None
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    updated_at: datetime
    pool: str | None = None
    gpus: int | None = None
    price: Decimal | None = None
    max_value: Decimal | None = None
    alternatives: list[Alternative] | None = None
    replayed: bool = False  # True when the exchange answered a retry with the first order
    contract_id: int | None = None  # resale asks: the contract offered

    @classmethod
    def of(cls, d: dict[str, Any], replayed: bool = False) -> Order:
        alts = d.get("alternatives")
        return cls(int(d["id"]), d["client_order_id"], d["side"], d["status"],
                   bool(d.get("cancel_pending", False)), d.get("frozen_auction_id"),
                   _dt(d["starts_at"]), _dt(d["ends_at"]), _dt(d["created_at"]),
                   _dt(d["updated_at"]), d.get("pool"), d.get("gpus"),
                   _dec_or_none(d.get("price")), _dec_or_none(d.get("max_value")),
                   None if alts is None else [Alternative.of(a) for a in alts], replayed,
                   d.get("contract_id"))


@dataclass(frozen=True, slots=True)
class Fill:
    id: int
    auction_id: int
    order_id: int
    side: str
    alternative: int | None
    leg: int | None
    pool: str
    starts_at: datetime
    ends_at: datetime
    gpus: int
    amount: Decimal
    created_at: datetime

    @classmethod
    def of(cls, d: dict[str, Any]) -> Fill:
        return cls(int(d["id"]), int(d["auction_id"]), int(d["order_id"]), d["side"],
                   d.get("alternative"), d.get("leg"), d["pool"], _dt(d["starts_at"]),
                   _dt(d["ends_at"]), int(d["gpus"]), _dec(d["amount"]), _dt(d["created_at"]))


@dataclass(frozen=True, slots=True)
class Contract:
    id: int
    fill_id: int | None
    holder_id: str
    provider_id: str
    pool: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    price: Decimal
    created_at: datetime
    # Resale: the contract this piece was split off, live or superseded, and the open resale
    # order offering all of it (the holder may not use it while offered).
    parent_id: int | None = None
    status: str = "live"
    offer_id: int | None = None
    gpu_hours: int = 0
    # What the holder paid (the fill's amount for a whole fill), and upcoming, delivering or
    # delivered as of the answer.
    amount: Decimal | None = None
    delivery: str | None = None

    @property
    def offered(self) -> bool:
        """All of it is on offer for resale."""
        return self.offer_id is not None

    @classmethod
    def of(cls, d: dict[str, Any]) -> Contract:
        fill = d.get("fill_id")
        return cls(int(d["id"]), None if fill is None else int(fill), d["holder_id"],
                   d["provider_id"], d["pool"], int(d["gpus"]), _dt(d["starts_at"]),
                   _dt(d["ends_at"]), _dec(d["price"]), _dt(d["created_at"]),
                   d.get("parent_id"), d.get("status", "live"), d.get("offer_id"),
                   int(d.get("gpu_hours", 0)), _dec_or_none(d.get("amount")), d.get("delivery"))


@dataclass(frozen=True, slots=True)
class ClearingPrice:
    pool: str
    starts_at: datetime
    ends_at: datetime
    price: Decimal

    @classmethod
    def of(cls, d: dict[str, Any]) -> ClearingPrice:
        return cls(d["pool"], _dt(d["starts_at"]), _dt(d["ends_at"]), _dec(d["price"]))


@dataclass(frozen=True, slots=True)
class Auction:
    id: int
    partition: str
    cutoff: datetime
    horizon_start: datetime
    slots: int
    status: str
    solve_status: str | None
    surplus: Decimal | None
    bound: Decimal | None
    volume_gpu_hours: int | None
    solve_seconds: Decimal | None
    bids: int
    asks: int
    created_at: datetime
    cleared_at: datetime | None
    prices: list[ClearingPrice] | None = None  # only from `auction(id)`

    @classmethod
    def of(cls, d: dict[str, Any]) -> Auction:
        prices = d.get("prices")
        return cls(int(d["id"]), d["partition"], _dt(d["cutoff"]), _dt(d["horizon_start"]),
                   int(d["slots"]), d["status"], d.get("solve_status"),
                   _dec_or_none(d.get("surplus")), _dec_or_none(d.get("bound")),
                   d.get("volume_gpu_hours"), _dec_or_none(d.get("solve_seconds")),
                   int(d["bids"]), int(d["asks"]), _dt(d["created_at"]),
                   _dt_or_none(d.get("cleared_at")),
                   None if prices is None else [ClearingPrice.of(p) for p in prices])


@dataclass(frozen=True, slots=True)
class PriceIndex:
    gpu: str
    price: Decimal
    gpu_hours: int
    auction_id: int
    cutoff: datetime

    @classmethod
    def of(cls, d: dict[str, Any]) -> PriceIndex:
        return cls(d["gpu"], _dec(d["price"]), int(d["gpu_hours"]), int(d["auction_id"]),
                   _dt(d["cutoff"]))


@dataclass(frozen=True, slots=True)
class Parsed:
    """What `POST /orders/parse` understood, and the request that would place it."""

    order: dict[str, Any]
    method: str
    path: str
    body: dict[str, Any]

    @classmethod
    def of(cls, d: dict[str, Any]) -> Parsed:
        place = d["place"]
        return cls(d["order"], place["method"], place["path"], place["body"])


@dataclass(frozen=True, slots=True)
class FeedMessage:
    """One message of the WebSocket feed (`channel` and `seq` are None on control messages)."""

    type: str
    channel: str | None
    seq: str | None
    data: dict[str, Any]
    raw: dict[str, Any]

    @classmethod
    def of(cls, d: dict[str, Any]) -> FeedMessage:
        return cls(str(d.get("type")), d.get("channel"), d.get("seq"), d.get("data") or {}, d)
