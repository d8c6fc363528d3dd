"""Orders: place bids, asks and resale offers of contracts; read, list and cancel your own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from gpux.entrypoints.api.auth import Caller, Svc, caller
from gpux.entrypoints.api.deps import IdPath, Services, page_limit
from gpux.entrypoints.api.errors import PROBLEM_JSON
from gpux.entrypoints.api.exactjson import ExactJSONRoute
from gpux.entrypoints.api.schemas import (
    AskIn,
    BidIn,
    OfferIn,
    OrderOut,
    OrderPage,
    ProblemOut,
    Side,
    Status,
)
from gpux.service.orders import Placed

router = APIRouter(route_class=ExactJSONRoute, tags=["orders"])

_PROBLEMS: dict[int | str, dict[str, object]] = {
    code: {"model": ProblemOut, "content": {PROBLEM_JSON: {}}, "description": text}
    for code, text in ((401, "no or unknown API key"), (403, "role or ownership refuses"),
                       (409, "conflict: client order id reused, pool oversold, open orders, "
                             "contract superseded or already on offer"),
                       (422, "invalid order, window in the past, limit exceeded"))}


def _placed(placed: Placed) -> Response:
    headers = {} if placed.created else {"Idempotent-Replayed": "true"}
    return Response(OrderOut.of(placed.order).model_dump_json(), status_code=201,
                    media_type="application/json", headers=headers)


# The two placing routes read the caller from the request rather than through dependencies:
# FastAPI's dependency solving costs a good part of order entry's time.
@router.post("/bids", status_code=201, response_model=OrderOut, responses=_PROBLEMS)
async def place_bid(body: BidIn, request: Request) -> Response:
    """Place a bid (buyers). A retry with the same client order id and body returns the
    first order (header `Idempotent-Replayed: true`) and creates nothing."""
    caller_ = await caller(request)
    svc: Services = request.app.state.services
    return _placed(await svc.orders.place_bid(caller_, body.to_domain()))


@router.post("/asks", status_code=201, response_model=OrderOut, responses=_PROBLEMS)
async def place_ask(body: AskIn, request: Request) -> Response:
    """Place an ask on one of your pools (providers). It may not oversell the pool."""
    caller_ = await caller(request)
    svc: Services = request.app.state.services
    return _placed(await svc.orders.place_ask(caller_, body.to_domain()))


@router.post("/contracts/{contract_id}/offers", status_code=201, response_model=OrderOut,
             responses=_PROBLEMS)
async def offer_contract(contract_id: IdPath, body: OfferIn, caller: Caller, svc: Svc) -> Response:
    """Offer all or part of a contract you hold for resale: an ask on its pool at your
    reserve, in the next rounds, until sold, cancelled, or its first hour starts. Offered
    GPU-hours are marked (`offered` in `GET /contracts`) and cannot be offered twice. A retry
    with the same client order id and body returns the first order."""
    return _placed(await svc.resale.offer(caller, body.to_domain(contract_id)))


@router.get("/orders", response_model=OrderPage)
async def list_orders(
    caller: Caller, svc: Svc, side: Side | None = None, status: Status | None = None,
    pool: str | None = None, cursor: str | None = None,
    limit: Annotated[int, Query(ge=1)] = 100,
) -> OrderPage:
    """Your orders, newest first; follow `next_cursor` for more."""
    page = await svc.orders.list(caller, side=side, status=status, pool_id=pool, cursor=cursor,
                                 limit=page_limit(svc, limit))
    return OrderPage(items=[OrderOut.of(o) for o in page.items], next_cursor=page.next_cursor)


@router.get("/orders/{order_id}", response_model=OrderOut, responses=_PROBLEMS)
async def get_order(order_id: IdPath, caller: Caller, svc: Svc) -> OrderOut:
    """One of your orders."""
    return OrderOut.of(await svc.orders.get(caller, order_id))


@router.delete("/orders/{order_id}", response_model=OrderOut, responses={
    202: {"model": OrderOut, "description": "a round is solving the order: it is cancelled "
          "when that round commits, unless filled (`cancel_pending: true`)"}, **_PROBLEMS})
async def cancel_order(order_id: IdPath, caller: Caller, svc: Svc) -> Response:
    """Cancel one of your open orders."""
    order = await svc.orders.cancel(caller, order_id)
    return Response(OrderOut.of(order).model_dump_json(), media_type="application/json",
                    status_code=202 if order.cancel_pending else 200)
