"""Every REST endpoint as a `Call`: method, path, query, body, how to read the answer, and
whether repeating it is safe. The sync and async clients only send them."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from gpux.client.models import (
    Account,
    ApiKey,
    Auction,
    Contract,
    Fill,
    Order,
    Page,
    Parsed,
    Pool,
    PriceIndex,
)

T = TypeVar("T")
M = TypeVar("M")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request. `idempotent`: sending it twice does what sending it once does, so it is
    retried after a lost answer or a 5xx (a connection never made is retried in any case)."""

    method: str
    path: str
    read: Callable[[Any, dict[str, str]], T]
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    idempotent: bool = False


def iso(moment: datetime | str) -> str:
    """A time as the API writes it (UTC, `Z`)."""
    if isinstance(moment, str):
        return moment
    return moment.isoformat().replace("+00:00", "Z")


def _query(**params: Any) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _page(of: Callable[[dict[str, Any]], M]) -> Callable[[Any, dict[str, str]], Page[M]]:
    def read(doc: Any, _headers: dict[str, str]) -> Page[M]:
        return Page([of(x) for x in doc["items"]], doc.get("next_cursor"))
    return read


def _one(of: Callable[[dict[str, Any]], M]) -> Callable[[Any, dict[str, str]], M]:
    return lambda doc, _headers: of(doc)


def _order(doc: Any, headers: dict[str, str]) -> Order:
    return Order.of(doc, replayed=headers.get("idempotent-replayed", "").lower() == "true")


def new_client_order_id() -> str:
    """A fresh client order id (a retry must reuse it: that is what makes retries safe)."""
    return f"sdk-{uuid.uuid4().hex[:24]}"


def alternative(*, gpus: int, hours: int, earliest_start: datetime | str,
                latest_end: datetime | str, gpu: Sequence[str] | str | None = None,
                regions: Sequence[str] | str | None = None,
                limit_per_gpu_hour: Decimal | str | None = None,
                value: Decimal | str | None = None, min_uptime: Decimal | str | None = None,
                offset_hours: int = 0) -> dict[str, Any]:
    """One single-leg alternative of a bid, as the API's JSON (give a limit or a value)."""
    leg: dict[str, Any] = {"gpus": gpus, "duration_hours": hours, "offset_hours": offset_hours}
    if gpu is not None:
        leg["gpu"] = [gpu] if isinstance(gpu, str) else list(gpu)
    if regions is not None:
        leg["regions"] = [regions] if isinstance(regions, str) else list(regions)
    if min_uptime is not None:
        leg["min_uptime"] = Decimal(str(min_uptime))
    alt: dict[str, Any] = {"earliest_start": iso(earliest_start),
                           "latest_end": iso(latest_end), "legs": [leg]}
    if limit_per_gpu_hour is not None:
        alt["limit_per_gpu_hour"] = Decimal(str(limit_per_gpu_hour))
    if value is not None:
        alt["value"] = Decimal(str(value))
    return alt


def create_account(account_id: str, name: str, role: str) -> Call[Account]:
    return Call("POST", "/accounts", _one(Account.of),
                body={"id": account_id, "name": name, "role": role})


def create_key(account_id: str) -> Call[ApiKey]:
    return Call("POST", f"/accounts/{account_id}/keys", _one(ApiKey.of), body={})


def me() -> Call[Account]:
    return Call("GET", "/me", _one(Account.of), idempotent=True)


def create_pool(pool_id: str, gpu: str, region: str, uptime: Decimal | str,
                gpus: int) -> Call[Pool]:
    return Call("POST", "/pools", _one(Pool.of), body={
        "id": pool_id, "gpu": gpu, "region": region, "uptime": Decimal(str(uptime)),
        "gpus": gpus})


def pools(cursor: str | None = None, limit: int | None = None) -> Call[Page[Pool]]:
    return Call("GET", "/pools", _page(Pool.of), _query(cursor=cursor, limit=limit),
                idempotent=True)


def bid(alternatives: Sequence[dict[str, Any]],
        client_order_id: str | None = None) -> Call[Order]:
    return Call("POST", "/bids", _order, body={
        "client_order_id": client_order_id or new_client_order_id(),
        "alternatives": list(alternatives)}, idempotent=True)


def ask(pool: str, gpus: int, starts_at: datetime | str, ends_at: datetime | str,
        price: Decimal | str, client_order_id: str | None = None) -> Call[Order]:
    return Call("POST", "/asks", _order, body={
        "client_order_id": client_order_id or new_client_order_id(), "pool": pool,
        "gpus": gpus, "starts_at": iso(starts_at), "ends_at": iso(ends_at),
        "price": Decimal(str(price))}, idempotent=True)


def resell(contract_id: int, gpus: int, starts_at: datetime | str, ends_at: datetime | str,
           price: Decimal | str, client_order_id: str | None = None) -> Call[Order]:
    return Call("POST", f"/contracts/{contract_id}/offers", _order, body={
        "client_order_id": client_order_id or new_client_order_id(), "gpus": gpus,
        "starts_at": iso(starts_at), "ends_at": iso(ends_at), "price": Decimal(str(price))},
        idempotent=True)


def orders(side: str | None = None, status: str | None = None, pool: str | None = None,
           cursor: str | None = None, limit: int | None = None) -> Call[Page[Order]]:
    return Call("GET", "/orders", _page(Order.of),
                _query(side=side, status=status, pool=pool, cursor=cursor, limit=limit),
                idempotent=True)


def order(order_id: int) -> Call[Order]:
    return Call("GET", f"/orders/{order_id}", _order, idempotent=True)


def cancel(order_id: int) -> Call[Order]:
    # Not repeated after a lost answer: the second would be refused (the order is not open).
    return Call("DELETE", f"/orders/{order_id}", _order)


def parse(text: str, now: datetime | str | None = None) -> Call[Parsed]:
    body: dict[str, Any] = {"text": text}
    if now is not None:
        body["now"] = iso(now)
    return Call("POST", "/orders/parse?placement=true", _one(Parsed.of), body=body,
                idempotent=True)


def fills(order_id: int | None = None, auction_id: int | None = None,
          cursor: str | None = None, limit: int | None = None) -> Call[Page[Fill]]:
    return Call("GET", "/fills", _page(Fill.of),
                _query(order_id=order_id, auction_id=auction_id, cursor=cursor, limit=limit),
                idempotent=True)


def contracts(cursor: str | None = None, limit: int | None = None,
              superseded: bool | None = None) -> Call[Page[Contract]]:
    return Call("GET", "/contracts", _page(Contract.of),
                _query(cursor=cursor, limit=limit,
                       superseded=None if superseded is None else str(superseded).lower()),
                idempotent=True)


def auctions(cursor: str | None = None, limit: int | None = None) -> Call[Page[Auction]]:
    return Call("GET", "/auctions", _page(Auction.of), _query(cursor=cursor, limit=limit),
                idempotent=True)


def auction(auction_id: int) -> Call[Auction]:
    return Call("GET", f"/auctions/{auction_id}", _one(Auction.of), idempotent=True)


def price_index() -> Call[list[PriceIndex]]:
    return Call("GET", "/prices/index",
                lambda doc, _h: [PriceIndex.of(x) for x in doc], idempotent=True)
