"""The outage port: recorded outages and curtailments, the contracts they hit, their credits.

`gpux.adapters.postgres.outages.PgOutages` implements it in the unit of work's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from gpux.domain.credits import Credit, HeldContract, OutageSpec


@dataclass(frozen=True, slots=True)
class Outage:
    """A recorded outage (or curtailment) of a pool, with what its credits came to."""

    id: int
    pool_id: str
    kind: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    reported_by: str
    reason: str
    tx_id: int | None
    created_at: datetime
    contracts: int = 0
    owed: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)

    def same_as(self, spec: OutageSpec, gpus: int) -> bool:
        """Whether `spec` reports this very outage again (a retry)."""
        return (self.kind, self.gpus, self.starts_at, self.ends_at) == (
            spec.kind, gpus, spec.starts_at, spec.ends_at)


@dataclass(frozen=True, slots=True)
class StoredCredit:
    """One contract's credit for one outage, as stored."""

    contract_id: int
    outage_id: int
    holder_id: str
    gpu_hours: Decimal
    owed: Decimal
    paid: Decimal
    created_at: datetime


class OutageRepository(Protocol):
    """Outages of pools and the credits they paid."""

    async def overlapping(self, pool_id: str, starts_at: datetime, ends_at: datetime
                          ) -> list[Outage]:
        """The pool's outages sharing an hour with [starts_at, ends_at)."""
        ...

    async def live_contracts(self, pool_id: str, starts_at: datetime, ends_at: datetime
                             ) -> list[HeldContract]:
        """The contracts on the pool held (not superseded) in some hour of the range."""
        ...

    async def add(self, pool_id: str, spec: OutageSpec, gpus: int, reported_by: str,
                  tx_id: int | None) -> Outage:
        """Store an outage."""
        ...

    async def add_credits(self, outage_id: int, credits: Sequence[Credit]) -> None:
        """Store what each contract was owed and paid for the outage."""
        ...

    async def of_pool(self, pool_id: str, *, before_id: int | None, limit: int
                      ) -> list[Outage]:
        """The pool's outages with their credit totals, newest first."""
        ...

    async def credits(self, *, outage_id: int | None = None, contract_id: int | None = None
                      ) -> list[StoredCredit]:
        """Credits of one outage or of one contract, oldest first."""
        ...

    async def contract_parties(self, contract_id: int) -> tuple[str, str] | None:
        """A contract's holder and provider."""
        ...
