"""Offering a held contract back into the auction (resale).

An offer is an ask of the holder's account on the contract's pool, at the holder's reserve,
referencing the contract. It goes in with the contract's row locked: the contract must be the
caller's, live (not split), not already on offer, and the offered hours must not have started
and lie inside it. The contract then splits into the offered piece (marked with the offer's
order id) and the pieces the holder keeps, in the same transaction. Resale asks do not count
against the pool's oversell check: they sell capacity already sold (docs/settlement.md).
"""

from __future__ import annotations

from gpux.domain.accounts import Account
from gpux.domain.bands import check_ask_band
from gpux.domain.errors import (
    NotFound,
)
from gpux.domain.orders import OrderLimits, check_ask
from gpux.domain.resale import ResaleOffer, check_holder, check_offer, offer_pieces
from gpux.service.bandindex import BandIndex
from gpux.service.orders import Placed, admit, replay
from gpux.service.ports import Clock, UnitOfWorkFactory


class ResaleService:
    """The resale use case: a holder offers all or part of a contract."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, limits: OrderLimits,
                 bands: BandIndex | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self._limits = limits
        self._bands = bands

    async def offer(self, caller: Account, offer: ResaleOffer) -> Placed:
        """Place a resale offer of `offer.contract_id`; a retry returns the first order."""
        doc = offer.to_doc()
        async with self._uow() as uow:
            earlier = await admit(uow, caller, offer.client_order_id,
                                  self._limits.max_open_orders)
            if earlier is not None:
                return replay(earlier, doc)
            held = await uow.contracts.lock(offer.contract_id)
            if held is None:
                raise NotFound("no such contract", "contract_id", offer.contract_id)
            check_holder(held, caller.id)
            c = held.piece
            ask = offer.as_ask(c.pool_id)
            check_ask(ask, now=self._clock.now(), limits=self._limits)
            check_offer(held, caller.id, offer.gpus, offer.starts_at, offer.ends_at,
                        self._clock.now())
            pool = await uow.pools.get(c.pool_id)
            assert pool is not None, "a contract's pool exists"
            if self._bands is not None:
                check_ask_band(ask, pool.gpu, *await self._bands.get())
            order = await uow.contracts.add_offer(caller.id, offer, c.pool_id, pool.partition,
                                                  doc)
            if order is None:  # a concurrent twin under this client order id committed
                twin = await uow.orders.by_client_id(caller.id, offer.client_order_id)
                assert twin is not None
                return replay(twin, doc)
            pieces = offer_pieces(c, offer.gpus, offer.starts_at, offer.ends_at, order.id)
            if pieces:
                await uow.contracts.split(c.id, pieces)
            else:
                await uow.contracts.mark(c.id, order.id)
            await uow.commit()
        return Placed(order, True)
