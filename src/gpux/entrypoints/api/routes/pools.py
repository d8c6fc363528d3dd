"""Pools: providers register them; everyone may list them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gpux.entrypoints.api.auth import Caller, Svc
from gpux.entrypoints.api.deps import page_limit
from gpux.entrypoints.api.exactjson import ExactJSONRoute
from gpux.entrypoints.api.schemas import PoolIn, PoolOut, PoolPage

router = APIRouter(route_class=ExactJSONRoute, tags=["pools"])


@router.post("/pools", status_code=201, response_model=PoolOut)
async def register_pool(body: PoolIn, caller: Caller, svc: Svc) -> PoolOut:
    """Register a pool of your GPUs (providers)."""
    return PoolOut.of(await svc.pools.register(caller, body.to_domain()))


@router.get("/pools", response_model=PoolPage)
async def list_pools(
    _: Caller, svc: Svc,
    gpu: str | None = None, region: str | None = None,
    provider: Annotated[str | None, Query(description="a provider's account id")] = None,
    cursor: str | None = None, limit: Annotated[int, Query(ge=1)] = 100,
) -> PoolPage:
    """Every pool, in id order, a page at a time."""
    page = await svc.pools.list(gpu=gpu, region=region, provider_id=provider, cursor=cursor,
                                limit=page_limit(svc, limit))
    return PoolPage(items=[PoolOut.of(p) for p in page.items], next_cursor=page.next_cursor)
