"""The ports the use cases talk to: a clock, a unit of work and its repositories, read models.

The PostgreSQL adapter implements these; tests may substitute fakes that subclass them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, Self, TypeVar

from gpux.domain.accounts import Account, PoolSpec
from gpux.domain.orders import AskOrder, BidOrder
from gpux.service.credit_ports import OutageRepository
from gpux.service.halt_ports import HaltRepository
from gpux.service.ledger_ports import Ledger, Transfers

if TYPE_CHECKING:  # resale_ports reads Order from here
    from gpux.service.resale_ports import ContractRepository

T = TypeVar("T")


class Clock(Protocol):
    """Where the current time comes from (only the adapter calls `datetime.now()`)."""

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        ...


@dataclass(frozen=True, slots=True)
class Pool:
    """A registered pool, as stored."""

    id: str
    provider_id: str
    gpu: str
    region: str
    uptime: Decimal
    gpus: int
    partition: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Order:
    """An order as stored: its columns and its canonical request document."""

    id: int
    account_id: str
    side: str
    client_order_id: str
    status: str
    starts_at: datetime
    ends_at: datetime
    pool_id: str | None
    gpus: int | None
    price: Decimal | None
    max_value: Decimal | None
    frozen_auction_id: int | None
    cancel_requested: bool
    request: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @property
    def cancel_pending(self) -> bool:
        """A cancel waits for the round that froze this order."""
        return self.cancel_requested and self.status == "open"


@dataclass(frozen=True, slots=True)
class Admission:
    """What one atomic placement found and did: the account's state, and the new order if
    the account was admitted (not halted, under the cap, client order id unused, its
    available balance covering the hold)."""

    halted: bool
    open_orders: int
    existing_id: int | None
    order: Order | None
    market_halted: bool = False
    available: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """Which of one account's orders to list: newest first, ids below `before_id`."""

    account_id: str
    side: str | None = None
    status: str | None = None
    pool_id: str | None = None
    before_id: int | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset-paginated list, and the cursor of the next (None at the end)."""

    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Fill:
    """What one order got in one auction: GPUs of a pool over hours, and the amount."""

    id: int
    auction_id: int
    order_id: int
    side: str
    alternative: int | None
    leg: int | None
    pool_id: str
    starts_at: datetime
    ends_at: datetime
    gpus: int
    amount: Decimal
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Contract:
    """GPUs a buyer now holds from a provider's pool over hours, at a price per GPU-hour."""

    id: int
    fill_id: int | None
    holder_id: str
    provider_id: str
    pool_id: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    price: Decimal
    created_at: datetime
    # What the holder paid for it (its fill's amount), and where delivery stands now:
    # upcoming (not started), delivering, delivered.
    amount: Decimal | None = None
    delivery: str | None = None
    # Resale: the contract it was split off, live or superseded (split), the open resale
    # order offering all of it (then its holder may not use it).
    parent_id: int | None = None
    status: str = "live"
    offer_id: int | None = None


@dataclass(frozen=True, slots=True)
class AuctionSummary:
    """A round's public summary (never any account's orders)."""

    id: int
    partition: str
    cutoff: datetime
    horizon_start: datetime
    slots: int
    status: str
    solve_status: str | None
    surplus: Decimal | None
    bound: Decimal | None
    volume_gpu_hours: int | None
    solve_seconds: Decimal | None
    bids: int
    asks: int
    created_at: datetime
    cleared_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClearingPrice:
    """The clearing price per GPU-hour of one pool over a range of hours."""

    pool_id: str
    starts_at: datetime
    ends_at: datetime
    price: Decimal


@dataclass(frozen=True, slots=True)
class PriceIndexEntry:
    """The GPU-hour weighted mean clearing price of one GPU model in its latest auction."""

    gpu: str
    price: Decimal
    gpu_hours: int
    auction_id: int
    cutoff: datetime


class AccountRepository(Protocol):
    """Accounts and their API keys."""

    async def add(self, account: Account) -> bool:
        """Store a new account; False if the id is taken."""
        ...

    async def get(self, account_id: str) -> Account | None:
        """The account, if it exists."""
        ...

    async def lock_for_order(self, account_id: str, client_order_id: str
                             ) -> tuple[Account, int, int | None] | None:
        """Lock the account row; its open orders and the order id under the client order
        id, if any."""
        ...

    async def add_key(self, account_id: str, key_hash: str, prefix: str) -> None:
        """Store an API key's hash."""
        ...

    async def by_key_hash(self, key_hash: str) -> Account | None:
        """The account whose live (unrevoked) key has this hash."""
        ...


class PoolRepository(Protocol):
    """Pools registered by providers."""

    async def add(self, provider_id: str, pool: PoolSpec, partition: str) -> Pool | None:
        """Store a new pool; None if the id is taken."""
        ...

    async def get(self, pool_id: str, *, for_update: bool = False) -> Pool | None:
        """The pool, locked against concurrent asks when `for_update`."""
        ...

    async def find(self, *, gpu: str | None, region: str | None, provider_id: str | None,
                   after_id: str | None, limit: int) -> list[Pool]:
        """Pools by id, from after `after_id`."""
        ...

    async def committed(self, pool_id: str, starts_at: datetime, ends_at: datetime
                        ) -> list[tuple[datetime, datetime, int]]:
        """GPUs of the pool already offered or sold overlapping a window, as intervals."""
        ...


class OrderRepository(Protocol):
    """Orders (bids with alternatives and legs, asks)."""

    async def add_ask(self, account_id: str, ask: AskOrder, partition: str,
                      request: dict[str, Any]) -> Order | None:
        """Store a new ask and its canonical `request` document; None if the client order
        id is taken."""
        ...

    async def get(self, account_id: str, order_id: int, *, for_update: bool = False
                  ) -> Order | None:
        """One of the account's orders."""
        ...

    async def by_client_id(self, account_id: str, client_order_id: str) -> Order | None:
        """The account's order under a client order id."""
        ...

    async def find(self, query: OrderQuery) -> list[Order]:
        """The account's orders matching the query, newest first."""
        ...

    async def cancel(self, order_id: int, *, pending: bool) -> Order:
        """Cancel now, or mark for cancelling when the freezing round commits."""
        ...


class MarketReads(Protocol):
    """What the clearing worker wrote: fills, contracts, auctions, prices."""

    async def fills(self, account_id: str, *, order_id: int | None, auction_id: int | None,
                    before_id: int | None, limit: int) -> list[Fill]:
        """The account's fills, newest first."""
        ...

    async def contracts(self, account_id: str, *, before_id: int | None, limit: int,
                        role: str | None = None, undelivered: bool = False,
                        superseded: bool = False) -> list[Contract]:
        """Contracts the account holds or provides (or, by `role`, only one of the two),
        newest first; with `undelivered`, only those not yet fully delivered; live ones
        only unless `superseded`."""
        ...

    async def auctions(self, *, before_id: int | None, limit: int) -> list[AuctionSummary]:
        """Auctions, newest first."""
        ...

    async def auction(self, auction_id: int) -> AuctionSummary | None:
        """One auction's summary."""
        ...

    async def clearing_prices(self, auction_id: int) -> list[ClearingPrice]:
        """One auction's clearing prices per pool and range of hours."""
        ...

    async def price_index(self) -> list[PriceIndexEntry]:
        """The latest price index entry of every GPU model."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository: committed only by `commit`."""

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def pools(self) -> PoolRepository: ...

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def market(self) -> MarketReads: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def halts(self) -> HaltRepository: ...

    @property
    def contracts(self) -> ContractRepository: ...

    @property
    def outages(self) -> OutageRepository: ...

    @property
    def transfers(self) -> Transfers: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None: ...

    async def commit(self) -> None:
        """Make everything done in this unit permanent."""
        ...


class UnitOfWorkFactory(Protocol):
    """Makes a fresh unit of work per use case."""

    def __call__(self) -> UnitOfWork: ...


class OrderEntry(Protocol):
    """The order-entry hot path: placing a bid as one atomic statement, outside any unit of
    work (one round trip, no BEGIN or COMMIT of its own)."""

    async def place_bid(self, account_id: str, bid: BidOrder, partition: str,
                        request: dict[str, Any], max_open_orders: int) -> Admission | None:
        """Admit the account and store the bid with its `request` document, atomically
        (None if there is no such account). The open-order cap is checked against the
        orders committed when the statement starts, so concurrent bids of one account may
        pass it together (by at most their number)."""
        ...
