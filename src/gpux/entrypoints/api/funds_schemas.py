"""Request and answer bodies of funds, statements and halts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from gpux.entrypoints.api.schemas import Money
from gpux.service.halt_ports import Cancelled
from gpux.service.ledger_ports import Balance, Entry


class AmountIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"amount": "25000.00", "reference": "wire-2026-11-29-0042"}]})

    amount: Decimal = Field(description="USD, positive, at most 6 decimal places")
    reference: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$",
        description="your id of the transfer (e.g. the bank's): repeating a deposit or "
                    "withdrawal with the same reference moves nothing and answers with "
                    "`Idempotent-Replayed: true`; the same reference with another amount is "
                    "refused (409 reference_reused)")


class BalanceOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "account_id": "lab-7", "available": "23771.2", "held": "1228.8"}]})

    account_id: str
    available: Money = Field(description="free to bid with or withdraw")
    held: Money = Field(description="held for open bids")

    @classmethod
    def of(cls, b: Balance) -> BalanceOut:
        return cls(account_id=b.account_id, available=b.available, held=b.held)


class EntryOut(BaseModel):
    id: int
    tx_id: int = Field(description="the ledger transaction; its entries sum to zero")
    bucket: str = Field(description="available or held")
    kind: str = Field(description="deposit, withdrawal, hold, release, payment, revenue, fee, "
                      "credit")
    amount: Money = Field(description="into the bucket (negative: out of it)")
    order_id: int | None
    auction_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, e: Entry) -> EntryOut:
        return cls(id=e.id, tx_id=e.tx_id, bucket=e.bucket, kind=e.kind, amount=e.amount,
                   order_id=e.order_id, auction_id=e.auction_id, created_at=e.created_at)


class StatementOut(BaseModel):
    balance: BalanceOut
    items: list[EntryOut]
    next_cursor: str | None


class HaltOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "halted": True, "cancelled": [17, 18], "cancel_pending": [19]}]})

    halted: bool
    cancelled: list[int] = Field(default_factory=list, description="orders cancelled now")
    cancel_pending: list[int] = Field(
        default_factory=list, description="orders a round is solving: cancelled when it "
                                          "commits, unless they filled")

    @classmethod
    def of(cls, c: Cancelled | None, halted: bool = True) -> HaltOut:
        if c is None:
            return cls(halted=halted)
        return cls(halted=halted, cancelled=list(c.now), cancel_pending=list(c.pending))


class MarketOut(BaseModel):
    halted: bool
