"""Orders on PostgreSQL: asks, reads, lists and cancels (bids go in through `entry.py`).

An ask placed and a cancel each put their order event (`placed`, `cancelled`,
`cancel_requested`) into the outbox in the order change's own transaction, for the private
`orders` feed channel."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from gpux.adapters.postgres.tables import orders
from gpux.domain.orders import AskOrder
from gpux.service.ports import Order, OrderQuery

_COLUMNS = (orders.c.id, orders.c.account_id, orders.c.side, orders.c.client_order_id,
            orders.c.status, orders.c.starts_at, orders.c.ends_at, orders.c.pool_id,
            orders.c.gpus, orders.c.price, orders.c.max_value, orders.c.frozen_auction_id,
            orders.c.cancel_requested, orders.c.request, orders.c.created_at,
            orders.c.updated_at)

_INSERT_ASK = text("""
INSERT INTO orders (account_id, side, client_order_id, partition, starts_at, ends_at,
                    pool_id, gpus, price, request)
VALUES (:account_id, 'ask', :client_order_id, :partition, :starts_at, :ends_at,
        :pool_id, :gpus, :price, :request)
ON CONFLICT (account_id, client_order_id) DO NOTHING
RETURNING id, status, created_at, updated_at
""").bindparams(bindparam("request", type_=JSONB))


_EVENT = text("""
INSERT INTO outbox (stream, event_id, payload) VALUES (:stream, :event_id, :payload)
ON CONFLICT (event_id) DO NOTHING
""").bindparams(bindparam("payload", type_=JSONB))


def order_event(order: Order, event: str) -> dict[str, object]:
    """The `orders` stream payload of an order-entry event (`placed`, `cancelled`, ...)."""
    return {"type": "order", "event": event, "order_id": order.id,
            "account_id": order.account_id, "side": order.side,
            "client_order_id": order.client_order_id, "status": order.status}


async def write_order_event(conn: AsyncConnection, stream: str, order: Order,
                            event: str) -> None:
    """Put an order-entry event in the outbox, in `conn`'s transaction (once per event id)."""
    await conn.execute(_EVENT, {"stream": stream, "event_id": f"order:{order.id}:{event}",
                                "payload": order_event(order, event)})


def _order(row: Row[Any]) -> Order:
    return Order(*tuple(row))


def _select() -> Select[Any]:
    return select(*_COLUMNS)


class PgOrders:
    """`OrderRepository` on PostgreSQL."""

    def __init__(self, conn: AsyncConnection, orders_stream: str = "gpux:orders") -> None:
        self._conn = conn
        self._orders_stream = orders_stream

    async def _event(self, order: Order, event: str) -> None:
        await write_order_event(self._conn, self._orders_stream, order, event)

    async def add_ask(self, account_id: str, ask: AskOrder, partition: str,
                      request: dict[str, Any]) -> Order | None:
        doc = request
        row = (await self._conn.execute(_INSERT_ASK, {
            "account_id": account_id, "client_order_id": ask.client_order_id,
            "partition": partition, "starts_at": ask.starts_at, "ends_at": ask.ends_at,
            "pool_id": ask.pool, "gpus": ask.gpus, "price": ask.price,
            "request": doc})).first()
        if row is None:
            return None
        order = Order(row.id, account_id, "ask", ask.client_order_id, row.status, ask.starts_at,
                      ask.ends_at, ask.pool, ask.gpus, ask.price, None, None, False, doc,
                      row.created_at, row.updated_at)
        await self._event(order, "placed")
        return order

    async def get(self, account_id: str, order_id: int, *, for_update: bool = False
                  ) -> Order | None:
        stmt = _select().where(orders.c.id == order_id, orders.c.account_id == account_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self._conn.execute(stmt)).first()
        return _order(row) if row else None

    async def by_client_id(self, account_id: str, client_order_id: str) -> Order | None:
        stmt = _select().where(orders.c.account_id == account_id,
                               orders.c.client_order_id == client_order_id)
        row = (await self._conn.execute(stmt)).first()
        return _order(row) if row else None

    async def find(self, query: OrderQuery) -> list[Order]:
        stmt = _select().where(orders.c.account_id == query.account_id)
        if query.side is not None:
            stmt = stmt.where(orders.c.side == query.side)
        if query.status is not None:
            stmt = stmt.where(orders.c.status == query.status)
        if query.pool_id is not None:
            stmt = stmt.where(orders.c.pool_id == query.pool_id)
        if query.before_id is not None:
            stmt = stmt.where(orders.c.id < query.before_id)
        stmt = stmt.order_by(orders.c.id.desc()).limit(query.limit)
        return [_order(r) for r in await self._conn.execute(stmt)]

    async def cancel(self, order_id: int, *, pending: bool) -> Order:
        values: dict[str, Any] = (
            {"cancel_requested": True} if pending else {"status": "cancelled"})
        stmt = (update(orders).where(orders.c.id == order_id)
                .values(**values, updated_at=text("now()")).returning(*_COLUMNS))
        order = _order((await self._conn.execute(stmt)).one())
        await self._event(order, "cancel_requested" if pending else "cancelled")
        return order
