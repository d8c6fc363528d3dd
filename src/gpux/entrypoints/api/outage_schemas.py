"""Request and answer bodies of outages, curtailments and service credits."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from gpux.domain.credits import OutageSpec
from gpux.entrypoints.api.schemas import Money
from gpux.service.credit_ports import Outage, StoredCredit


class OutageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "starts_at": "2026-12-01T10:00:00Z", "ends_at": "2026-12-01T13:00:00Z",
        "gpus": 4, "reason": "cooling failure in row 7"}]})

    starts_at: datetime = Field(description="the first hour down (UTC, a whole hour)")
    ends_at: datetime = Field(description="the hour it is back (exclusive)")
    gpus: int | None = Field(default=None, description="GPUs down (a curtailment); omit "
                                                        "for the whole pool (an outage)")
    reason: str = Field(default="", description="free text, at most 500 characters")

    def to_domain(self) -> OutageSpec:
        return OutageSpec(self.starts_at, self.ends_at, self.gpus, self.reason)


class CreditOut(BaseModel):
    contract_id: int
    outage_id: int
    holder_id: str
    gpu_hours: Money = Field(description="GPU-hours the contract lost (to 6 places)")
    owed: Money = Field(description="the tier's percent of the price of those GPU-hours")
    paid: Money = Field(description="what the provider's balance paid (less only if it "
                                    "could not cover every credit)")
    shortfall: Money = Field(description="owed less paid")
    created_at: datetime

    @classmethod
    def of(cls, c: StoredCredit) -> CreditOut:
        return cls(contract_id=c.contract_id, outage_id=c.outage_id, holder_id=c.holder_id,
                   gpu_hours=c.gpu_hours, owed=c.owed, paid=c.paid,
                   shortfall=c.owed - c.paid, created_at=c.created_at)


class OutageOut(BaseModel):
    id: int
    pool: str
    kind: str = Field(description="outage (the whole pool) or curtailment (`gpus` of it)")
    gpus: int = Field(description="GPUs down in each hour")
    starts_at: datetime
    ends_at: datetime
    reported_by: str
    reason: str
    tx_id: int | None = Field(description="the ledger transaction that paid the credits")
    created_at: datetime
    contracts: int = Field(description="contracts credited")
    owed: Money
    paid: Money
    credits: list[CreditOut] | None = Field(
        default=None, description="each contract's credit (in the answer to its report)")

    @classmethod
    def of(cls, o: Outage, credits: list[StoredCredit] | None = None) -> OutageOut:
        return cls(id=o.id, pool=o.pool_id, kind=o.kind, gpus=o.gpus, starts_at=o.starts_at,
                   ends_at=o.ends_at, reported_by=o.reported_by, reason=o.reason,
                   tx_id=o.tx_id, created_at=o.created_at, contracts=o.contracts,
                   owed=o.owed, paid=o.paid,
                   credits=None if credits is None else [CreditOut.of(c) for c in credits])


class OutagePage(BaseModel):
    items: list[OutageOut]
    next_cursor: str | None


class CreditList(BaseModel):
    items: list[CreditOut]
