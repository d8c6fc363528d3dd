"""What the feed reads from the order book: supply and demand totals, an account's open
orders and recent fills. Totals only: the book is sealed, so no row names another account."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# Supply: GPU-hours that open asks offer, split over the UTC days their windows cover.
_SUPPLY = text("""
SELECT p.gpu, p.region, d::date AS day,
       SUM(o.gpus * EXTRACT(EPOCH FROM LEAST(o.ends_at, d + interval '1 day')
                                       - GREATEST(o.starts_at, d)) / 3600)::bigint AS gpu_hours,
       COUNT(DISTINCT o.id) AS orders
FROM orders o
JOIN pools p ON p.id = o.pool_id
CROSS JOIN LATERAL generate_series(date_trunc('day', o.starts_at AT TIME ZONE 'UTC')
                                       AT TIME ZONE 'UTC',
                                   o.ends_at - interval '1 second', interval '1 day') AS d
WHERE o.side = 'ask' AND o.status = 'open'
GROUP BY 1, 2, 3
""")

# Demand: GPU-hours the legs of open bids ask for, per model and region they accept ('any'
# where a leg names none), on the UTC day the alternative's window opens. Alternatives are
# either-or, so the totals are what bidders would take, not what they will buy.
_DEMAND = text("""
SELECT g.gpu, COALESCE(r.region, 'any') AS region,
       (a.earliest_start AT TIME ZONE 'UTC')::date AS day,
       SUM(l.gpus * l.duration_hours)::bigint AS gpu_hours, COUNT(DISTINCT o.id) AS orders
FROM orders o
JOIN bid_alternatives a ON a.order_id = o.id
JOIN bid_legs l ON l.order_id = o.id AND l.alt_idx = a.idx
CROSS JOIN LATERAL unnest(COALESCE(l.gpu, ARRAY['any']::varchar[])) AS g(gpu)
LEFT JOIN LATERAL unnest(l.regions) AS r(region) ON true
WHERE o.side = 'bid' AND o.status = 'open'
GROUP BY 1, 2, 3
""")

# What the supply totals depend on, cheaply (an index-only scan of ix_orders_open): an order
# entering the book adds its id, one leaving takes it away, whatever order they commit in.
_BOOK_VERSION = text("""
SELECT count(*) AS n, COALESCE(sum(id), 0) AS ids FROM orders WHERE status = 'open'
""")

_OPEN_ORDERS = text("""
SELECT id, client_order_id, side, status, pool_id, gpus, price, max_value, starts_at, ends_at,
       cancel_requested, frozen_auction_id, created_at
FROM orders WHERE account_id = :account AND status = 'open' ORDER BY id
""")

_RECENT_FILLS = text("""
SELECT id, auction_id, order_id, side, alternative, leg, pool_id, starts_at, ends_at, gpus,
       amount
FROM fills WHERE account_id = :account ORDER BY id DESC LIMIT :limit
""")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


class PgFeedQueries:
    """`gpux.service.feed_ports.FeedQueries` on PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def supply(self) -> list[dict[str, object]]:
        async with self.engine.connect() as conn:
            offered = (await conn.execute(_SUPPLY)).all()
            wanted = (await conn.execute(_DEMAND)).all()
        rows: dict[tuple[str, str, str], dict[str, object]] = {}
        for side, found in (("supply", offered), ("demand", wanted)):
            for r in found:
                key = (r.gpu, r.region, r.day.isoformat())
                row = rows.setdefault(key, {
                    "gpu": key[0], "region": key[1], "day": key[2], "supply_gpu_hours": 0,
                    "asks": 0, "demand_gpu_hours": 0, "bids": 0})
                row[f"{side}_gpu_hours"] = int(r.gpu_hours)
                row["asks" if side == "supply" else "bids"] = int(r.orders)
        return [rows[k] for k in sorted(rows)]

    async def book_version(self) -> str:
        """A fingerprint of the open book (`<orders>:<sum of ids>`): it changes whenever an
        order enters or leaves it, so the supply totals need recomputing only when it does."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(_BOOK_VERSION)).one()
        return f"{row.n}:{row.ids}"

    async def open_orders(self, account_id: str) -> list[dict[str, object]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(_OPEN_ORDERS, {"account": account_id})
            return [{("pool" if k == "pool_id" else k): _plain(v)
                     for k, v in r._mapping.items()} for r in rows]

    async def recent_fills(self, account_id: str, limit: int) -> list[dict[str, object]]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(_RECENT_FILLS, {"account": account_id, "limit": limit}))
            found = [{("fill_id" if k == "id" else "pool" if k == "pool_id" else k): _plain(v)
                      for k, v in r._mapping.items()} for r in rows]
        return found[::-1]
