"""The clearing round: freeze the open orders at a cutoff, solve off the event loop, commit.

A round is two transactions with a solve between them. Freezing stores the book and marks its
orders; committing writes the result, fills, contracts, prices, order statuses and outbox
events at once, but only while the auction is still frozen, so a round commits exactly once
however many workers or restarts solve it. A frozen auction left by a crash is solved again
from its stored book, never re-frozen (orders placed since must not leak into it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from gpux.clearing.auction import clear
from gpux.clearing.solver import SolveParams
from gpux.domain.book import Book
from gpux.domain.bookjson import read_book
from gpux.domain.resale_round import round_contracts
from gpux.domain.result import Result, result_to_doc
from gpux.domain.rounds import (
    Fill,
    Horizon,
    OpenAsk,
    Settlement,
    freeze_round,
    horizon_of,
    order_of,
    settle,
)
from gpux.service.round_ports import (
    AuctionSummary,
    ClosedOrder,
    Event,
    FrozenOrders,
    RoundStore,
)
from gpux.service.settlement import release_holds, settle_round

Solver = Callable[[Book, SolveParams], Result]
OutcomeStatus = Literal["cleared", "taken", "exists", "halted"]


@dataclass(frozen=True, slots=True)
class RoundOutcome:
    """What became of one round: cleared here, committed by another worker, or already there."""

    status: OutcomeStatus
    cutoff: datetime
    auction_id: int | None = None
    orders: int = 0
    bids: int = 0
    asks: int = 0
    fills: int = 0
    solve_status: str | None = None
    surplus: Decimal | None = None
    volume_gpu_hours: int = 0
    solve_seconds: float = 0.0
    gap: object = None
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class RoundConfig:
    """Which partition a round clears, how far ahead, how long it may solve, where it tells."""

    partition: str
    horizon_hours: int
    params: SolveParams
    fills_stream: str
    auctions_stream: str
    orders_stream: str = "gpux:orders"
    fee_bps: int = 0


class Rounds:
    """The clearing-round use cases on a round store."""

    def __init__(self, store: RoundStore, config: RoundConfig, solver: Solver = clear) -> None:
        self.store = store
        self.config = config
        self.solver = solver

    async def resume(self) -> list[RoundOutcome]:
        """Solve and commit every auction of the partition left frozen, oldest first."""
        outcomes: list[RoundOutcome] = []
        if await self.store.market_halted():
            return outcomes
        for auction in await self.store.frozen_auctions(self.config.partition):
            outcomes.append(await self._solve_and_commit(
                auction.id, auction.cutoff, auction.book, resumed=True))
        return outcomes

    async def clear_round(self, cutoff: datetime) -> list[RoundOutcome]:
        """Resume what is left frozen, then freeze, solve and commit the round at `cutoff`."""
        if await self.store.market_halted():  # the kill switch: no round at all
            return [RoundOutcome("halted", cutoff)]
        outcomes = await self.resume()
        frozen = await self.freeze(cutoff)
        if frozen is None:
            outcomes.append(RoundOutcome("exists", cutoff))
            return outcomes
        auction_id, book = frozen
        outcomes.append(await self._solve_and_commit(auction_id, cutoff, book, resumed=False))
        return outcomes

    async def freeze(self, cutoff: datetime) -> tuple[int, dict[str, object]] | None:
        """Store the book of the round at `cutoff` and mark its orders; None if it exists."""
        part = self.config.partition
        async with self.store.freezing() as tx:
            orders = await tx.open_orders(part, cutoff)
            cancelled = [*(b.order_id for b in orders.bids if b.cancel_requested),
                         *(a.order_id for a in orders.asks if a.cancel_requested)]
            horizon = Horizon.after(cutoff, self.config.horizon_hours)
            frozen = freeze_round(horizon, orders.pools,
                                  [b for b in orders.bids if not b.cancel_requested],
                                  [a for a in orders.asks if not a.cancel_requested])
            auction_id = await tx.store_auction(part, cutoff, frozen)
            if auction_id is None:
                return None
            closed = [*await tx.close_orders(frozen.expired, "expired"),
                      *await tx.close_orders(cancelled, "cancelled")]
            await release_holds(tx.ledger(), [c.order_id for c in closed])
            await tx.mark_frozen(frozen.in_book, auction_id)
            await tx.add_events(self._order_events(auction_id, cutoff, closed))
        return auction_id, frozen.book

    async def _solve_and_commit(self, auction_id: int, cutoff: datetime,
                                book_doc: dict[str, object], *, resumed: bool) -> RoundOutcome:
        book = read_book(book_doc)
        result, seconds = await self.solve(book)
        return await self.commit(auction_id, cutoff, book_doc, result, seconds, resumed=resumed)

    async def solve(self, book: Book) -> tuple[Result, float]:
        """Clear a book off the event loop; the result and the seconds it took."""
        started = time.monotonic()
        result = await asyncio.to_thread(self.solver, book, self.config.params)
        return result, time.monotonic() - started

    async def commit(self, auction_id: int, cutoff: datetime, book: dict[str, object],
                     result: Result, seconds: float, *, resumed: bool = False) -> RoundOutcome:
        """Commit a solved round once: nothing is written if it is no longer frozen."""
        settlement = settle(book, result)
        bids, asks = _entries(book, "bids"), _entries(book, "asks")
        orders = len({order_of(str(x["id"])) for x in (*bids, *asks)})
        committed = await self._commit(auction_id, cutoff, book, result, settlement, seconds)
        if committed is None:
            return RoundOutcome("taken", cutoff, auction_id, orders, len(bids), len(asks),
                                resumed=resumed)
        return RoundOutcome("cleared", cutoff, auction_id, orders, len(bids), len(asks),
                            fills=committed, solve_status=result.status, surplus=result.surplus,
                            volume_gpu_hours=settlement.volume_gpu_hours, solve_seconds=seconds,
                            gap=result.stats.get("gap"), resumed=resumed)

    async def _commit(self, auction_id: int, cutoff: datetime, book: dict[str, object],
                      result: Result, settlement: Settlement, seconds: float) -> int | None:
        providers = {str(p["id"]): str(p["provider"]) for p in _entries(book, "pools")}
        async with self.store.committing() as tx:
            if not await tx.lock_frozen(auction_id):
                return None
            orders = await tx.frozen_orders(auction_id)
            await tx.record_result(auction_id, AuctionSummary(
                result_to_doc(result), result.status, result.surplus, result.bound,
                settlement.volume_gpu_hours, seconds))
            fill_ids = await tx.add_fills(auction_id, settlement.fills)
            resold = sorted({f.order_id for f in settlement.fills if f.side == "ask"}
                            & {a.order_id for a in orders.asks if a.contract_id is not None})
            await tx.add_contracts(round_contracts(
                list(zip(fill_ids, settlement.fills, strict=True)), providers,
                await tx.offered_pieces(resold), settlement.prices))
            await tx.add_prices(auction_id, settlement.prices, settlement.index)
            closed = await tx.set_status(auction_id, order_statuses(orders, settlement))
            await settle_round(tx.ledger(), auction_id, settlement.fills, [
                c.order_id for c in closed if c.status == "cancelled"], self.config.fee_bps)
            await tx.add_events([
                *self._fill_events(auction_id, fill_ids, settlement.fills),
                *self._order_events(auction_id, cutoff, closed),
                self._auction_event(auction_id, cutoff, book, result, settlement)])
        return len(fill_ids)

    def _fill_events(self, auction_id: int, ids: Sequence[int],
                     fills: Sequence[Fill]) -> list[Event]:
        return [Event(self.config.fills_stream, f"fill:{auction_id}:{fill_id}",
                      fill_payload(auction_id, fill_id, fill))
                for fill_id, fill in zip(ids, fills, strict=True)]

    def _order_events(self, auction_id: int, cutoff: datetime,
                      closed: Sequence[ClosedOrder]) -> list[Event]:
        return [Event(self.config.orders_stream, f"order:{c.order_id}:{c.status}",
                      order_payload(auction_id, cutoff, c)) for c in closed]

    def _auction_event(self, auction_id: int, cutoff: datetime, book: Mapping[str, object],
                       result: Result, settlement: Settlement) -> Event:
        horizon = horizon_of(book)
        part = self.config.partition
        payload: dict[str, object] = {
            "type": "auction", "auction_id": auction_id, "partition": part,
            "cutoff": _iso(cutoff), "horizon_start": _iso(horizon.start),
            "horizon_end": _iso(horizon.end), "slots": horizon.slots,
            "status": result.status, "bids": len(_entries(book, "bids")),
            "asks": len(_entries(book, "asks")),
            "accepted": len(result.accepted), "fills": len(settlement.fills),
            "volume_gpu_hours": settlement.volume_gpu_hours,
            "surplus": result.surplus, "bound": result.bound,
            "prices": [{"pool": p.pool_id, "starts_at": _iso(p.starts_at),
                        "ends_at": _iso(p.ends_at), "price": p.price}
                       for p in settlement.prices],
            "price_index": [{"gpu": i.gpu, "price": i.price, "gpu_hours": i.gpu_hours}
                            for i in settlement.index],
            "price_index_by_day": [{"gpu": d.gpu, "day": d.day.isoformat(), "price": d.price,
                                    "gpu_hours": d.gpu_hours} for d in settlement.daily_index],
        }
        return Event(self.config.auctions_stream, f"auction:{part}:{auction_id}", payload)


def order_statuses(orders: FrozenOrders, settlement: Settlement) -> dict[int, str]:
    """New statuses at commit: accepted bids filled, sold-out asks filled, cancels honoured."""
    filled = set(settlement.filled_bids)
    statuses: dict[int, str] = {}
    for order_id, cancel in orders.bids.items():
        if order_id in filled:
            statuses[order_id] = "filled"
        elif cancel:
            statuses[order_id] = "cancelled"
    for ask in orders.asks:
        if _sold_out(ask, settlement):
            statuses[ask.order_id] = "filled"
        elif ask.cancel_requested:
            statuses[ask.order_id] = "cancelled"
    return statuses


def _sold_out(ask: OpenAsk, settlement: Settlement) -> bool:
    return ask.sold_out(settlement.sold.get(ask.order_id, ()))


def fill_payload(auction_id: int, fill_id: int, fill: Fill) -> dict[str, object]:
    """The stream payload of one fill."""
    return {"type": "fill", "auction_id": auction_id, "fill_id": fill_id,
            "order_id": fill.order_id, "account_id": fill.account_id, "side": fill.side,
            "alternative": fill.alternative, "leg": fill.leg, "pool": fill.pool_id,
            "starts_at": _iso(fill.starts_at), "ends_at": _iso(fill.ends_at),
            "gpus": fill.gpus, "amount": fill.amount}


def order_payload(auction_id: int, cutoff: datetime, closed: ClosedOrder) -> dict[str, object]:
    """The stream payload of an order leaving the book (filled, cancelled, expired)."""
    return {"type": "order", "order_id": closed.order_id, "account_id": closed.account_id,
            "side": closed.side, "client_order_id": closed.client_order_id,
            "status": closed.status, "auction_id": auction_id, "cutoff": _iso(cutoff)}


def _entries(book: Mapping[str, object], key: str) -> list[dict[str, Any]]:
    items = book.get(key, [])
    assert isinstance(items, list)
    return items


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
