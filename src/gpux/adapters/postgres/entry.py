"""Order entry's hot path on PostgreSQL: a bid goes in with one statement on a plain asyncpg
pool, one round trip and no BEGIN or COMMIT of its own.

SQLAlchemy's pool checkout, its transaction and result machinery cost more per bid than the
statement itself; this is the one place that steps around them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from gpux.domain.jsonio import dumps
from gpux.domain.orders import BidOrder
from gpux.service.ports import Admission, Order

# Admit the account (exists, not halted, market not halted, under the open-order cap, client
# order id unused), hold the bid's largest alternative value ($7) out of its available balance,
# then insert the bid with its hold's two ledger postings and its alternatives and legs, read
# from its canonical request document ($8). Every CTE reads the statement's snapshot except
# the UPDATE of the balances row, which waits for a concurrent writer of that row and
# re-checks `available >= $7 AND open_orders < $3 AND NOT halted` on the row as that writer
# left it: two bids can never spend the same funds or pass the open-order cap together (the
# count is kept on that row by triggers on `orders`, migration 0005), and a halt (which sets
# the row's `halted` fence) cannot race a bid in. No balance row is touched unless the order
# goes in, and a concurrent twin (same client order id) fails the unique constraint, undoing
# the whole statement; the caller then runs it again, and finds the twin. The order's `placed`
# event ($9: the orders stream) goes into the outbox in the same statement (`ev`), so the
# private `orders` feed channel carries it exactly when the bid is in the book.
PLACE_BID = """
WITH a AS (
  SELECT halted FROM accounts WHERE id = $1
), m AS (
  SELECT coalesce((SELECT halted FROM market_state), false) AS halted
), existing AS (
  SELECT id FROM orders WHERE account_id = $1 AND client_order_id = $2
), n AS (
  SELECT coalesce((SELECT open_orders FROM balances WHERE account_id = $1), 0) AS open_orders
), h AS (
  UPDATE balances
  SET available = available - $7::numeric, held = held + $7::numeric, updated_at = now()
  WHERE account_id = $1 AND available >= $7::numeric AND NOT halted AND open_orders < $3::int
    AND EXISTS (SELECT 1 FROM a, m, n WHERE NOT a.halted AND NOT m.halted
                AND n.open_orders < $3::int AND NOT EXISTS (SELECT 1 FROM existing))
  RETURNING account_id
), o AS (
  INSERT INTO orders (account_id, side, client_order_id, partition, starts_at, ends_at,
                      max_value, request)
  SELECT $1, 'bid', $2, $4, $5::timestamptz, $6::timestamptz, $7::numeric, $8::jsonb
  FROM h
  RETURNING id, status, created_at, updated_at, account_id, client_order_id
), t AS (
  SELECT nextval('ledger_tx_id_seq') AS tx_id FROM o
), ev AS (
  INSERT INTO outbox (stream, event_id, payload)
  SELECT $9, 'order:' || o.id || ':placed',
         jsonb_build_object('type', 'order', 'event', 'placed', 'order_id', o.id,
                            'account_id', o.account_id, 'side', 'bid',
                            'client_order_id', o.client_order_id, 'status', o.status)
  FROM o
), posted AS (
  INSERT INTO ledger_entries (tx_id, account_id, bucket, kind, amount, order_id)
  SELECT t.tx_id, $1, p.bucket, 'hold', p.amount, o.id
  FROM o, t, (VALUES ('available', -$7::numeric), ('held', $7::numeric)) AS p(bucket, amount)
), alt AS (
  SELECT x.alt, x.n - 1 AS idx
  FROM jsonb_array_elements($8::jsonb -> 'alternatives') WITH ORDINALITY AS x(alt, n)
), alts AS (
  INSERT INTO bid_alternatives (order_id, idx, value, earliest_start, latest_end)
  SELECT o.id, alt.idx, (alt.alt ->> 'value')::numeric,
         (alt.alt ->> 'earliest_start')::timestamptz, (alt.alt ->> 'latest_end')::timestamptz
  FROM o, alt
), legs AS (
  INSERT INTO bid_legs (order_id, alt_idx, idx, gpus, duration_hours, offset_hours, gpu,
                        regions, min_uptime, pools)
  SELECT o.id, alt.idx, l.n - 1, r.gpus, r.duration_hours, r.offset_hours, r.gpu, r.regions,
         r.min_uptime, r.pools
  FROM o, alt, jsonb_array_elements(alt.alt -> 'legs') WITH ORDINALITY AS l(leg, n),
       jsonb_to_record(l.leg) AS r(gpus int, duration_hours int, offset_hours int,
                                   gpu varchar[], regions varchar[], min_uptime numeric,
                                   pools varchar[])
)
SELECT a.halted, m.halted AS market_halted, n.open_orders,
       (SELECT id FROM existing) AS existing_id,
       (SELECT available FROM balances WHERE account_id = $1) AS available,
       o.id, o.status, o.created_at, o.updated_at
FROM a CROSS JOIN m CROSS JOIN n LEFT JOIN o ON true
"""


def asyncpg_dsn(url: str) -> str:
    """A libpq-style URL asyncpg accepts, from any SQLAlchemy PostgreSQL URL."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def _keep_session(_: asyncpg.Connection) -> None:
    """Skip asyncpg's reset on release (a round trip): this pool never changes a session."""


class PgOrderEntry:
    """`OrderEntry` on an asyncpg pool of its own (opened by `open`, or on first use)."""

    def __init__(self, database_url: str, pool_size: int = 24, *,
                 orders_stream: str = "gpux:orders") -> None:
        self._dsn = asyncpg_dsn(database_url)
        self._orders_stream = orders_stream
        self._size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def open(self) -> None:
        """Open every connection of the pool and prepare the bid statement on each, so the
        first bids under load wait for neither."""
        await self._connections()

    async def _connections(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn, min_size=self._size, max_size=self._size,
                        reset=_keep_session, init=self._prepare,
                        # Every lookup of the statement is by key: its generic plan is the
                        # custom one, without planning it anew for each of the first bids.
                        server_settings={"plan_cache_mode": "force_generic_plan"})
        return self._pool

    async def _prepare(self, conn: asyncpg.Connection) -> None:
        # Run once for an account that cannot exist: nothing is admitted or written, and the
        # statement is parsed, planned and cached on this connection.
        await conn.fetchrow(PLACE_BID, "", "", 0, "", _EPOCH, _EPOCH, 0, "{}",
                            self._orders_stream)

    async def place_bid(self, account_id: str, bid: BidOrder, partition: str,
                        request: dict[str, Any], max_open_orders: int) -> Admission | None:
        pool = await self._connections()
        args = (account_id, bid.client_order_id, max_open_orders, partition, bid.starts_at,
                bid.ends_at, bid.max_value, dumps(request, indent=None), self._orders_stream)
        async with pool.acquire() as conn:
            try:
                row = await conn.fetchrow(PLACE_BID, *args)
            except asyncpg.UniqueViolationError:
                # A twin committed under this client order id: now it is seen as existing.
                row = await conn.fetchrow(PLACE_BID, *args)
        if row is None:
            return None
        order = None if row["id"] is None else Order(
            row["id"], account_id, "bid", bid.client_order_id, row["status"], bid.starts_at,
            bid.ends_at, None, None, None, bid.max_value, None, False, request,
            row["created_at"], row["updated_at"])
        return Admission(row["halted"], row["open_orders"], row["existing_id"], order,
                         row["market_halted"], row["available"])

    async def close(self) -> None:
        """Close the pool."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
