"""Request and response bodies of the REST API, with the examples the OpenAPI document shows.

Requests accept money as a JSON number or a decimal string, both read exactly; responses
write money as decimal strings. Times are ISO 8601 in UTC, on whole hours for orders.
The request models check only shapes and types: the domain checks values and reports every
problem with its field path.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from gpux.domain.accounts import Account, PoolSpec
from gpux.domain.orders import AskOrder, BidAlternative, BidLeg, BidOrder
from gpux.domain.resale import ResaleOffer
from gpux.service import ports

Role = Literal["buyer", "provider", "admin"]
Side = Literal["bid", "ask"]
Status = Literal["open", "filled", "cancelled", "expired"]
_MANY = 1000  # a guard against huge bodies; the configured limits are far smaller


def _decimal_text(d: Decimal) -> str:
    """Exact, without trailing zeros, never in exponent form: 1.850000 -> "1.85"."""
    if d == d.to_integral_value():
        return str(int(d))
    return format(d, "f").rstrip("0")


# Money (and other exact quantities) in answers: a decimal string, the same however stored.
Money = Annotated[Decimal, PlainSerializer(_decimal_text, return_type=str, when_used="json")]


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


class AccountIn(BaseModel):
    model_config = _examples({"id": "lab-7", "name": "Lab Seven", "role": "buyer"})

    id: str = Field(max_length=64, description="a-z, 0-9, '.', '_', '-'")
    name: str = Field(max_length=200)
    role: Role

    def to_domain(self) -> Account:
        return Account(self.id, self.name, self.role)


class AccountOut(BaseModel):
    model_config = _examples({"id": "lab-7", "name": "Lab Seven", "role": "buyer",
                              "halted": False})

    id: str
    name: str
    role: Role
    halted: bool

    @classmethod
    def of(cls, a: Account) -> AccountOut:
        return cls(id=a.id, name=a.name, role=a.role, halted=a.halted)  # type: ignore[arg-type]


class KeyOut(BaseModel):
    model_config = _examples({"account_id": "lab-7", "key": "gpux_3q2x...", "prefix":
                              "gpux_3q2x9Lk"})

    account_id: str
    key: str = Field(description="the secret: shown this once, stored only as its sha256")
    prefix: str


class PoolIn(BaseModel):
    model_config = _examples({"id": "acme-h100-use", "gpu": "H100", "region": "us-east",
                              "uptime": "99.99", "gpus": 64})

    id: str = Field(max_length=64)
    gpu: str = Field(max_length=32, description="a GPU model of the catalog, e.g. H100")
    region: str = Field(max_length=32)
    uptime: Decimal = Field(description="promised availability tier in percent")
    gpus: int = Field(description="physical size: GPUs in the pool")

    def to_domain(self) -> PoolSpec:
        return PoolSpec(self.id, self.gpu, self.region, self.uptime, self.gpus)


class PoolOut(BaseModel):
    model_config = _examples({"id": "acme-h100-use", "provider_id": "acme", "gpu": "H100",
                              "region": "us-east", "uptime": "99.99", "gpus": 64,
                              "partition": "main", "created_at": "2026-12-01T08:03:11Z"})

    id: str
    provider_id: str
    gpu: str
    region: str
    uptime: Money
    gpus: int
    partition: str
    created_at: datetime

    @classmethod
    def of(cls, p: ports.Pool) -> PoolOut:
        return cls(id=p.id, provider_id=p.provider_id, gpu=p.gpu, region=p.region,
                   uptime=p.uptime, gpus=p.gpus, partition=p.partition,
                   created_at=p.created_at)


class PoolPage(BaseModel):
    items: list[PoolOut]
    next_cursor: str | None


class LegIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gpus: int
    duration_hours: int
    offset_hours: int = 0
    gpu: list[str] | None = Field(default=None, max_length=_MANY,
                                  description="GPU models, any of which will do")
    regions: list[str] | None = Field(default=None, max_length=_MANY)
    min_uptime: Decimal | None = None
    pools: list[str] | None = Field(default=None, max_length=_MANY)

    def to_domain(self) -> BidLeg:
        return BidLeg(self.gpus, self.duration_hours, self.offset_hours,
                      tuple(self.gpu) if self.gpu is not None else None,
                      tuple(self.regions) if self.regions is not None else None,
                      self.min_uptime,
                      tuple(self.pools) if self.pools is not None else None)


class AlternativeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Decimal | None = Field(default=None, description="the most paid for all legs")
    limit_per_gpu_hour: Decimal | None = Field(
        default=None, description="or: the most paid per GPU-hour (value = limit x GPU-hours)")
    earliest_start: datetime
    latest_end: datetime
    legs: list[LegIn] = Field(max_length=_MANY)

    def to_domain(self) -> BidAlternative:
        return BidAlternative(self.earliest_start, self.latest_end,
                              tuple(leg.to_domain() for leg in self.legs), self.value,
                              self.limit_per_gpu_hour)


BID_EXAMPLE = {
    "client_order_id": "train-run-42",
    "alternatives": [
        {"value": "1920.00", "earliest_start": "2026-12-01T08:00:00Z",
         "latest_end": "2026-12-04T08:00:00Z",
         "legs": [{"gpus": 16, "duration_hours": 48, "offset_hours": 0,
                   "gpu": ["H100", "H200"], "regions": ["us-east", "us-west"],
                   "min_uptime": "99.9"}]},
        {"limit_per_gpu_hour": "1.40", "earliest_start": "2026-12-01T08:00:00Z",
         "latest_end": "2026-12-05T08:00:00Z",
         "legs": [{"gpus": 16, "duration_hours": 48, "gpu": ["A100-80GB"]}]},
    ],
}

ASK_EXAMPLE = {"client_order_id": "week-49", "pool": "acme-h100-use", "gpus": 64,
               "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-08T00:00:00Z",
               "price": "1.85"}


class BidIn(BaseModel):
    model_config = _examples(BID_EXAMPLE)

    client_order_id: str = Field(max_length=64, description="unique per account; a retry "
                                 "with the same body returns the first order")
    alternatives: list[AlternativeIn] = Field(max_length=_MANY,
                                              description="XOR: at most one is filled")

    def to_domain(self) -> BidOrder:
        return BidOrder(self.client_order_id, tuple(a.to_domain() for a in self.alternatives))


class AskIn(BaseModel):
    model_config = _examples(ASK_EXAMPLE)

    client_order_id: str = Field(max_length=64)
    pool: str = Field(max_length=64)
    gpus: int = Field(description="GPUs offered in every hour of the window")
    starts_at: datetime
    ends_at: datetime
    price: Decimal = Field(description="reserve price per GPU-hour")

    def to_domain(self) -> AskOrder:
        return AskOrder(self.client_order_id, self.pool, self.gpus, self.starts_at,
                        self.ends_at, self.price)


class OfferIn(BaseModel):
    model_config = _examples({"client_order_id": "resell-17", "gpus": 8,
                              "starts_at": "2026-12-03T00:00:00Z",
                              "ends_at": "2026-12-04T00:00:00Z", "price": "2.10"})

    client_order_id: str = Field(max_length=64)
    gpus: int = Field(description="GPUs of the contract offered in every hour of the window")
    starts_at: datetime = Field(description="a whole hour, not started, within the contract")
    ends_at: datetime = Field(description="a whole hour, within the contract")
    price: Decimal = Field(description="the holder's reserve price per GPU-hour")

    def to_domain(self, contract_id: int) -> ResaleOffer:
        return ResaleOffer(self.client_order_id, contract_id, self.gpus, self.starts_at,
                           self.ends_at, self.price)


class LegOut(BaseModel):
    gpus: int
    duration_hours: int
    offset_hours: int
    gpu: list[str] | None = None
    regions: list[str] | None = None
    min_uptime: Money | None = None
    pools: list[str] | None = None


class AlternativeOut(BaseModel):
    value: Money
    limit_per_gpu_hour: Money | None = None
    earliest_start: datetime
    latest_end: datetime
    legs: list[LegOut]


class OrderOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 1042, "client_order_id": "week-49", "side": "ask", "status": "open",
        "cancel_pending": False, "frozen_auction_id": None,
        "starts_at": "2026-12-01T00:00:00Z", "ends_at": "2026-12-08T00:00:00Z",
        "pool": "acme-h100-use", "gpus": 64, "price": "1.85", "max_value": None,
        "alternatives": None, "created_at": "2026-11-30T21:14:09Z",
        "updated_at": "2026-11-30T21:14:09Z"}]})

    id: int
    client_order_id: str
    side: Side
    status: Status
    cancel_pending: bool = Field(description="a cancel waits for the round solving the order")
    frozen_auction_id: int | None = Field(description="the round solving this order, if any")
    starts_at: datetime
    ends_at: datetime
    pool: str | None = None
    gpus: int | None = None
    price: Money | None = None
    max_value: Money | None = None
    alternatives: list[AlternativeOut] | None = None
    created_at: datetime
    updated_at: datetime
    contract_id: int | None = Field(default=None, description="resale asks: the contract "
                                    "offered")

    @classmethod
    def of(cls, o: ports.Order) -> OrderOut:
        alts = o.request.get("alternatives") if o.side == "bid" else None
        return cls.model_validate({
            "id": o.id, "client_order_id": o.client_order_id, "side": o.side,
            "status": o.status, "cancel_pending": o.cancel_pending,
            "frozen_auction_id": o.frozen_auction_id, "starts_at": o.starts_at,
            "ends_at": o.ends_at, "pool": o.pool_id, "gpus": o.gpus, "price": o.price,
            "max_value": o.max_value, "alternatives": alts, "created_at": o.created_at,
            "updated_at": o.updated_at, "contract_id": o.request.get("contract_id")})


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; "
                                    "null on the last")


class FillOut(BaseModel):
    id: int
    auction_id: int
    order_id: int
    side: Side
    alternative: int | None
    leg: int | None
    pool: str
    starts_at: datetime
    ends_at: datetime
    gpus: int
    amount: Money = Field(description="what the leg pays, or what the ask's delivery earns")
    created_at: datetime

    @classmethod
    def of(cls, f: ports.Fill) -> FillOut:
        return cls(id=f.id, auction_id=f.auction_id, order_id=f.order_id,
                   side=f.side,  # type: ignore[arg-type]
                   alternative=f.alternative, leg=f.leg, pool=f.pool_id,
                   starts_at=f.starts_at, ends_at=f.ends_at, gpus=f.gpus, amount=f.amount,
                   created_at=f.created_at)


class FillPage(BaseModel):
    items: list[FillOut]
    next_cursor: str | None


class ContractOut(BaseModel):
    id: int
    fill_id: int | None = Field(description="the bid fill that bought it; null for a piece "
                                "a reseller kept when its contract split")
    holder_id: str
    provider_id: str
    pool: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    price: Money = Field(description="what the contract cost in total: the clearing prices "
                         "summed over its GPU-hours (USD)")
    created_at: datetime
    gpu_hours: int = Field(description="GPUs times hours")
    amount: Money | None = Field(default=None, description="what the holder paid")
    delivery: Literal["upcoming", "delivering", "delivered"] | None = Field(
        default=None, description="upcoming (not started), delivering, or delivered")
    parent_id: int | None = Field(default=None, description="the contract this piece was "
                                  "split off by a resale")
    status: Literal["live", "superseded"] = Field(
        default="live", description="superseded: split into pieces (see their parent_id)")
    offered: bool = Field(default=False, description="all of it is on offer for resale (its "
                          "holder may not use it while the offer is open)")
    offer_id: int | None = Field(default=None, description="the open resale order offering it")

    @classmethod
    def of(cls, c: ports.Contract) -> ContractOut:
        hours = int((c.ends_at - c.starts_at).total_seconds()) // 3600
        return cls(id=c.id, fill_id=c.fill_id, holder_id=c.holder_id,
                   provider_id=c.provider_id, pool=c.pool_id, gpus=c.gpus,
                   starts_at=c.starts_at, ends_at=c.ends_at, price=c.price,
                   created_at=c.created_at, gpu_hours=c.gpus * hours, amount=c.amount,
                   delivery=c.delivery, parent_id=c.parent_id,  # type: ignore[arg-type]
                   status=c.status, offered=c.offer_id is not None,  # type: ignore[arg-type]
                   offer_id=c.offer_id)


class ContractPage(BaseModel):
    items: list[ContractOut]
    next_cursor: str | None


class AuctionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 17, "partition": "main", "cutoff": "2026-12-01T07:59:00Z",
        "horizon_start": "2026-12-01T08:00:00Z", "slots": 168, "status": "cleared",
        "solve_status": "optimal", "surplus": "812.5", "bound": "812.5",
        "volume_gpu_hours": 768, "solve_seconds": "0.12", "bids": 40, "asks": 12,
        "created_at": "2026-12-01T07:59:00Z", "cleared_at": "2026-12-01T07:59:02Z"}]})

    id: int
    partition: str
    cutoff: datetime
    horizon_start: datetime
    slots: int
    status: str
    solve_status: str | None
    surplus: Money | None
    bound: Money | None
    volume_gpu_hours: int | None
    solve_seconds: Money | None
    bids: int
    asks: int
    created_at: datetime
    cleared_at: datetime | None

    @classmethod
    def of(cls, a: ports.AuctionSummary) -> AuctionOut:
        return cls.model_validate(a, from_attributes=True)


class AuctionPage(BaseModel):
    items: list[AuctionOut]
    next_cursor: str | None


class ClearingPriceOut(BaseModel):
    pool: str
    starts_at: datetime
    ends_at: datetime
    price: Money = Field(description="per GPU-hour")


class AuctionDetailOut(AuctionOut):
    prices: list[ClearingPriceOut]


class PriceIndexOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "gpu": "H100", "price": "2.31", "gpu_hours": 768, "auction_id": 17,
        "cutoff": "2026-12-01T07:59:00Z"}]})

    gpu: str
    price: Money = Field(description="GPU-hour weighted mean clearing price of what traded")
    gpu_hours: int
    auction_id: int
    cutoff: datetime


class ProblemItem(BaseModel):
    field: str | None
    message: str
    value: Any = None


class ProblemOut(BaseModel):
    """RFC 9457 problem details, with gpux's stable `code` and the offending fields."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "type": "/problems/invalid_order", "title": "Invalid order", "status": 422,
        "detail": "alternatives[0].legs[1].gpus: must be positive, was 0",
        "code": "invalid_order", "field": "alternatives[0].legs[1].gpus", "value": 0,
        "errors": [{"field": "alternatives[0].legs[1].gpus", "message": "must be positive",
                    "value": 0}]}]})

    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
    value: Any = None
    errors: list[ProblemItem] = []
