"""Reading fills, contracts, auctions and prices (written by the clearing worker)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from gpux.adapters.postgres.tables import auctions, contracts, fills, orders, prices
from gpux.service.ports import (
    AuctionSummary,
    ClearingPrice,
    Contract,
    Fill,
    PriceIndexEntry,
)

_AUCTION_COLUMNS = (auctions.c.id, auctions.c.partition, auctions.c.cutoff,
                    auctions.c.horizon_start, auctions.c.slots, auctions.c.status,
                    auctions.c.solve_status, auctions.c.surplus, auctions.c.bound,
                    auctions.c.volume_gpu_hours, auctions.c.solve_seconds, auctions.c.bids,
                    auctions.c.asks, auctions.c.created_at, auctions.c.cleared_at)

_FILL_COLUMNS = (fills.c.id, fills.c.auction_id, fills.c.order_id, fills.c.side,
                 fills.c.alternative, fills.c.leg, fills.c.pool_id, fills.c.starts_at,
                 fills.c.ends_at, fills.c.gpus, fills.c.amount, fills.c.created_at)

_CONTRACT_COLUMNS = (contracts.c.id, contracts.c.fill_id, contracts.c.holder_id,
                     contracts.c.provider_id, contracts.c.pool_id, contracts.c.gpus,
                     contracts.c.starts_at, contracts.c.ends_at, contracts.c.price,
                     contracts.c.created_at)

_PRICE_INDEX = text("""
SELECT DISTINCT ON (p.gpu) p.gpu, p.price, p.gpu_hours, p.auction_id, a.cutoff
FROM price_index p JOIN auctions a ON a.id = p.auction_id
ORDER BY p.gpu, a.cutoff DESC, p.auction_id DESC
""")


class PgMarketReads:
    """`MarketReads` on PostgreSQL."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def fills(self, account_id: str, *, order_id: int | None, auction_id: int | None,
                    before_id: int | None, limit: int) -> list[Fill]:
        stmt = select(*_FILL_COLUMNS).where(fills.c.account_id == account_id)
        if order_id is not None:
            stmt = stmt.where(fills.c.order_id == order_id)
        if auction_id is not None:
            stmt = stmt.where(fills.c.auction_id == auction_id)
        if before_id is not None:
            stmt = stmt.where(fills.c.id < before_id)
        stmt = stmt.order_by(fills.c.id.desc()).limit(limit)
        return [Fill(*tuple(r)) for r in await self._conn.execute(stmt)]

    async def contracts(self, account_id: str, *, before_id: int | None, limit: int,
                        role: str | None = None, undelivered: bool = False,
                        superseded: bool = False) -> list[Contract]:
        now = func.now()
        delivery = case((now < contracts.c.starts_at, "upcoming"),
                        (now < contracts.c.ends_at, "delivering"), else_="delivered")
        whose = {"holder": contracts.c.holder_id == account_id,
                 "provider": contracts.c.provider_id == account_id}
        status = case((contracts.c.superseded_at.is_(None), "live"), else_="superseded")
        # On offer while the resale order that marked it is open.
        offer = (select(orders.c.id).where(orders.c.id == contracts.c.offer_id,
                                           orders.c.status == "open").scalar_subquery())
        # What the holder paid: its fill's amount if the contract is the whole fill; a piece
        # of a fill, or one a reseller kept, cost its own price.
        whole = and_(fills.c.gpus == contracts.c.gpus, fills.c.starts_at == contracts.c.starts_at,
                     fills.c.ends_at == contracts.c.ends_at)
        amount = case((whole, fills.c.amount), else_=contracts.c.price)
        stmt = (select(*_CONTRACT_COLUMNS, amount, delivery, contracts.c.parent_id, status,
                       offer)
                .outerjoin(fills, fills.c.id == contracts.c.fill_id)
                .where(whose[role] if role else or_(*whose.values())))
        if not superseded:
            stmt = stmt.where(contracts.c.superseded_at.is_(None))
        if undelivered:
            stmt = stmt.where(contracts.c.ends_at > now)
        if before_id is not None:
            stmt = stmt.where(contracts.c.id < before_id)
        stmt = stmt.order_by(contracts.c.id.desc()).limit(limit)
        return [Contract(*tuple(r)) for r in await self._conn.execute(stmt)]

    async def auctions(self, *, before_id: int | None, limit: int) -> list[AuctionSummary]:
        stmt = select(*_AUCTION_COLUMNS)
        if before_id is not None:
            stmt = stmt.where(auctions.c.id < before_id)
        stmt = stmt.order_by(auctions.c.id.desc()).limit(limit)
        return [AuctionSummary(*tuple(r)) for r in await self._conn.execute(stmt)]

    async def auction(self, auction_id: int) -> AuctionSummary | None:
        row = (await self._conn.execute(
            select(*_AUCTION_COLUMNS).where(auctions.c.id == auction_id))).first()
        return AuctionSummary(*tuple(row)) if row else None

    async def clearing_prices(self, auction_id: int) -> list[ClearingPrice]:
        stmt = (select(prices.c.pool_id, prices.c.starts_at, prices.c.ends_at, prices.c.price)
                .where(prices.c.auction_id == auction_id)
                .order_by(prices.c.pool_id, prices.c.starts_at))
        return [ClearingPrice(*tuple(r)) for r in await self._conn.execute(stmt)]

    async def price_index(self) -> list[PriceIndexEntry]:
        rows: Any = await self._conn.execute(_PRICE_INDEX)
        return [PriceIndexEntry(*tuple(r)) for r in rows]
