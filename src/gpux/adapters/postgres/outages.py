"""Outages, the contracts they hit and their credits, on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gpux.adapters.postgres.tables import contract_credits, contracts, outages
from gpux.domain.credits import Credit, HeldContract, OutageSpec
from gpux.service.credit_ports import Outage, StoredCredit

_OUTAGE_COLUMNS = (outages.c.id, outages.c.pool_id, outages.c.kind, outages.c.gpus,
                   outages.c.starts_at, outages.c.ends_at, outages.c.reported_by,
                   outages.c.reason, outages.c.tx_id, outages.c.created_at)
_CREDIT_COLUMNS = (contract_credits.c.contract_id, contract_credits.c.outage_id,
                   contract_credits.c.holder_id, contract_credits.c.gpu_hours,
                   contract_credits.c.owed, contract_credits.c.paid,
                   contract_credits.c.created_at)
_GPU_HOURS_PLACES = Decimal("0.000001")


def _totals() -> tuple[Any, ...]:
    return (func.count(contract_credits.c.contract_id),
            func.coalesce(func.sum(contract_credits.c.owed), 0),
            func.coalesce(func.sum(contract_credits.c.paid), 0))


class PgOutages:
    """`OutageRepository` on one PostgreSQL connection, in its current transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def overlapping(self, pool_id: str, starts_at: datetime, ends_at: datetime
                          ) -> list[Outage]:
        stmt = (select(*_OUTAGE_COLUMNS).where(
            outages.c.pool_id == pool_id, outages.c.starts_at < ends_at,
            outages.c.ends_at > starts_at).order_by(outages.c.id))
        return [Outage(*tuple(r)) for r in await self._conn.execute(stmt)]

    async def live_contracts(self, pool_id: str, starts_at: datetime, ends_at: datetime
                             ) -> list[HeldContract]:
        # The one place that says which contracts an outage hits: the live ones (a contract
        # split by a resale is superseded by its pieces, which are credited instead) on the
        # pool overlapping its hours. FOR SHARE: a resale cannot split a contract while its
        # credit is being written.
        stmt = (select(contracts.c.id, contracts.c.holder_id, contracts.c.gpus,
                       contracts.c.starts_at, contracts.c.ends_at, contracts.c.price)
                .where(contracts.c.pool_id == pool_id, contracts.c.starts_at < ends_at,
                       contracts.c.ends_at > starts_at, contracts.c.superseded_at.is_(None))
                .order_by(contracts.c.id).with_for_update(read=True))
        return [HeldContract(*tuple(r)) for r in await self._conn.execute(stmt)]

    async def add(self, pool_id: str, spec: OutageSpec, gpus: int, reported_by: str,
                  tx_id: int | None) -> Outage:
        row = (await self._conn.execute(insert(outages).values(
            pool_id=pool_id, kind=spec.kind, gpus=gpus, starts_at=spec.starts_at,
            ends_at=spec.ends_at, reported_by=reported_by, reason=spec.reason, tx_id=tx_id,
        ).returning(*_OUTAGE_COLUMNS))).one()
        return Outage(*tuple(row))

    async def add_credits(self, outage_id: int, credits: Sequence[Credit]) -> None:
        if not credits:
            return
        await self._conn.execute(insert(contract_credits), [
            {"contract_id": c.contract_id, "outage_id": outage_id, "holder_id": c.holder_id,
             "gpu_hours": (Decimal(c.gpu_hours.numerator) / Decimal(c.gpu_hours.denominator)
                           ).quantize(_GPU_HOURS_PLACES, rounding=ROUND_DOWN),
             "owed": c.owed, "paid": c.paid} for c in credits])

    async def of_pool(self, pool_id: str, *, before_id: int | None, limit: int
                      ) -> list[Outage]:
        stmt = (select(*_OUTAGE_COLUMNS, *_totals())
                .select_from(outages.outerjoin(
                    contract_credits, contract_credits.c.outage_id == outages.c.id))
                .where(outages.c.pool_id == pool_id)
                .group_by(*_OUTAGE_COLUMNS).order_by(outages.c.id.desc()).limit(limit))
        if before_id is not None:
            stmt = stmt.where(outages.c.id < before_id)
        return [Outage(*tuple(r)) for r in await self._conn.execute(stmt)]

    async def credits(self, *, outage_id: int | None = None, contract_id: int | None = None
                      ) -> list[StoredCredit]:
        conds = [c for c in (
            contract_credits.c.outage_id == outage_id if outage_id is not None else None,
            contract_credits.c.contract_id == contract_id if contract_id is not None else None,
        ) if c is not None]
        stmt = (select(*_CREDIT_COLUMNS).where(and_(True, *conds))
                .order_by(contract_credits.c.outage_id, contract_credits.c.contract_id))
        return [StoredCredit(*tuple(r)) for r in await self._conn.execute(stmt)]

    async def contract_parties(self, contract_id: int) -> tuple[str, str] | None:
        row = (await self._conn.execute(
            select(contracts.c.holder_id, contracts.c.provider_id)
            .where(contracts.c.id == contract_id))).first()
        return (row.holder_id, row.provider_id) if row else None
