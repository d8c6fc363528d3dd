"""The services the routes use, built once per app from its resources."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Path, Query
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from gpux.adapters.clock import SystemClock
from gpux.adapters.postgres.engine import make_engine
from gpux.adapters.postgres.entry import PgOrderEntry
from gpux.adapters.postgres.uow import PgUnitOfWorkFactory
from gpux.bootstrap import Resources
from gpux.config import Settings
from gpux.domain.credits import CreditSchedule
from gpux.domain.errors import InvalidValue
from gpux.domain.orders import OrderLimits
from gpux.entrypoints.api.keycache import KeyCache
from gpux.service.accounts import AccountService
from gpux.service.bandindex import BandIndex
from gpux.service.credits import OutageService
from gpux.service.funds import FundsService
from gpux.service.halts import HaltService
from gpux.service.market import MarketService
from gpux.service.orders import OrderService
from gpux.service.pools import PoolService
from gpux.service.resale import ResaleService

# Ids are BIGINT: a larger number is refused as invalid (422) before it reaches a query.
MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@dataclass(frozen=True)
class Services:
    """Everything a request handler may call."""

    settings: Settings
    engine: AsyncEngine
    entry: PgOrderEntry
    accounts: AccountService
    pools: PoolService
    orders: OrderService
    market: MarketService
    keys: KeyCache
    funds: FundsService
    halts: HaltService
    outages: OutageService
    resale: ResaleService


def limits_of(settings: Settings) -> OrderLimits:
    """The order limits the settings configure."""
    return OrderLimits(
        max_gpus=settings.max_order_gpus, max_hours=settings.max_order_hours,
        max_price_per_gpu_hour=settings.max_price_per_gpu_hour,
        max_alternatives=settings.max_alternatives, max_legs=settings.max_legs,
        max_open_orders=settings.max_open_orders_per_account)


def build_services(res: Resources, pool_size: int = 8) -> Services:
    """Wire the use cases to PostgreSQL and the system clock.

    The API gets an engine of its own without pre-ping (see `make_engine`): a connection
    that died with the server fails one request (a 500, safe to retry with the same client
    order id) and is replaced. Dispose of `Services.engine` and close `Services.entry` when
    done.
    """
    engine = make_engine(res.database_url, pool_size=pool_size, pre_ping=False)
    settings = res.settings
    entry = PgOrderEntry(res.database_url, pool_size=settings.order_entry_connections,
                         orders_stream=settings.orders_stream)
    uow = PgUnitOfWorkFactory(engine, settings.orders_stream)
    # Pools, asks and bids join the partition of their regions (one, unless configured).
    partitions = settings.partition_map()
    accounts = AccountService(uow)
    clock = SystemClock()
    bands = (None if settings.price_band_pct is None
             else BandIndex(uow, clock, settings.price_band_pct))
    return Services(
        settings=settings, engine=engine, entry=entry, accounts=accounts,
        pools=PoolService(uow, partitions),
        orders=OrderService(uow, entry, clock, limits_of(settings), partitions, bands),
        market=MarketService(uow), keys=KeyCache(accounts), funds=FundsService(uow),
        halts=HaltService(uow),
        outages=OutageService(uow, CreditSchedule.of(settings.credit_schedule)),
        resale=ResaleService(uow, clock, limits_of(settings), bands))


async def services(request: Request) -> Services:
    """The app's services (a FastAPI dependency; async, so it needs no worker thread)."""
    found: Services = request.app.state.services
    return found


def page_limit(svc: Services, limit: int) -> int:
    """Refuse a page size above the configured maximum."""
    if limit > svc.settings.page_size_max:
        raise InvalidValue("limit", f"must be at most {svc.settings.page_size_max}", limit)
    return limit
