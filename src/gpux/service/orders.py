"""Placing, reading, listing and cancelling orders.

A bid enters only with its largest alternative value held from the buyer's available
balance, in the same statement; cancelling releases the hold in the cancel's transaction.
Halted accounts and a halted market place nothing; with a price band configured, prices far
from the GPU model's price index are refused (`gpux.domain.bands`).

A client order id makes placing idempotent: a retry finds the first order and gets it back
(a different body under the same id is refused). A bid goes in as one atomic statement
(`OrderEntry`), the unique constraint on (account, client order id) catching a concurrent
twin, which is then re-read. An ask locks the account and the pool rows in a unit of work,
so concurrent asks cannot together oversell a pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gpux.domain.accounts import Account
from gpux.domain.bands import check_ask_band, check_bid_band
from gpux.domain.errors import (
    AccountHalted,
    ClientOrderIdReused,
    Forbidden,
    InsufficientFunds,
    InvalidOrder,
    InvalidValue,
    MarketHalted,
    NotFound,
    OrderNotOpen,
    PoolOversold,
    TooManyOpenOrders,
    Unauthenticated,
    UnknownPool,
)
from gpux.domain.orders import AskOrder, BidOrder, OrderLimits, check_ask, check_bid, peak_gpus
from gpux.domain.partitions import PartitionMap
from gpux.service.bandindex import BandIndex
from gpux.service.pools import bid_partition
from gpux.service.ports import (
    Admission,
    Clock,
    Order,
    OrderEntry,
    OrderQuery,
    Page,
    UnitOfWork,
    UnitOfWorkFactory,
)
from gpux.service.settlement import release_holds


@dataclass(frozen=True, slots=True)
class Placed:
    """The order a placement stands for, and whether this call created it."""

    order: Order
    created: bool


def parse_cursor(cursor: str | None) -> int | None:
    """The id a keyset cursor points below."""
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 19:
        raise InvalidValue("cursor", "is not a cursor this list returned", cursor)
    return int(cursor)


class OrderService:
    """The order-entry use cases; each order joins its market partition."""

    def __init__(self, uow: UnitOfWorkFactory, entry: OrderEntry, clock: Clock,
                 limits: OrderLimits, partitions: PartitionMap,
                 bands: BandIndex | None = None) -> None:
        self._uow = uow
        self._entry = entry
        self._clock = clock
        self._limits = limits
        self._partitions = partitions
        self._bands = bands

    async def place_bid(self, caller: Account, bid: BidOrder) -> Placed:
        """A buyer (or admin) places a bid."""
        if not caller.may_bid():
            raise Forbidden("only buyers place bids", "role", caller.role)
        doc = bid.to_doc()
        try:
            check_bid(bid, now=self._clock.now(), limits=self._limits)
        except InvalidOrder:
            # A retry of an order placed before (its window since passed) gets that order.
            async with self._uow() as uow:
                earlier = await uow.orders.by_client_id(caller.id, bid.client_order_id)
            if earlier is None:
                raise
            return replay(earlier, doc)
        if self._bands is not None:
            check_bid_band(bid, *await self._bands.get())
        # One statement admits the account, holds the funds and stores the bid: the
        # order-entry hot path.
        partition = await bid_partition(self._uow, self._partitions, bid)
        admission = await self._entry.place_bid(caller.id, bid, partition, doc,
                                                self._limits.max_open_orders)
        if admission is None:
            raise Unauthenticated("the account no longer exists")
        if admission.order is not None:
            return Placed(admission.order, True)
        if admission.existing_id is None:
            await self._refuse_bid(caller, bid, admission)
        # A retry (or a concurrent twin) of an earlier order.
        async with self._uow() as uow:
            return await _reread(uow, caller, bid.client_order_id, doc)

    async def place_ask(self, caller: Account, ask: AskOrder) -> Placed:
        """A provider places an ask on one of its pools (an admin on any pool)."""
        if not caller.may_ask():
            raise Forbidden("only providers place asks", "role", caller.role)
        doc = ask.to_doc()
        async with self._uow() as uow:
            earlier = await admit(uow, caller, ask.client_order_id,
                                  self._limits.max_open_orders)
            if earlier is not None:
                return replay(earlier, doc)
            check_ask(ask, now=self._clock.now(), limits=self._limits)
            pool = await uow.pools.get(ask.pool, for_update=True)
            if pool is None:
                raise UnknownPool("no pool has this id", "pool", ask.pool)
            if self._bands is not None:
                check_ask_band(ask, pool.gpu, *await self._bands.get())
            if caller.role != "admin" and pool.provider_id != caller.id:
                raise Forbidden("asks may be placed only on your own pools", "pool", ask.pool)
            used = peak_gpus(await uow.pools.committed(pool.id, ask.starts_at, ask.ends_at),
                             ask.starts_at, ask.ends_at)
            if used + ask.gpus > pool.gpus:
                raise PoolOversold(
                    f"pool {pool.id} has {pool.gpus} GPUs and up to {used} of them are already "
                    f"offered or sold in this window; at most {max(pool.gpus - used, 0)} more "
                    f"can be offered", "gpus", ask.gpus)
            order = await uow.orders.add_ask(caller.id, ask, pool.partition, doc)
            if order is None:
                return await _reread(uow, caller, ask.client_order_id, doc)
            await uow.commit()
        return Placed(order, True)

    async def get(self, caller: Account, order_id: int) -> Order:
        """One of the caller's orders (anyone else's is not found)."""
        async with self._uow() as uow:
            order = await uow.orders.get(caller.id, order_id)
        if order is None:
            raise NotFound("no such order", "order_id", order_id)
        return order

    async def list(self, caller: Account, *, side: str | None = None,
                   status: str | None = None, pool_id: str | None = None,
                   cursor: str | None = None, limit: int = 100) -> Page[Order]:
        """The caller's orders, newest first, a page at a time."""
        query = OrderQuery(caller.id, side, status, pool_id, parse_cursor(cursor), limit + 1)
        async with self._uow() as uow:
            orders = await uow.orders.find(query)
        items = orders[:limit]
        return Page(items, str(items[-1].id) if len(orders) > limit else None)

    async def cancel(self, caller: Account, order_id: int) -> Order:
        """Cancel an open order; if a round is solving it, ask that round to cancel it."""
        async with self._uow() as uow:
            order = await uow.orders.get(caller.id, order_id, for_update=True)
            if order is None:
                raise NotFound("no such order", "order_id", order_id)
            if order.status != "open":
                raise OrderNotOpen(f"the order is {order.status}", "status", order.status)
            if not order.cancel_requested:
                pending = order.frozen_auction_id is not None
                order = await uow.orders.cancel(order.id, pending=pending)
                if not pending:
                    await release_holds(uow.ledger, [order.id])
                await uow.commit()
        return order

    async def _refuse_bid(self, caller: Account, bid: BidOrder, admission: Admission) -> None:
        """Raise why a bid did not go in (the statement's snapshot first, then afresh: a
        halt or another bid may have changed the balance row since)."""
        if admission.market_halted:
            raise MarketHalted("the market is halted", "market", "halted")
        refuse(caller, admission.halted, admission.open_orders, self._limits.max_open_orders,
               bid.client_order_id)
        async with self._uow() as uow:
            if await uow.halts.market_halted():
                raise MarketHalted("the market is halted", "market", "halted")
            locked = await uow.accounts.lock_for_order(caller.id, bid.client_order_id)
            if locked is None:
                raise Unauthenticated("the account no longer exists")
            account, open_orders, _ = locked
            refuse(caller, account.halted, open_orders, self._limits.max_open_orders,
                   bid.client_order_id)
            available = (await uow.ledger.balance(caller.id)).available
        k = max(range(len(bid.alternatives)), key=lambda i: bid.alternatives[i].total_value)
        raise InsufficientFunds(
            f"a bid holds its largest alternative value, {bid.max_value}, but the account has "
            f"{available} available", f"alternatives[{k}].value", bid.max_value)


async def admit(uow: UnitOfWork, caller: Account, client_order_id: str,
                max_open_orders: int) -> Order | None:
    """Lock the caller's account for a new order (in `uow`'s transaction): the earlier order
    if this client order id was used, else None once admitted; raises if the account or the
    market is halted or the account is at its open-order cap."""
    locked = await uow.accounts.lock_for_order(caller.id, client_order_id)
    if locked is None:
        raise Unauthenticated("the account no longer exists")
    account, open_orders, existing = locked
    if existing is not None:
        order = await uow.orders.get(caller.id, existing)
        assert order is not None
        return order
    # A share lock on the flag: a market halt waits for this order, then sweeps it.
    if await uow.halts.market_halted(lock=True):
        raise MarketHalted("the market is halted", "market", "halted")
    refuse(caller, account.halted, open_orders, max_open_orders, client_order_id)
    return None


def refuse(caller: Account, halted: bool, open_orders: int, max_open_orders: int,
           client_order_id: str) -> None:
    """Raise if a halted account or one at its open-order cap places an order."""
    if halted:
        raise AccountHalted("the account is halted", "account", caller.id)
    if open_orders >= max_open_orders:
        raise TooManyOpenOrders(
            f"the account has {open_orders} open orders, the most allowed is "
            f"{max_open_orders}", "client_order_id", client_order_id)


def replay(order: Order, doc: dict[str, Any]) -> Placed:
    """The earlier order a retry gets back; refused if the client order id was used for a
    different order."""
    if order.request != doc:
        raise ClientOrderIdReused(
            "this client order id was used for a different order", "client_order_id",
            order.client_order_id)
    return Placed(order, False)


async def _reread(uow: UnitOfWork, caller: Account, client_order_id: str,
                  doc: dict[str, Any]) -> Placed:
    order = await uow.orders.by_client_id(caller.id, client_order_id)
    assert order is not None, "a conflicting insert must have committed"
    return replay(order, doc)
