"""Outages, curtailments and service credits in the SDK: typed answers and their calls.

`Client.report_outage` is safe to retry: reporting the same outage again returns the first
report and pays nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from gpux.client.calls import Call, iso
from gpux.client.models import Page, _dec, _dt


@dataclass(frozen=True, slots=True)
class Credit:
    contract_id: int
    outage_id: int
    holder_id: str
    gpu_hours: Decimal
    owed: Decimal
    paid: Decimal
    shortfall: Decimal
    created_at: datetime

    @classmethod
    def of(cls, d: dict[str, Any]) -> Credit:
        return cls(int(d["contract_id"]), int(d["outage_id"]), d["holder_id"],
                   _dec(d["gpu_hours"]), _dec(d["owed"]), _dec(d["paid"]),
                   _dec(d["shortfall"]), _dt(d["created_at"]))


@dataclass(frozen=True, slots=True)
class Outage:
    id: int
    pool: str
    kind: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    reported_by: str
    reason: str
    tx_id: int | None
    created_at: datetime
    contracts: int
    owed: Decimal
    paid: Decimal
    credits: list[Credit] | None = None

    @classmethod
    def of(cls, d: dict[str, Any]) -> Outage:
        credits = d.get("credits")
        return cls(int(d["id"]), d["pool"], d["kind"], int(d["gpus"]), _dt(d["starts_at"]),
                   _dt(d["ends_at"]), d["reported_by"], d["reason"], d.get("tx_id"),
                   _dt(d["created_at"]), int(d["contracts"]), _dec(d["owed"]),
                   _dec(d["paid"]),
                   None if credits is None else [Credit.of(c) for c in credits])


def report_outage(pool: str, starts_at: datetime | str, ends_at: datetime | str,
                  gpus: int | None = None, reason: str = "") -> Call[Outage]:
    body: dict[str, Any] = {"starts_at": iso(starts_at), "ends_at": iso(ends_at),
                            "reason": reason}
    if gpus is not None:
        body["gpus"] = gpus
    return Call("POST", f"/pools/{pool}/outages", lambda doc, _h: Outage.of(doc), body=body,
                idempotent=True)


def outages(pool: str, cursor: str | None = None,
            limit: int | None = None) -> Call[Page[Outage]]:
    params = {k: v for k, v in (("cursor", cursor), ("limit", limit)) if v is not None}
    return Call("GET", f"/pools/{pool}/outages",
                lambda doc, _h: Page([Outage.of(x) for x in doc["items"]],
                                     doc.get("next_cursor")), params, idempotent=True)


def contract_credits(contract_id: int) -> Call[list[Credit]]:
    return Call("GET", f"/contracts/{contract_id}/credits",
                lambda doc, _h: [Credit.of(x) for x in doc["items"]], idempotent=True)
