"""Outages and curtailments of pools, and the service credits they pay (docs/settlement.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from gpux.adapters.metrics import SERVICE_CREDITS, SERVICE_CREDITS_USD
from gpux.domain.credits import tier_name
from gpux.entrypoints.api.auth import Caller, Svc
from gpux.entrypoints.api.deps import IdPath, page_limit
from gpux.entrypoints.api.exactjson import ExactJSONRoute
from gpux.entrypoints.api.outage_schemas import (
    CreditList,
    CreditOut,
    OutageIn,
    OutageOut,
    OutagePage,
)

router = APIRouter(route_class=ExactJSONRoute, tags=["outages"])


@router.post("/pools/{pool_id}/outages", status_code=201, response_model=OutageOut,
             responses={200: {"description": "the same report was recorded before; "
                              "nothing more was paid"}})
async def report_outage(pool_id: str, body: OutageIn, caller: Caller, svc: Svc,
                        response: Response) -> OutageOut:
    """Record an outage (or, with `gpus`, a curtailment) of your pool for some hours (the
    pool's provider, or an admin): every contract it hits is credited by the pool's uptime
    tier from the provider's account, once. Repeating the same report changes nothing."""
    done = await svc.outages.record(caller, pool_id, body.to_domain())
    if done.created:
        tier = tier_name(done.pool.uptime)
        SERVICE_CREDITS.labels(tier).inc(sum(1 for c in done.credits if c.paid))
        SERVICE_CREDITS_USD.labels(tier).inc(float(done.outage.paid))
    else:
        response.status_code = 200
    return OutageOut.of(done.outage, done.credits)


@router.get("/pools/{pool_id}/outages", response_model=OutagePage)
async def list_outages(pool_id: str, _: Caller, svc: Svc, cursor: str | None = None,
                       limit: Annotated[int, Query(ge=1)] = 100) -> OutagePage:
    """A pool's recorded outages and curtailments with their credit totals, newest first."""
    page = await svc.outages.of_pool(pool_id, cursor=cursor, limit=page_limit(svc, limit))
    return OutagePage(items=[OutageOut.of(o) for o in page.items],
                      next_cursor=page.next_cursor)


@router.get("/contracts/{contract_id}/credits", response_model=CreditList)
async def contract_credits(contract_id: IdPath, caller: Caller, svc: Svc) -> CreditList:
    """The service credits a contract received (its holder, its provider, or an admin)."""
    found = await svc.outages.contract_credits(caller, contract_id)
    return CreditList(items=[CreditOut.of(c) for c in found])
