"""An outage recorded while a resale offer is going in: both finish, the credits reach the
pieces (an offer that locked its contract before the pool deadlocked with the outage)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from apihelp import account, pool
from sqlalchemy import insert, text

from gpux.adapters.postgres.tables import contracts
from gpux.adapters.postgres.uow import PgUnitOfWork
from gpux.domain.accounts import Account
from gpux.domain.credits import OutageSpec
from gpux.domain.resale import ResaleOffer
from gpux.service.resale import ResaleService

H = timedelta(hours=1)
BASE = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + H
ACME = Account("acme", "Acme", "provider")
LAB = Account("lab", "Lab", "buyer")


async def _contract(client: Any, engine: Any) -> int:
    """lab holds 4 GPUs of acme's p1 for 8 hours, bought for 80; acme can pay credits."""
    prov = await account(client, "acme", "provider")
    await account(client, "lab", "buyer")
    await pool(client, prov, "p1", gpus=8)
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO balances (account_id, available) VALUES ('acme', 1000) "
            "ON CONFLICT (account_id) DO UPDATE SET available = 1000"))
        return int((await conn.execute(insert(contracts).values(
            holder_id="lab", provider_id="acme", pool_id="p1", gpus=4,
            starts_at=BASE + 2 * H, ends_at=BASE + 10 * H, price=Decimal(80))
            .returning(contracts.c.id))).scalar_one())


async def test_an_outage_recorded_while_an_offer_goes_in_does_not_deadlock_with_it(
        client: Any, engine: Any, app: Any) -> None:
    svc = app.state.services
    cid = await _contract(client, engine)
    inside, go = asyncio.Event(), asyncio.Event()

    class Paused(PgUnitOfWork):
        """Holds the offer after it locked what it locks first, before the pool read."""

        async def __aenter__(self) -> Paused:
            await super().__aenter__()
            real_get = self.pools.get

            async def get(pool_id: str, **kw: Any) -> Any:
                inside.set()
                await go.wait()
                return await real_get(pool_id, **kw)

            self.pools.get = get  # type: ignore[method-assign]
            return self

    resale = ResaleService(lambda: Paused(svc.engine), svc.resale._clock, svc.resale._limits)
    offer = asyncio.create_task(resale.offer(LAB, ResaleOffer(
        "o1", cid, 2, BASE + 3 * H, BASE + 5 * H, Decimal("1.5"))))
    await inside.wait()
    outage = asyncio.create_task(svc.outages.record(
        ACME, "p1", OutageSpec(BASE + 2 * H, BASE + 10 * H)))
    await asyncio.sleep(0.5)  # the outage now waits on what the offer holds
    go.set()
    placed, recorded = await asyncio.gather(offer, outage)
    assert placed.created
    # 4 GPUs x 8 h lost at 2.50/GPU-h, 25% for a 99.9 tier... whatever the schedule: every
    # GPU-hour of the contract is credited once, whichever pieces hold it now.
    assert sum(c.gpu_hours for c in recorded.credits) == 4 * 8
