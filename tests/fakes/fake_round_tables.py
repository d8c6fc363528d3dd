"""The tables a clearing round reads and writes, in memory: what `FakeRoundStore` keeps.

Rows are plain mutable dataclasses; a fake transaction deep-copies a `RoundState` and swaps
it in on commit. What PostgreSQL's constraints would refuse raises `ConstraintViolation`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from fakes.fake_ledger import LedgerBook
from gpux.domain.jsonio import dumps, loads
from gpux.domain.resale import Piece
from gpux.domain.rounds import (
    Fill,
    IndexRow,
    OpenAlternative,
    OpenAsk,
    OpenPool,
    PriceRow,
    SoldRange,
)
from gpux.service.round_ports import AuctionSummary, ClosedOrder, Event

STATUSES = ("open", "filled", "cancelled", "expired")


class ConstraintViolation(Exception):
    """What a PostgreSQL constraint would refuse (a duplicate key, an unknown row)."""


@dataclass
class FakeOrder:
    """One row of `orders`: a bid (alternatives) or an ask (pool, GPUs, reserve price)."""

    id: int
    account_id: str
    side: str
    client_order_id: str
    partition: str
    created_at: datetime
    starts_at: datetime
    ends_at: datetime
    alternatives: tuple[OpenAlternative, ...] = ()
    pool_id: str | None = None
    gpus: int | None = None
    price: Decimal | None = None
    contract_id: int | None = None
    status: str = "open"
    frozen_auction_id: int | None = None
    cancel_requested: bool = False


@dataclass
class FakeAuction:
    """One row of `auctions`: the frozen book, and once cleared its result and summary."""

    id: int
    partition: str
    cutoff: datetime
    book: dict[str, object]
    bids: int
    asks: int
    status: str = "frozen"
    summary: AuctionSummary | None = None


@dataclass
class FakeContract:
    """One row of `contracts`."""

    id: int
    holder_id: str
    provider_id: str
    pool_id: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    price: Decimal
    fill_id: int | None = None
    parent_id: int | None = None
    offer_id: int | None = None
    superseded: bool = False

    def piece(self) -> Piece:
        """The contract as resale reads it."""
        return Piece(self.id, self.holder_id, self.provider_id, self.pool_id, self.gpus,
                     self.starts_at, self.ends_at, self.price, self.offer_id)


@dataclass
class RoundState:
    """Every table a round reads or writes."""

    pools: dict[str, tuple[str, OpenPool]] = field(default_factory=dict)  # id -> partition
    orders: dict[int, FakeOrder] = field(default_factory=dict)
    auctions: dict[int, FakeAuction] = field(default_factory=dict)
    fills: dict[int, tuple[int, Fill]] = field(default_factory=dict)  # id -> (auction, fill)
    contracts: dict[int, FakeContract] = field(default_factory=dict)
    prices: dict[tuple[int, str, datetime], PriceRow] = field(default_factory=dict)
    index: dict[tuple[int, str], IndexRow] = field(default_factory=dict)
    outbox: list[Event] = field(default_factory=list)
    ledger: LedgerBook = field(default_factory=LedgerBook)
    halted: bool = False

    def sold(self, ask_ids: Sequence[int]) -> dict[int, list[SoldRange]]:
        """What earlier rounds sold of each ask."""
        wanted = set(ask_ids)
        sold: dict[int, list[SoldRange]] = defaultdict(list)
        for _, f in sorted(self.fills.items()):
            if f[1].side == "ask" and f[1].order_id in wanted:
                sold[f[1].order_id].append(SoldRange(f[1].starts_at, f[1].ends_at, f[1].gpus))
        return sold

    def open_ask(self, o: FakeOrder, sold: Mapping[int, list[SoldRange]]) -> OpenAsk:
        """An ask row as a round reads it."""
        assert o.pool_id is not None and o.gpus is not None and o.price is not None
        return OpenAsk(o.id, o.account_id, o.pool_id, o.gpus, o.price, o.starts_at,
                       o.ends_at, tuple(sold.get(o.id, ())), o.cancel_requested, o.contract_id)

    def close(self, order_ids: Sequence[int], status: str, *,
              release_frozen: bool = False) -> list[ClosedOrder]:
        """Set orders to `status`; an order id that is not there is skipped, as an UPDATE."""
        if status not in STATUSES:
            raise ConstraintViolation(f"status must be one of {STATUSES}, was {status!r}")
        closed = []
        for order_id in sorted(set(order_ids)):
            o = self.orders.get(order_id)
            if o is None:
                continue
            o.status = status
            if release_frozen:
                o.frozen_auction_id = None
            closed.append(ClosedOrder(o.id, o.account_id, o.side, o.client_order_id, status))
        return closed

    def add_events(self, events: Sequence[Event]) -> None:
        """Append outbox rows; an event id is stored once (the column is unique)."""
        seen = {e.event_id for e in self.outbox}
        for e in events:
            if e.event_id in seen:
                raise ConstraintViolation(f"outbox already has event {e.event_id!r}")
            seen.add(e.event_id)
            # Stored as JSONB is: exact numbers, and only what JSON can hold.
            self.outbox.append(Event(e.stream, e.event_id, loads(dumps(e.payload, indent=None))))
