"""The gpux Python SDK: `Client` (sync) and `AsyncClient` for the REST API, `FeedClient` for
the WebSocket feed. It imports nothing of the server but `gpux.domain.jsonio` (exact JSON).
Errors: `gpux.client.errors` (one hierarchy under `GpuxError`)."""

from gpux.client.calls import alternative, new_client_order_id
from gpux.client.clients import AsyncClient, Client
from gpux.client.errors import (
    Conflict,
    ConnectionFailed,
    Forbidden,
    GpuxError,
    InvalidRequest,
    NotFound,
    ServerError,
    Unauthenticated,
)
from gpux.client.feed import FeedClient
from gpux.client.funds import Balance, Halt, LedgerEntry, Statement
from gpux.client.models import (
    Account,
    Alternative,
    ApiKey,
    Auction,
    ClearingPrice,
    Contract,
    FeedMessage,
    Fill,
    Leg,
    Order,
    Page,
    Parsed,
    Pool,
    PriceIndex,
)
from gpux.client.outages import Credit, Outage
from gpux.client.transport import Retry

__all__ = [
    "Account",
    "Alternative",
    "ApiKey",
    "AsyncClient",
    "Auction",
    "Balance",
    "ClearingPrice",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "Contract",
    "Credit",
    "FeedClient",
    "FeedMessage",
    "Fill",
    "Forbidden",
    "GpuxError",
    "Halt",
    "InvalidRequest",
    "LedgerEntry",
    "Leg",
    "NotFound",
    "Order",
    "Outage",
    "Page",
    "Parsed",
    "Pool",
    "PriceIndex",
    "Retry",
    "ServerError",
    "Statement",
    "Unauthenticated",
    "alternative",
    "new_client_order_id",
]
