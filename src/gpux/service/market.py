"""Reading what the clearing worker wrote: the caller's fills and contracts, auctions, prices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from gpux.domain.accounts import Account
from gpux.domain.errors import NotFound
from gpux.service.orders import parse_cursor
from gpux.service.ports import (
    AuctionSummary,
    ClearingPrice,
    Contract,
    Fill,
    Page,
    PriceIndexEntry,
    UnitOfWorkFactory,
)


@dataclass(frozen=True, slots=True)
class AuctionResult:
    """One auction's summary and its clearing prices."""

    summary: AuctionSummary
    prices: list[ClearingPrice]


class MarketService:
    """Read-only views of the market."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def fills(self, caller: Account, *, order_id: int | None = None,
                    auction_id: int | None = None, cursor: str | None = None,
                    limit: int = 100) -> Page[Fill]:
        """The caller's fills, newest first."""
        async with self._uow() as uow:
            rows = await uow.market.fills(caller.id, order_id=order_id, auction_id=auction_id,
                                          before_id=parse_cursor(cursor), limit=limit + 1)
        return _page(rows, limit)

    async def contracts(self, caller: Account, *, cursor: str | None = None,
                        limit: int = 100, role: str | None = None,
                        undelivered: bool = False, superseded: bool = False
                        ) -> Page[Contract]:
        """Contracts the caller holds or provides, newest first (`role`: only those it
        holds, or only those it provides; `undelivered`: only those yet to be delivered;
        `superseded`: split contracts too, not only live ones)."""
        async with self._uow() as uow:
            rows = await uow.market.contracts(caller.id, before_id=parse_cursor(cursor),
                                              limit=limit + 1, role=role,
                                              undelivered=undelivered,
                                              superseded=superseded)
        return _page(rows, limit)

    async def auctions(self, *, cursor: str | None = None,
                       limit: int = 100) -> Page[AuctionSummary]:
        """Auctions, newest first."""
        async with self._uow() as uow:
            rows = await uow.market.auctions(before_id=parse_cursor(cursor), limit=limit + 1)
        return _page(rows, limit)

    async def auction(self, auction_id: int) -> AuctionResult:
        """One auction's summary and clearing prices."""
        async with self._uow() as uow:
            summary = await uow.market.auction(auction_id)
            if summary is None:
                raise NotFound("no such auction", "auction_id", auction_id)
            prices = await uow.market.clearing_prices(auction_id)
        return AuctionResult(summary, prices)

    async def price_index(self) -> list[PriceIndexEntry]:
        """The latest price of every GPU model that has traded."""
        async with self._uow() as uow:
            return await uow.market.price_index()


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=_HasId)


def _page(rows: list[R], limit: int) -> Page[R]:
    items = rows[:limit]
    return Page(items, str(items[-1].id) if len(rows) > limit else None)
