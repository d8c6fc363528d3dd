"""Accounts, API keys and pools on PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from gpux.adapters.postgres.tables import accounts, api_keys, pools
from gpux.domain.accounts import Account, PoolSpec
from gpux.service.ports import Pool

_LOCK_FOR_ORDER = text("""
SELECT a.id, a.name, a.role, a.halted FROM accounts a WHERE a.id = :account_id FOR UPDATE
""")

# Read in a statement of its own once the account row is locked: a subquery of the locking
# statement would read the snapshot taken before it waited, missing what the transaction it
# waited for committed (its order, and the open-order count the triggers raised).
_ADMISSION = text("""
SELECT coalesce((SELECT b.open_orders FROM balances b WHERE b.account_id = :account_id), 0)
           AS open_orders,
       (SELECT o.id FROM orders o
        WHERE o.account_id = :account_id AND o.client_order_id = :client_order_id) AS existing
""")

_BY_KEY = (
    select(accounts.c.id, accounts.c.name, accounts.c.role, accounts.c.halted)
    .join(api_keys, api_keys.c.account_id == accounts.c.id)
    .where(api_keys.c.key_hash == bindparam("key_hash"), api_keys.c.revoked_at.is_(None)))

_POOL_COLUMNS = (pools.c.id, pools.c.provider_id, pools.c.gpu, pools.c.region, pools.c.uptime,
                 pools.c.gpus, pools.c.partition, pools.c.created_at)

# What already occupies a pool in a window: its open asks, and what its closed asks sold.
# Resale asks (contract_id set) offer capacity already sold, so they count for nothing here.
_COMMITTED = text("""
SELECT starts_at, ends_at, gpus FROM orders
WHERE pool_id = :pool_id AND side = 'ask' AND status = 'open' AND contract_id IS NULL
  AND starts_at < :ends_at AND ends_at > :starts_at
UNION ALL
SELECT f.starts_at, f.ends_at, f.gpus FROM fills f JOIN orders o ON o.id = f.order_id
WHERE f.pool_id = :pool_id AND f.side = 'ask' AND o.status <> 'open'
  AND o.contract_id IS NULL AND f.starts_at < :ends_at AND f.ends_at > :starts_at
""")


def _account(row: Any) -> Account:
    m = row._mapping
    return Account(m["id"], m["name"], m["role"], m["halted"])


def _pool(row: Any) -> Pool:
    return Pool(*tuple(row))


class PgAccounts:
    """`AccountRepository` on PostgreSQL."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, account: Account) -> bool:
        stmt = pg_insert(accounts).values(
            id=account.id, name=account.name, role=account.role, halted=account.halted
        ).on_conflict_do_nothing(index_elements=["id"])
        result = await self._conn.execute(stmt)
        return bool(result.rowcount)

    async def get(self, account_id: str) -> Account | None:
        row = (await self._conn.execute(
            select(accounts.c.id, accounts.c.name, accounts.c.role, accounts.c.halted)
            .where(accounts.c.id == account_id))).first()
        return _account(row) if row else None

    async def lock_for_order(self, account_id: str, client_order_id: str
                             ) -> tuple[Account, int, int | None] | None:
        row = (await self._conn.execute(_LOCK_FOR_ORDER, {"account_id": account_id})).first()
        if row is None:
            return None
        seen = (await self._conn.execute(_ADMISSION, {
            "account_id": account_id, "client_order_id": client_order_id})).one()
        return _account(row), seen.open_orders, seen.existing

    async def add_key(self, account_id: str, key_hash: str, prefix: str) -> None:
        await self._conn.execute(insert(api_keys).values(
            account_id=account_id, key_hash=key_hash, prefix=prefix))

    async def by_key_hash(self, key_hash: str) -> Account | None:
        row = (await self._conn.execute(_BY_KEY, {"key_hash": key_hash})).first()
        return _account(row) if row else None


class PgPools:
    """`PoolRepository` on PostgreSQL."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, provider_id: str, pool: PoolSpec, partition: str) -> Pool | None:
        stmt = pg_insert(pools).values(
            id=pool.id, provider_id=provider_id, gpu=pool.gpu, region=pool.region,
            uptime=pool.uptime, gpus=pool.gpus, partition=partition,
        ).on_conflict_do_nothing(index_elements=["id"]).returning(*_POOL_COLUMNS)
        row = (await self._conn.execute(stmt)).first()
        return _pool(row) if row else None

    async def get(self, pool_id: str, *, for_update: bool = False) -> Pool | None:
        stmt = select(*_POOL_COLUMNS).where(pools.c.id == pool_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self._conn.execute(stmt)).first()
        return _pool(row) if row else None

    async def find(self, *, gpu: str | None, region: str | None, provider_id: str | None,
                   after_id: str | None, limit: int) -> list[Pool]:
        conds = [c for c in (
            pools.c.gpu == gpu if gpu is not None else None,
            pools.c.region == region if region is not None else None,
            pools.c.provider_id == provider_id if provider_id is not None else None,
            pools.c.id > after_id if after_id is not None else None) if c is not None]
        stmt = select(*_POOL_COLUMNS).where(and_(True, *conds)).order_by(pools.c.id).limit(limit)
        return [_pool(r) for r in await self._conn.execute(stmt)]

    async def committed(self, pool_id: str, starts_at: datetime, ends_at: datetime
                        ) -> list[tuple[datetime, datetime, int]]:
        rows = await self._conn.execute(_COMMITTED, {
            "pool_id": pool_id, "starts_at": starts_at, "ends_at": ends_at})
        return [(r.starts_at, r.ends_at, r.gpus) for r in rows]

