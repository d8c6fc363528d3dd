"""Reliability credits: a provider (or an admin) records an outage or a curtailment of a
pool, and every contract it hits is credited, once, by its tier's schedule, from the
provider's account (`gpux.domain.credits` has the rules; docs/settlement.md an example).

Recording locks the pool's row first, so two reports of one pool are taken one at a time: a
retry of the same report (same hours, kind and GPUs) returns the first and pays nothing
more, and a report sharing an hour with a recorded one is refused (`outage_overlaps`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from gpux.domain.accounts import Account
from gpux.domain.credits import Credit, CreditSchedule, OutageSpec, assess, credit_postings
from gpux.domain.errors import Forbidden, NotFound, OutageOverlaps
from gpux.service.credit_ports import Outage, StoredCredit
from gpux.service.orders import parse_cursor
from gpux.service.ports import Page, Pool, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Recorded:
    """An outage as recorded, its pool, the credits it paid, and whether it is new."""

    outage: Outage
    pool: Pool
    credits: list[StoredCredit]
    created: bool


def _with_totals(outage: Outage, credits: list[StoredCredit]) -> Outage:
    return replace(outage, contracts=len(credits),
                   owed=sum((c.owed for c in credits), Decimal(0)),
                   paid=sum((c.paid for c in credits), Decimal(0)))


async def _pool(uow: UnitOfWork, pool_id: str, *, for_update: bool = False) -> Pool:
    pool = await uow.pools.get(pool_id, for_update=for_update)
    if pool is None:
        raise NotFound("no such pool", "pool_id", pool_id)
    return pool


class OutageService:
    """Recording outages and curtailments, and reading them and their credits."""

    def __init__(self, uow: UnitOfWorkFactory, schedule: CreditSchedule) -> None:
        self._uow = uow
        self._schedule = schedule

    async def record(self, caller: Account, pool_id: str, spec: OutageSpec) -> Recorded:
        """Record an outage of a pool and credit every contract it hits, in one transaction."""
        async with self._uow() as uow:
            pool = await _pool(uow, pool_id, for_update=True)
            if caller.role != "admin" and caller.id != pool.provider_id:
                raise Forbidden("only the pool's provider or an admin may report its outages",
                                "pool_id", pool_id)
            gpus = spec.affected_gpus(pool.gpus)
            found = await uow.outages.overlapping(pool_id, spec.starts_at, spec.ends_at)
            for earlier in found:
                if earlier.same_as(spec, gpus):
                    paid = await uow.outages.credits(outage_id=earlier.id)
                    return Recorded(_with_totals(earlier, paid), pool, paid, created=False)
            if found:
                raise OutageOverlaps(
                    f"outage {found[0].id} is recorded for {found[0].starts_at.isoformat()} to "
                    f"{found[0].ends_at.isoformat()}, sharing hours with this one",
                    "starts_at", spec.starts_at.isoformat())
            credits = await self._assess(uow, pool, spec)
            postings = credit_postings(pool.provider_id, credits)
            tx_id = await uow.ledger.post(postings) if postings else None
            outage = await uow.outages.add(pool_id, spec, gpus, caller.id, tx_id)
            await uow.outages.add_credits(outage.id, credits)
            stored = await uow.outages.credits(outage_id=outage.id)
            await uow.commit()
        return Recorded(_with_totals(outage, stored), pool, stored, created=True)

    async def _assess(self, uow: UnitOfWork, pool: Pool, spec: OutageSpec) -> list[Credit]:
        contracts = await uow.outages.live_contracts(pool.id, spec.starts_at, spec.ends_at)
        if not contracts:
            return []
        # Every balance the credits touch is locked in account-id order, as every ledger
        # writer locks them (so no deadlock), before the provider's is read: a withdrawal
        # cannot take the collateral meanwhile.
        balance = None
        for account_id in sorted({pool.provider_id, *(c.holder_id for c in contracts)}):
            locked = await uow.ledger.balance(account_id, for_update=True)
            if account_id == pool.provider_id:
                balance = locked
        assert balance is not None
        return assess(contracts, pool.gpus, spec, self._schedule.percent(pool.uptime),
                      balance.available)

    async def of_pool(self, pool_id: str, *, cursor: str | None = None, limit: int = 100
                   ) -> Page[Outage]:
        """A pool's outages with their credit totals, newest first, a page at a time."""
        async with self._uow() as uow:
            await _pool(uow, pool_id)
            found = await uow.outages.of_pool(pool_id, before_id=parse_cursor(cursor),
                                              limit=limit + 1)
        items = found[:limit]
        return Page(items, str(items[-1].id) if len(found) > limit else None)

    async def contract_credits(self, caller: Account, contract_id: int) -> list[StoredCredit]:
        """A contract's credits (to its holder, its provider, or an admin)."""
        async with self._uow() as uow:
            parties = await uow.outages.contract_parties(contract_id)
            if parties is None or (caller.role != "admin" and caller.id not in parties):
                raise NotFound("no such contract", "contract_id", contract_id)
            return await uow.outages.credits(contract_id=contract_id)
