"""What the auctions produced: your fills and contracts, auctions, the price index."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from gpux.entrypoints.api.auth import Caller, Svc
from gpux.entrypoints.api.deps import IdPath, IdQuery, page_limit
from gpux.entrypoints.api.schemas import (
    AuctionDetailOut,
    AuctionOut,
    AuctionPage,
    ClearingPriceOut,
    ContractOut,
    ContractPage,
    FillOut,
    FillPage,
    PriceIndexOut,
)

router = APIRouter(tags=["market"])
Limit = Annotated[int, Query(ge=1)]


@router.get("/fills", response_model=FillPage)
async def list_fills(caller: Caller, svc: Svc, order_id: IdQuery = None,
                     auction_id: IdQuery = None, cursor: str | None = None,
                     limit: Limit = 100) -> FillPage:
    """Your fills, newest first."""
    page = await svc.market.fills(caller, order_id=order_id, auction_id=auction_id,
                                  cursor=cursor, limit=page_limit(svc, limit))
    return FillPage(items=[FillOut.of(f) for f in page.items], next_cursor=page.next_cursor)


@router.get("/contracts", response_model=ContractPage)
async def list_contracts(caller: Caller, svc: Svc, cursor: str | None = None,
                         limit: Limit = 100,
                         role: Literal["holder", "provider"] | None = None,
                         undelivered: bool = False,
                         superseded: bool = False) -> ContractPage:
    """Contracts you hold (buyers) or deliver (providers), newest first. `role=holder`
    lists only what you hold; `undelivered=true` only what is yet to be delivered;
    `superseded=true` also contracts split by a resale (only live ones by default)."""
    page = await svc.market.contracts(caller, cursor=cursor, limit=page_limit(svc, limit),
                                      role=role, undelivered=undelivered,
                                      superseded=superseded)
    return ContractPage(items=[ContractOut.of(c) for c in page.items],
                        next_cursor=page.next_cursor)


@router.get("/auctions", response_model=AuctionPage, tags=["public"])
async def list_auctions(svc: Svc, cursor: str | None = None,
                        limit: Limit = 100) -> AuctionPage:
    """Auctions, newest first: public summaries only."""
    page = await svc.market.auctions(cursor=cursor, limit=page_limit(svc, limit))
    return AuctionPage(items=[AuctionOut.of(a) for a in page.items],
                       next_cursor=page.next_cursor)


@router.get("/auctions/{auction_id}", response_model=AuctionDetailOut, tags=["public"])
async def get_auction(auction_id: IdPath, svc: Svc) -> AuctionDetailOut:
    """One auction's summary and its clearing prices per pool and range of hours."""
    result = await svc.market.auction(auction_id)
    return AuctionDetailOut(
        **AuctionOut.of(result.summary).model_dump(),
        prices=[ClearingPriceOut(pool=p.pool_id, starts_at=p.starts_at, ends_at=p.ends_at,
                                 price=p.price) for p in result.prices])


@router.get("/prices/index", response_model=list[PriceIndexOut], tags=["public"])
async def price_index(svc: Svc) -> list[PriceIndexOut]:
    """The latest clearing price index of every GPU model that has traded."""
    return [PriceIndexOut(gpu=p.gpu, price=p.price, gpu_hours=p.gpu_hours,
                          auction_id=p.auction_id, cutoff=p.cutoff)
            for p in await svc.market.price_index()]
