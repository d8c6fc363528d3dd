"""Figures about a cleared round for the worker's metrics: GPU-hours and prices by product."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@dataclass(frozen=True, slots=True)
class ProductStats:
    """What traded of one GPU model in one region: GPU-hours and their mean clearing price."""

    gpu: str
    region: str
    gpu_hours: int
    price: Decimal


_TRADED = text("""
    SELECT p.gpu, p.region,
           SUM(f.gpus * EXTRACT(EPOCH FROM f.ends_at - f.starts_at) / 3600)::bigint AS hours,
           SUM(f.amount) AS amount
    FROM fills f JOIN pools p ON p.id = f.pool_id
    WHERE f.auction_id = :auction AND f.side = 'bid'
    GROUP BY p.gpu, p.region
""")
_INDEX = text("SELECT gpu, price FROM price_index WHERE auction_id = :auction")
_OPEN = text("""SELECT side, COUNT(*) FROM orders WHERE status = 'open' AND partition = :p
                GROUP BY side""")


async def traded(engine: AsyncEngine, auction_id: int) -> list[ProductStats]:
    """GPU-hours and GPU-hour weighted clearing price per (GPU model, region) of an auction."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_TRADED, {"auction": auction_id})).all()
    return [ProductStats(r.gpu, r.region, int(r.hours), Decimal(r.amount) / int(r.hours))
            for r in rows if r.hours]


async def price_index(engine: AsyncEngine, auction_id: int) -> dict[str, Decimal]:
    """The auction's price index per GPU model."""
    async with engine.connect() as conn:
        return {r.gpu: Decimal(r.price)
                for r in (await conn.execute(_INDEX, {"auction": auction_id})).all()}


async def open_orders(engine: AsyncEngine, partition: str) -> dict[str, int]:
    """Open orders of a partition by side."""
    async with engine.connect() as conn:
        return {r[0]: int(r[1]) for r in (await conn.execute(_OPEN, {"p": partition})).all()}
