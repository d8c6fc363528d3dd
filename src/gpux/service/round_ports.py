"""The ports a clearing round talks to: the round store (two transactions), outbox events, time.

Each port is a Protocol; `gpux.adapters.postgres.rounds` implements the store on PostgreSQL and
`gpux.adapters.clock` the clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from gpux.domain.resale import Piece
from gpux.domain.resale_round import Split
from gpux.domain.rounds import Fill, FrozenRound, IndexRow, OpenAsk, OpenBid, OpenPool, PriceRow
from gpux.service.ledger_ports import Ledger


@dataclass(frozen=True, slots=True)
class OpenOrders:
    """What a round may freeze: the partition's pools and its open, unfrozen orders."""

    pools: tuple[OpenPool, ...]
    bids: tuple[OpenBid, ...]
    asks: tuple[OpenAsk, ...]


@dataclass(frozen=True, slots=True)
class StoredAuction:
    """A frozen auction as stored: its id, cutoff and book document."""

    id: int
    partition: str
    cutoff: datetime
    book: dict[str, object]


@dataclass(frozen=True, slots=True)
class FrozenOrders:
    """The orders an auction froze, as they are at commit: cancel requests and ask positions."""

    bids: Mapping[int, bool]  # order id -> cancel requested
    asks: tuple[OpenAsk, ...]  # with what earlier rounds sold


@dataclass(frozen=True, slots=True)
class AuctionSummary:
    """The columns a cleared auction records beside its result document."""

    result: dict[str, object]
    solve_status: str
    surplus: Decimal
    bound: Decimal
    volume_gpu_hours: int
    solve_seconds: float


@dataclass(frozen=True, slots=True)
class Event:
    """One outbox row: published once the round commits, at least once."""

    stream: str
    event_id: str
    payload: dict[str, object]


@dataclass(frozen=True, slots=True)
class ClosedOrder:
    """An order that left the book: whose it is and the status it left with."""

    order_id: int
    account_id: str
    side: str
    client_order_id: str
    status: str


class FreezeTx(Protocol):
    """One transaction that freezes a round's book."""

    async def open_orders(self, partition: str, cutoff: datetime) -> OpenOrders:
        """Lock and read the partition's open, unfrozen orders created at or before `cutoff`."""
        ...

    async def store_auction(self, partition: str, cutoff: datetime,
                            frozen: FrozenRound) -> int | None:
        """Store the frozen book; None if the partition already has an auction at `cutoff`."""
        ...

    async def close_orders(self, order_ids: Sequence[int], status: str) -> list[ClosedOrder]:
        """Set orders that leave the book for good to `status` (expired, cancelled)."""
        ...

    async def mark_frozen(self, order_ids: Sequence[int], auction_id: int) -> None:
        """Mark orders as frozen by `auction_id` (cancels then wait for its commit)."""
        ...

    def ledger(self) -> Ledger:
        """The ledger, in this transaction (holds of expired and cancelled bids return)."""
        ...

    async def add_events(self, events: Sequence[Event]) -> None:
        """Insert outbox rows."""
        ...


class CommitTx(Protocol):
    """One transaction that commits a solved round."""

    def ledger(self) -> Ledger:
        """The ledger, in this transaction (the round settles as it commits)."""
        ...

    async def lock_frozen(self, auction_id: int) -> bool:
        """Lock the auction row; False unless it is still frozen (someone else committed)."""
        ...

    async def frozen_orders(self, auction_id: int) -> FrozenOrders:
        """Lock and read the orders `auction_id` froze."""
        ...

    async def record_result(self, auction_id: int, summary: AuctionSummary) -> None:
        """Write the result and summary columns; the auction becomes cleared."""
        ...

    async def add_fills(self, auction_id: int, fills: Sequence[Fill]) -> list[int]:
        """Insert fills; their ids, in the order given."""
        ...

    async def offered_pieces(self, offer_ids: Sequence[int]) -> Mapping[int, Sequence[Piece]]:
        """Lock and read the live contract pieces each resale order offers."""
        ...

    async def add_contracts(self, split: Split) -> None:
        """Mark the split pieces superseded and insert the new contracts."""
        ...

    async def add_prices(self, auction_id: int, prices: Sequence[PriceRow],
                         index: Sequence[IndexRow]) -> None:
        """Insert the clearing prices and the price index."""
        ...

    async def set_status(self, auction_id: int,
                         statuses: Mapping[int, str]) -> list[ClosedOrder]:
        """Release every order `auction_id` froze, setting the given new statuses."""
        ...

    async def add_events(self, events: Sequence[Event]) -> None:
        """Insert outbox rows."""
        ...


class RoundStore(Protocol):
    """Where rounds are frozen and committed."""

    def freezing(self) -> AbstractAsyncContextManager[FreezeTx]:
        """A transaction for freezing; commits on a clean exit, rolls back on an error."""
        ...

    def committing(self) -> AbstractAsyncContextManager[CommitTx]:
        """A transaction for committing a result; commits on a clean exit."""
        ...

    async def frozen_auctions(self, partition: str) -> list[StoredAuction]:
        """The partition's auctions frozen but not cleared, oldest first."""
        ...

    async def market_halted(self) -> bool:
        """Whether the market's kill switch is on (then no round is frozen or committed)."""
        ...
