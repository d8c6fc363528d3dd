"""Orders written in plain English: parsed, shown, and placed only when the user confirms.

`POST /orders/parse` never places anything: it answers what it understood, the same JSON as
`gpux parse`; with `?placement=true`, `{"order": <that JSON>, "place": <request>}`, the exact
request that would place it. The client shows the order and sends that request (`POST /bids`
or `POST /asks`) only after the user confirms; its `client_order_id` is derived from the text
and the reference time, so a repeated confirmation places one order.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from gpux.adapters.clock import SystemClock
from gpux.adapters.llm import proposer_from_env
from gpux.domain.book import Pool
from gpux.domain.jsonio import dumps
from gpux.entrypoints.api.auth import Caller, Svc
from gpux.nlorders.backend import parse_with_fallback
from gpux.nlorders.order import to_doc

router = APIRouter(tags=["orders"])


class ParseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "text": "need 64 H100s for three days straight next week in us-east, five nines, "
                "up to $2.40 an hour each; A100s would do at $1.50",
        "now": "2026-11-29T05:00:00Z"}]})

    text: str = Field(min_length=1, max_length=4000)
    now: datetime | None = Field(default=None, description="reference time (default: now)")


def place_request(order: dict[str, Any], text: str, now: datetime) -> dict[str, Any]:
    """The request that places a parsed order: method, path and body."""
    digest = hashlib.sha256(f"{now.isoformat()}\n{text}".encode()).hexdigest()[:20]
    client_order_id = f"nl-{digest}"
    if order["side"] == "sell":
        return {"method": "POST", "path": "/asks", "body": {
            "client_order_id": client_order_id, "pool": order["pool"], "gpus": order["gpus"],
            "starts_at": order["start"], "ends_at": order["end"], "price": order["price"]}}
    return {"method": "POST", "path": "/bids", "body": {
        "client_order_id": client_order_id, "alternatives": order["alternatives"]}}


@router.post("/orders/parse", responses={200: {"description": "the order understood (as "
             "`gpux parse` prints it); with placement=true, also the request that places it "
             "once the user confirms"}})
async def parse_order(body: ParseIn, caller: Caller, svc: Svc,
                      placement: bool = False) -> Response:
    """Read an order written in plain English; place nothing."""
    now = body.now or SystemClock().now()
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    own = await svc.pools.list(provider_id=caller.id, limit=svc.settings.page_size_max)
    pools = [Pool(p.id, p.provider_id, p.gpu, p.region, p.uptime) for p in own.items]
    order = to_doc(parse_with_fallback(body.text, now, proposer_from_env(), pools=pools))
    doc = {"order": order, "place": place_request(order, body.text, now)} if placement else order
    return Response(dumps(doc, indent=None), media_type="application/json")
