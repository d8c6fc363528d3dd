"""The unit of work: one connection and one transaction shared by every repository."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gpux.adapters.postgres.accounts import PgAccounts, PgPools
from gpux.adapters.postgres.contracts import PgContracts
from gpux.adapters.postgres.halts import PgHalts
from gpux.adapters.postgres.ledger import PgLedger, PgTransfers
from gpux.adapters.postgres.market import PgMarketReads
from gpux.adapters.postgres.orders import PgOrders
from gpux.adapters.postgres.outages import PgOutages


class PgUnitOfWork:
    """`UnitOfWork` on PostgreSQL: rolled back on exit unless committed."""

    accounts: PgAccounts
    pools: PgPools
    orders: PgOrders
    market: PgMarketReads
    ledger: PgLedger
    halts: PgHalts
    contracts: PgContracts
    outages: PgOutages
    transfers: PgTransfers

    def __init__(self, engine: AsyncEngine, orders_stream: str = "gpux:orders") -> None:
        self._engine = engine
        self._orders_stream = orders_stream  # where order-entry events go (the outbox)
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        conn = await self._engine.connect()
        await conn.begin()
        self._conn = conn
        self.accounts = PgAccounts(conn)
        self.pools = PgPools(conn)
        self.orders = PgOrders(conn, self._orders_stream)
        self.market = PgMarketReads(conn)
        self.ledger = PgLedger(conn)
        self.halts = PgHalts(conn, self._orders_stream)
        self.contracts = PgContracts(conn, self._orders_stream)
        self.outages = PgOutages(conn)
        self.transfers = PgTransfers(conn)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            await conn.close()

    async def commit(self) -> None:
        """Commit the transaction."""
        assert self._conn is not None, "commit outside the unit of work"
        await self._conn.commit()


class PgUnitOfWorkFactory:
    """Makes a `PgUnitOfWork` per use case."""

    def __init__(self, engine: AsyncEngine, orders_stream: str = "gpux:orders") -> None:
        self.engine = engine
        self.orders_stream = orders_stream

    def __call__(self) -> PgUnitOfWork:
        return PgUnitOfWork(self.engine, self.orders_stream)
