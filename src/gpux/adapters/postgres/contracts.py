"""Contracts on PostgreSQL as resale offers use them: locked, marked offered, split."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection

from gpux.adapters.postgres.orders import write_order_event
from gpux.adapters.postgres.tables import contracts, orders
from gpux.domain.resale import HeldContract, NewContract, Piece, ResaleOffer
from gpux.service.ports import Order

_INSERT_OFFER = text("""
INSERT INTO orders (account_id, side, client_order_id, partition, starts_at, ends_at,
                    pool_id, gpus, price, request, contract_id)
VALUES (:account_id, 'ask', :client_order_id, :partition, :starts_at, :ends_at,
        :pool_id, :gpus, :price, :request, :contract_id)
ON CONFLICT (account_id, client_order_id) DO NOTHING
RETURNING id, status, created_at, updated_at
""").bindparams(bindparam("request", type_=JSONB))


_LOCK_POOL_OF = text("""
SELECT id FROM pools WHERE id = (SELECT pool_id FROM contracts WHERE id = :contract_id)
FOR KEY SHARE
""")


class PgContracts:
    """`ContractRepository` on PostgreSQL."""

    def __init__(self, conn: AsyncConnection, orders_stream: str = "gpux:orders") -> None:
        self._conn = conn
        self._orders_stream = orders_stream

    async def lock(self, contract_id: int) -> HeldContract | None:
        # The contract's pool first, as an outage takes them (pool row, then its contracts):
        # the other order deadlocked with an outage recorded while the offer went in.
        await self._conn.execute(_LOCK_POOL_OF, {"contract_id": contract_id})
        row = (await self._conn.execute(
            select(contracts.c.id, contracts.c.holder_id, contracts.c.provider_id,
                   contracts.c.pool_id, contracts.c.gpus, contracts.c.starts_at,
                   contracts.c.ends_at, contracts.c.price, contracts.c.offer_id,
                   contracts.c.superseded_at)
            .where(contracts.c.id == contract_id).with_for_update())).first()
        if row is None:
            return None
        piece = Piece(*tuple(row)[:9])
        offered_by = None
        if piece.offer_id is not None:
            # The mark lasts while the offering order is open (cancel and expiry end it).
            offered_by = (await self._conn.execute(
                select(orders.c.id).where(orders.c.id == piece.offer_id,
                                          orders.c.status == "open"))).scalar()
        return HeldContract(piece, row.superseded_at is not None, offered_by)

    async def add_offer(self, account_id: str, offer: ResaleOffer, pool_id: str,
                        partition: str, request: dict[str, Any]) -> Order | None:
        row = (await self._conn.execute(_INSERT_OFFER, {
            "account_id": account_id, "client_order_id": offer.client_order_id,
            "partition": partition, "starts_at": offer.starts_at, "ends_at": offer.ends_at,
            "pool_id": pool_id, "gpus": offer.gpus, "price": offer.price, "request": request,
            "contract_id": offer.contract_id})).first()
        if row is None:
            return None
        order = Order(row.id, account_id, "ask", offer.client_order_id, row.status,
                      offer.starts_at, offer.ends_at, pool_id, offer.gpus, offer.price, None,
                      None, False, request, row.created_at, row.updated_at)
        await write_order_event(self._conn, self._orders_stream, order, "placed")
        return order

    async def mark(self, contract_id: int, offer_id: int) -> None:
        await self._conn.execute(update(contracts).where(contracts.c.id == contract_id)
                                 .values(offer_id=offer_id))

    async def split(self, contract_id: int, pieces: Sequence[NewContract]) -> None:
        await self._conn.execute(update(contracts).where(contracts.c.id == contract_id)
                                 .values(superseded_at=func.now()))
        await self._conn.execute(insert(contracts), [
            {"fill_id": p.fill_id, "holder_id": p.holder_id, "provider_id": p.provider_id,
             "pool_id": p.pool_id, "gpus": p.gpus, "starts_at": p.starts_at,
             "ends_at": p.ends_at, "price": p.price, "parent_id": p.parent_id,
             "offer_id": p.offer_id} for p in pieces])
