"""The one table from errors to HTTP, and every error as RFC 9457 problem JSON.

Each body has `type`, `title`, `status`, `detail`, the stable `code`, the `field` and `value`
of the first offending field, and `errors` listing every one. Request bodies that do not
parse or do not match the schema are reshaped the same way, with code `invalid_request`.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gpux.adapters.metrics import ORDERS_REJECTED
from gpux.domain import errors as e
from gpux.nlorders.errors import UnreadableOrder

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# Most specific first is not needed: the lookup walks each error's MRO.
STATUS: dict[type[e.ExchangeError], tuple[int, str]] = {
    e.Unauthenticated: (401, "Not authenticated"),
    e.Forbidden: (403, "Forbidden"),
    e.AccountHalted: (403, "Account halted"),
    e.MarketHalted: (409, "Market halted"),
    e.InsufficientFunds: (409, "Insufficient funds"),
    e.ReferenceReused: (409, "Reference reused"),
    e.PriceOutOfBand: (422, "Price out of band"),
    e.NotFound: (404, "Not found"),
    e.AlreadyExists: (409, "Already exists"),
    e.ClientOrderIdReused: (409, "Client order id reused"),
    e.OrderNotOpen: (409, "Order not open"),
    e.PoolOversold: (409, "Pool oversold"),
    e.ContractNotHeld: (403, "Contract not held"),
    e.ContractSuperseded: (409, "Contract superseded"),
    e.OfferExceedsContract: (409, "Offer exceeds contract"),
    e.OfferOutsideContract: (422, "Offer outside contract"),
    e.OutageOverlaps: (409, "Outage overlaps"),
    e.TooManyOpenOrders: (409, "Too many open orders"),
    e.UnknownPool: (422, "Unknown pool"),
    e.WindowInPast: (422, "Window in the past"),
    e.LimitExceeded: (422, "Limit exceeded"),
    e.InvalidOutage: (422, "Invalid outage"),
    e.SpansPartitions: (422, "Bid spans partitions"),
    e.InvalidOrder: (422, "Invalid order"),
    e.InvalidValue: (422, "Invalid value"),
    UnreadableOrder: (422, "Unreadable order"),
    e.ExchangeError: (400, "Bad request"),
}


def status_of(exc: e.ExchangeError) -> tuple[int, str]:
    """The HTTP status and title of an error: its nearest class in the table."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400, "Bad request"


def _plain(value: Any) -> Any:
    """A JSON-ready copy of a problem's value (money stays exact, as a decimal string)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def problem(status: int, title: str, code: str, detail: str,
            items: list[tuple[str | None, str, Any]],
            headers: dict[str, str] | None = None) -> Response:
    """A problem+json response; `items` are (field, message, value), the first one leading."""
    errors = [{"field": f, "message": m, "value": _plain(v)} for f, m, v in items]
    body: dict[str, Any] = {
        "type": f"/problems/{code}", "title": title, "status": status, "detail": detail,
        "code": code, "field": errors[0]["field"] if errors else None,
        "value": errors[0]["value"] if errors else None, "errors": errors}
    return Response(json.dumps(body), status_code=status, media_type=PROBLEM_JSON,
                    headers=headers)


_ORDER_PATHS = {"/bids": "bid", "/asks": "ask"}


def _count_rejection(request: Request, code: str) -> None:
    side = _ORDER_PATHS.get(request.url.path)
    if side is not None and request.method == "POST":
        ORDERS_REJECTED.labels(side, code).inc()


async def on_exchange_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, e.ExchangeError)
    _count_rejection(request, exc.code)
    status, title = status_of(exc)
    problems = getattr(exc, "problems", ())
    items = [(p.path, p.message, p.value) for p in problems]
    detail = "; ".join(f"{p.path}: {p.message}, was {json.dumps(_plain(p.value))}"
                       for p in problems) if problems else str(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return problem(status, title, exc.code, detail, items, headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    _count_rejection(request, "invalid_request")
    items: list[tuple[str | None, str, Any]] = []
    for err in exc.errors():
        value = None if err.get("type") in ("missing", "json_invalid") else err.get("input")
        items.append((_field(tuple(err.get("loc", ()))), str(err.get("msg", "invalid")), value))
    detail = "; ".join(f"{f}: {m}" for f, m, _ in items) or "the request is not valid"
    return problem(422, "Invalid request", "invalid_request", detail, items)


async def on_http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return problem(exc.status_code, str(exc.detail), code, str(exc.detail), [],
                   dict(exc.headers) if exc.headers else None)


async def on_unexpected(_: Request, exc: Exception) -> Response:
    log.exception("unexpected error", exc_info=exc)
    return problem(500, "Internal error", "internal_error",
                   "the exchange could not handle this request", [])


def install(app: FastAPI) -> None:
    """Route every error of the app through the table above."""
    app.add_exception_handler(e.ExchangeError, on_exchange_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
