"""One world per round store: the store under test, what order entry and the admin would
write beside it, and readers of what a round left behind, the same for the fake and
PostgreSQL so the contract suite reads as one set of tests."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from fakes.fake_rounds import FakeRoundStore
from gpux.adapters.postgres.ledger import PgLedger
from gpux.adapters.postgres.rounds import PostgresRounds
from gpux.adapters.postgres.tables import (
    accounts,
    alternatives,
    auctions,
    contracts,
    fills,
    legs,
    market_state,
    orders,
    outbox,
    pools,
    price_index,
    prices,
)
from gpux.domain import ledger as rules
from gpux.domain.rounds import Fill, IndexRow, OpenAlternative, OpenPool, PriceRow
from gpux.service.ledger_ports import Balance
from gpux.service.round_ports import Event, RoundStore

HOUR = timedelta(hours=1)
# A fixed hour: the store never looks at the wall clock, only at the cutoffs it is given.
H0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
BEFORE = H0 - 6 * HOUR  # when the orders of a test were placed
_client_ids = itertools.count(1)


@dataclass(frozen=True)
class OrderView:
    status: str
    frozen_auction_id: int | None


@dataclass(frozen=True)
class AuctionView:
    id: int
    partition: str
    cutoff: datetime
    status: str
    book: dict[str, Any]
    solve_status: str | None
    surplus: Decimal | None
    volume_gpu_hours: int | None


@dataclass(frozen=True)
class ContractView:
    id: int
    holder_id: str
    pool_id: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    fill_id: int | None
    parent_id: int | None
    live: bool


class World:
    """What a contract test needs around a round store."""

    kind: str
    store: RoundStore

    async def add_account(self, account_id: str, role: str) -> None:
        raise NotImplementedError

    async def add_pool(self, pool: OpenPool, *, gpus: int = 8,
                       partition: str = "main") -> str:
        raise NotImplementedError

    async def add_ask(self, account: str, pool: str, *, gpus: int, price: str,
                      starts_at: datetime, ends_at: datetime, partition: str = "main",
                      created_at: datetime = BEFORE, contract_id: int | None = None) -> int:
        raise NotImplementedError

    async def add_bid(self, account: str, *alts: OpenAlternative, partition: str = "main",
                      created_at: datetime = BEFORE) -> int:
        raise NotImplementedError

    async def add_contract(self, holder: str, provider: str, pool: str, *, gpus: int,
                           starts_at: datetime, ends_at: datetime, price: str) -> int:
        raise NotImplementedError

    async def offer_contract(self, contract_id: int, offer_id: int) -> None:
        raise NotImplementedError

    async def request_cancel(self, order_id: int) -> None:
        raise NotImplementedError

    async def halt(self, halted: bool) -> None:
        raise NotImplementedError

    async def order(self, order_id: int) -> OrderView:
        raise NotImplementedError

    async def locked_elsewhere(self, order_id: int) -> bool:
        """Whether another transaction holds the order's row lock now."""
        raise NotImplementedError

    async def auctions(self) -> list[AuctionView]:
        raise NotImplementedError

    async def fills(self) -> list[tuple[int, int, Fill]]:
        """(fill id, auction id, fill), by id."""
        raise NotImplementedError

    async def prices(self, auction_id: int) -> tuple[list[PriceRow], list[IndexRow]]:
        raise NotImplementedError

    async def events(self) -> list[Event]:
        raise NotImplementedError

    async def contracts(self) -> list[ContractView]:
        raise NotImplementedError

    async def balance(self, account: str) -> Balance:
        raise NotImplementedError


class FakeWorld(World):
    kind = "fake"

    def __init__(self) -> None:
        self.fake = FakeRoundStore()
        self.store = self.fake

    async def add_account(self, account_id: str, role: str) -> None:
        pass  # the fake keeps no accounts table

    async def add_pool(self, pool: OpenPool, *, gpus: int = 8,
                       partition: str = "main") -> str:
        return self.fake.add_pool(pool, partition=partition)

    async def add_ask(self, account: str, pool: str, *, gpus: int, price: str,
                      starts_at: datetime, ends_at: datetime, partition: str = "main",
                      created_at: datetime = BEFORE, contract_id: int | None = None) -> int:
        return self.fake.add_ask(account, pool, gpus=gpus, price=Decimal(price),
                                 starts_at=starts_at, ends_at=ends_at, partition=partition,
                                 created_at=created_at, contract_id=contract_id)

    async def add_bid(self, account: str, *alts: OpenAlternative, partition: str = "main",
                      created_at: datetime = BEFORE) -> int:
        return await self.fake.add_bid(account, *alts, partition=partition,
                                       created_at=created_at)

    async def add_contract(self, holder: str, provider: str, pool: str, *, gpus: int,
                           starts_at: datetime, ends_at: datetime, price: str) -> int:
        return self.fake.add_contract(holder, provider, pool, gpus=gpus, starts_at=starts_at,
                                      ends_at=ends_at, price=Decimal(price))

    async def offer_contract(self, contract_id: int, offer_id: int) -> None:
        self.fake.offer_contract(contract_id, offer_id)

    async def request_cancel(self, order_id: int) -> None:
        self.fake.request_cancel(order_id)

    async def halt(self, halted: bool) -> None:
        self.fake.halt(halted)

    async def order(self, order_id: int) -> OrderView:
        o = self.fake.state.orders[order_id]
        return OrderView(o.status, o.frozen_auction_id)

    async def locked_elsewhere(self, order_id: int) -> bool:
        return self.fake.in_transaction()  # one fake transaction holds every row

    async def auctions(self) -> list[AuctionView]:
        return [AuctionView(a.id, a.partition, a.cutoff, a.status, a.book,
                            a.summary.solve_status if a.summary else None,
                            a.summary.surplus if a.summary else None,
                            a.summary.volume_gpu_hours if a.summary else None)
                for _, a in sorted(self.fake.state.auctions.items())]

    async def fills(self) -> list[tuple[int, int, Fill]]:
        return [(i, a, f) for i, (a, f) in sorted(self.fake.state.fills.items())]

    async def prices(self, auction_id: int) -> tuple[list[PriceRow], list[IndexRow]]:
        s = self.fake.state
        return ([p for (a, _, _), p in sorted(s.prices.items()) if a == auction_id],
                [i for (a, _), i in sorted(s.index.items()) if a == auction_id])

    async def events(self) -> list[Event]:
        return list(self.fake.state.outbox)

    async def contracts(self) -> list[ContractView]:
        return [ContractView(c.id, c.holder_id, c.pool_id, c.gpus, c.starts_at, c.ends_at,
                             c.fill_id, c.parent_id, not c.superseded)
                for _, c in sorted(self.fake.state.contracts.items())]

    async def balance(self, account: str) -> Balance:
        return await self.fake.ledger().balance(account)


class PgWorld(World):
    kind = "postgres"

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.store = PostgresRounds(engine)

    async def add_account(self, account_id: str, role: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(insert(accounts).values(id=account_id, name=account_id,
                                                       role=role))

    async def add_pool(self, pool: OpenPool, *, gpus: int = 8,
                       partition: str = "main") -> str:
        async with self.engine.begin() as conn:
            await conn.execute(insert(pools).values(
                id=pool.id, provider_id=pool.provider, gpu=pool.gpu, region=pool.region,
                uptime=pool.uptime, gpus=gpus, partition=partition))
        return pool.id

    async def add_ask(self, account: str, pool: str, *, gpus: int, price: str,
                      starts_at: datetime, ends_at: datetime, partition: str = "main",
                      created_at: datetime = BEFORE, contract_id: int | None = None) -> int:
        async with self.engine.begin() as conn:
            return int((await conn.execute(insert(orders).values(
                account_id=account, side="ask", client_order_id=f"c{next(_client_ids)}",
                partition=partition, starts_at=starts_at, ends_at=ends_at, pool_id=pool,
                gpus=gpus, price=Decimal(price), request={}, created_at=created_at,
                contract_id=contract_id).returning(orders.c.id))).scalar_one())

    async def add_bid(self, account: str, *alts: OpenAlternative, partition: str = "main",
                      created_at: datetime = BEFORE) -> int:
        most = max(a.value for a in alts)
        async with self.engine.begin() as conn:
            order_id = int((await conn.execute(insert(orders).values(
                account_id=account, side="bid", client_order_id=f"c{next(_client_ids)}",
                partition=partition, starts_at=min(a.earliest_start for a in alts),
                ends_at=max(a.latest_end for a in alts), max_value=most, request={},
                created_at=created_at).returning(orders.c.id))).scalar_one())
            ledger = PgLedger(conn)
            await ledger.post(rules.deposit(account, most))
            await ledger.post(rules.hold(account, order_id, most))
            for k, alt in enumerate(alts):
                await conn.execute(insert(alternatives).values(
                    order_id=order_id, idx=k, value=alt.value,
                    earliest_start=alt.earliest_start, latest_end=alt.latest_end))
                for j, leg in enumerate(alt.legs):
                    await conn.execute(insert(legs).values(
                        order_id=order_id, alt_idx=k, idx=j, gpus=leg.gpus,
                        duration_hours=leg.duration_hours, offset_hours=leg.offset_hours,
                        gpu=list(leg.gpu) if leg.gpu else None,
                        regions=list(leg.regions) if leg.regions else None,
                        min_uptime=leg.min_uptime,
                        pools=list(leg.pools) if leg.pools else None))
        return order_id

    async def add_contract(self, holder: str, provider: str, pool: str, *, gpus: int,
                           starts_at: datetime, ends_at: datetime, price: str) -> int:
        async with self.engine.begin() as conn:
            return int((await conn.execute(insert(contracts).values(
                holder_id=holder, provider_id=provider, pool_id=pool, gpus=gpus,
                starts_at=starts_at, ends_at=ends_at, price=Decimal(price),
            ).returning(contracts.c.id))).scalar_one())

    async def offer_contract(self, contract_id: int, offer_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(contracts).where(contracts.c.id == contract_id)
                               .values(offer_id=offer_id))

    async def request_cancel(self, order_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(update(orders).where(orders.c.id == order_id)
                               .values(cancel_requested=True))

    async def halt(self, halted: bool) -> None:
        stmt = pg_insert(market_state).values(id=True, halted=halted, changed_by="test")
        async with self.engine.begin() as conn:
            await conn.execute(stmt.on_conflict_do_update(
                index_elements=[market_state.c.id], set_={"halted": halted}))

    async def _rows(self, stmt: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(stmt)).all())

    async def order(self, order_id: int) -> OrderView:
        (r,) = await self._rows(select(orders.c.status, orders.c.frozen_auction_id)
                                .where(orders.c.id == order_id))
        return OrderView(r.status, r.frozen_auction_id)

    async def locked_elsewhere(self, order_id: int) -> bool:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(select(orders.c.id).where(orders.c.id == order_id)
                                   .with_for_update(nowait=True))
        except DBAPIError as e:
            if "could not obtain lock" in str(e):
                return True
            raise
        return False

    async def auctions(self) -> list[AuctionView]:
        return [AuctionView(r.id, r.partition, r.cutoff, r.status, r.book, r.solve_status,
                            r.surplus, r.volume_gpu_hours)
                for r in await self._rows(select(auctions).order_by(auctions.c.id))]

    async def fills(self) -> list[tuple[int, int, Fill]]:
        return [(r.id, r.auction_id, Fill(r.order_id, r.account_id, r.side, r.pool_id,
                                          r.starts_at, r.ends_at, r.gpus, r.amount,
                                          r.alternative, r.leg))
                for r in await self._rows(select(fills).order_by(fills.c.id))]

    async def prices(self, auction_id: int) -> tuple[list[PriceRow], list[IndexRow]]:
        p = await self._rows(select(prices).where(prices.c.auction_id == auction_id)
                             .order_by(prices.c.pool_id, prices.c.starts_at))
        i = await self._rows(select(price_index).where(price_index.c.auction_id == auction_id)
                             .order_by(price_index.c.gpu))
        return ([PriceRow(r.pool_id, r.starts_at, r.ends_at, r.price) for r in p],
                [IndexRow(r.gpu, r.price, r.gpu_hours) for r in i])

    async def events(self) -> list[Event]:
        return [Event(r.stream, r.event_id, r.payload)
                for r in await self._rows(select(outbox).order_by(outbox.c.id))]

    async def contracts(self) -> list[ContractView]:
        return [ContractView(r.id, r.holder_id, r.pool_id, r.gpus, r.starts_at, r.ends_at,
                             r.fill_id, r.parent_id, r.superseded_at is None)
                for r in await self._rows(select(contracts).order_by(contracts.c.id))]

    async def balance(self, account: str) -> Balance:
        async with self.engine.connect() as conn:
            return await PgLedger(conn).balance(account)
