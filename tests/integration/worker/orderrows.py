"""Rows of accounts, pools and orders written straight with SQLAlchemy Core (no API), and
what the worker tests read back."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gpux.adapters.postgres.ledger import PgLedger
from gpux.adapters.postgres.tables import accounts, alternatives, legs, orders, pools
from gpux.domain import ledger as rules

HOUR = timedelta(hours=1)
_client_ids = itertools.count(1)


def this_hour() -> datetime:
    """The start of the current UTC hour."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def long_ago() -> datetime:
    """A creation time before any cutoff a test uses."""
    return datetime.now(UTC) - 3 * HOUR


@dataclass(frozen=True)
class Leg:
    gpus: int
    hours: int
    offset: int = 0
    gpu: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Alt:
    value: Decimal
    earliest_start: datetime
    latest_end: datetime
    legs: tuple[Leg, ...]


async def add_account(conn: AsyncConnection, account_id: str, role: str) -> str:
    await conn.execute(insert(accounts).values(id=account_id, name=account_id, role=role))
    return account_id


async def add_pool(conn: AsyncConnection, pool_id: str, provider: str, *, gpus: int,
                   gpu: str = "H100", region: str = "us-east", uptime: str = "99.9",
                   partition: str = "main") -> str:
    await conn.execute(insert(pools).values(
        id=pool_id, provider_id=provider, gpu=gpu, region=region, uptime=Decimal(uptime),
        gpus=gpus, partition=partition))
    return pool_id


async def add_ask(conn: AsyncConnection, account: str, pool: str, *, gpus: int, price: str,
                  starts_at: datetime, ends_at: datetime, partition: str = "main",
                  created_at: datetime | None = None) -> int:
    return int((await conn.execute(insert(orders).values(
        account_id=account, side="ask", client_order_id=f"c{next(_client_ids)}",
        partition=partition, starts_at=starts_at, ends_at=ends_at, pool_id=pool, gpus=gpus,
        price=Decimal(price), request={}, created_at=created_at or long_ago(),
    ).returning(orders.c.id))).scalar_one())


async def add_bid(conn: AsyncConnection, account: str, *alts: Alt, partition: str = "main",
                  created_at: datetime | None = None) -> int:
    """A bid as order entry leaves it: its largest value deposited and held for it."""
    max_value = max(a.value for a in alts)
    order_id = int((await conn.execute(insert(orders).values(
        account_id=account, side="bid", client_order_id=f"c{next(_client_ids)}",
        partition=partition, starts_at=min(a.earliest_start for a in alts),
        ends_at=max(a.latest_end for a in alts), max_value=max_value,
        request={}, created_at=created_at or long_ago(),
    ).returning(orders.c.id))).scalar_one())
    ledger = PgLedger(conn)
    await ledger.post(rules.deposit(account, max_value))
    await ledger.post(rules.hold(account, order_id, max_value))
    for k, alt in enumerate(alts):
        await conn.execute(insert(alternatives).values(
            order_id=order_id, idx=k, value=alt.value, earliest_start=alt.earliest_start,
            latest_end=alt.latest_end))
        for j, leg in enumerate(alt.legs):
            await conn.execute(insert(legs).values(
                order_id=order_id, alt_idx=k, idx=j, gpus=leg.gpus, duration_hours=leg.hours,
                offset_hours=leg.offset, gpu=list(leg.gpu) if leg.gpu else None))
    return order_id


async def rows(engine: AsyncEngine, table: Any, *where: Any) -> list[Any]:
    async with engine.connect() as conn:
        stmt = select(table).where(*where) if where else select(table)
        return list((await conn.execute(stmt)).all())


async def count(engine: AsyncEngine, table: Any, *where: Any) -> int:
    async with engine.connect() as conn:
        stmt = select(func.count()).select_from(table)
        return int((await conn.execute(stmt.where(*where) if where else stmt)).scalar_one())


async def status_of(engine: AsyncEngine, order_id: int) -> str:
    async with engine.connect() as conn:
        return str((await conn.execute(
            select(orders.c.status).where(orders.c.id == order_id))).scalar_one())
