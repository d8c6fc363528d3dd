"""The round store in memory: `FakeRoundStore`, held to the same contract suite as
`gpux.adapters.postgres.rounds.PostgresRounds` (tests/integration/roundstore/).

Transactions: each `freezing()` / `committing()` works on a deep copy of the committed state
and swaps it in only on a clean exit, so a transaction that raises leaves nothing. One lock
serialises the transactions (PostgreSQL locks only the rows they touch; one lock for the whole
store is coarser, never weaker): a second commit of the same auction waits for the first and
then finds it cleared, as `SELECT ... FOR UPDATE` makes it on PostgreSQL.

Besides the port, the fake has what order entry, resale and the admin would write (accounts'
pools, bids with their holds, asks, contracts, cancel requests, the kill switch) and readers
for the tests. Those run between transactions, never inside one.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal

from fakes.fake_ledger import FakeLedger
from fakes.fake_round_tables import (
    ConstraintViolation,
    FakeAuction,
    FakeContract,
    FakeOrder,
    RoundState,
)
from gpux.domain import ledger as rules
from gpux.domain.jsonio import dumps, loads
from gpux.domain.resale import Piece
from gpux.domain.resale_round import Split
from gpux.domain.rounds import (
    Fill,
    FrozenRound,
    IndexRow,
    OpenAlternative,
    OpenBid,
    OpenPool,
    PriceRow,
)
from gpux.service.round_ports import (
    AuctionSummary,
    ClosedOrder,
    CommitTx,
    Event,
    FreezeTx,
    FrozenOrders,
    OpenOrders,
    RoundStore,
    StoredAuction,
)

__all__ = ["ConstraintViolation", "FakeCommit", "FakeFreeze", "FakeRoundStore", "RoundState"]

FIXED_NOW = datetime(2026, 1, 1, tzinfo=UTC)


class _Tx:
    def __init__(self, store: FakeRoundStore, state: RoundState) -> None:
        self._store = store
        self._state = state

    def ledger(self) -> FakeLedger:
        return FakeLedger(self._state.ledger, self._store.next_id, self._store.clock,
                          lambda: self._state.halted)

    async def add_events(self, events: Sequence[Event]) -> None:
        self._state.add_events(events)


class FakeFreeze(_Tx, FreezeTx):
    """A freeze transaction on a copy of the store's state."""

    async def open_orders(self, partition: str, cutoff: datetime) -> OpenOrders:
        s = self._state
        pools = tuple(pool for _, (part, pool) in sorted(s.pools.items()) if part == partition)
        rows = [o for _, o in sorted(s.orders.items())
                if o.partition == partition and o.status == "open"
                and o.frozen_auction_id is None and o.created_at <= cutoff]
        asks = [o for o in rows if o.side == "ask"]
        sold = s.sold([o.id for o in asks])
        bids = tuple(OpenBid(o.id, o.account_id, o.alternatives, o.cancel_requested)
                     for o in rows if o.side == "bid")
        return OpenOrders(pools, bids, tuple(s.open_ask(o, sold) for o in asks))

    async def store_auction(self, partition: str, cutoff: datetime,
                            frozen: FrozenRound) -> int | None:
        s = self._state
        if any(a.partition == partition and a.cutoff == cutoff for a in s.auctions.values()):
            return None
        auction_id = self._store.next_id("auction")
        s.auctions[auction_id] = FakeAuction(
            auction_id, partition, cutoff, loads(dumps(frozen.book, indent=None)),
            frozen.bids, frozen.asks)
        return auction_id

    async def close_orders(self, order_ids: Sequence[int], status: str) -> list[ClosedOrder]:
        return self._state.close(order_ids, status)

    async def mark_frozen(self, order_ids: Sequence[int], auction_id: int) -> None:
        for order_id in order_ids:
            if order_id in self._state.orders:
                self._state.orders[order_id].frozen_auction_id = auction_id


class FakeCommit(_Tx, CommitTx):
    """A commit transaction on a copy of the store's state."""

    async def lock_frozen(self, auction_id: int) -> bool:
        auction = self._state.auctions.get(auction_id)
        return auction is not None and auction.status == "frozen"

    async def frozen_orders(self, auction_id: int) -> FrozenOrders:
        s = self._state
        rows = [o for _, o in sorted(s.orders.items()) if o.frozen_auction_id == auction_id]
        asks = [o for o in rows if o.side == "ask"]
        sold = s.sold([o.id for o in asks])
        return FrozenOrders({o.id: o.cancel_requested for o in rows if o.side == "bid"},
                            tuple(s.open_ask(o, sold) for o in asks))

    async def record_result(self, auction_id: int, summary: AuctionSummary) -> None:
        auction = self._state.auctions.get(auction_id)
        if auction is not None:
            auction.status = "cleared"
            auction.summary = AuctionSummary(
                loads(dumps(summary.result, indent=None)), summary.solve_status,
                summary.surplus, summary.bound, summary.volume_gpu_hours,
                round(summary.solve_seconds, 3))

    async def add_fills(self, auction_id: int, fills: Sequence[Fill]) -> list[int]:
        s = self._state
        if fills and auction_id not in s.auctions:
            raise ConstraintViolation(f"no auction {auction_id} for its fills")
        ids = [self._store.next_id("fill") for _ in fills]
        for fill_id, f in zip(ids, fills, strict=True):
            if f.order_id not in s.orders:
                raise ConstraintViolation(f"fill of unknown order {f.order_id}")
            s.fills[fill_id] = (auction_id, f)
        return ids

    async def offered_pieces(self, offer_ids: Sequence[int]) -> dict[int, list[Piece]]:
        wanted = set(offer_ids)
        found: dict[int, list[Piece]] = defaultdict(list)
        for _, c in sorted(self._state.contracts.items()):
            if c.offer_id in wanted and not c.superseded:
                found[c.offer_id].append(c.piece())
        return found

    async def add_contracts(self, split: Split) -> None:
        s = self._state
        for contract_id in split.superseded:
            if contract_id in s.contracts:
                s.contracts[contract_id].superseded = True
        for c in split.contracts:
            contract_id = self._store.next_id("contract")
            s.contracts[contract_id] = FakeContract(
                contract_id, c.holder_id, c.provider_id, c.pool_id, c.gpus, c.starts_at,
                c.ends_at, c.price, c.fill_id, c.parent_id, c.offer_id)

    async def add_prices(self, auction_id: int, prices: Sequence[PriceRow],
                         index: Sequence[IndexRow]) -> None:
        s = self._state
        for p in prices:
            key = (auction_id, p.pool_id, p.starts_at)
            if key in s.prices:
                raise ConstraintViolation(f"auction {auction_id} already has the price {key}")
            s.prices[key] = p
        for i in index:
            if (auction_id, i.gpu) in s.index:
                raise ConstraintViolation(f"auction {auction_id} already indexes {i.gpu}")
            s.index[auction_id, i.gpu] = i

    async def set_status(self, auction_id: int,
                         statuses: Mapping[int, str]) -> list[ClosedOrder]:
        s = self._state
        by_status: dict[str, list[int]] = defaultdict(list)
        for order_id, status in statuses.items():
            by_status[status].append(order_id)
        closed: list[ClosedOrder] = []
        for status, ids in by_status.items():
            closed += s.close(ids, status, release_frozen=True)
        for o in s.orders.values():
            if o.frozen_auction_id == auction_id:
                o.frozen_auction_id = None
        return sorted(closed, key=lambda c: c.order_id)


class FakeRoundStore(RoundStore):
    """`RoundStore` in memory, with the writes of order entry and the admin beside it."""

    def __init__(self, clock: Callable[[], datetime] = lambda: FIXED_NOW) -> None:
        self.state = RoundState()
        self.clock = clock
        self._lock = asyncio.Lock()
        self._ids: dict[str, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._client_ids = itertools.count(1)

    def next_id(self, sequence: str) -> int:
        """The next value of a sequence (like PostgreSQL's, not rolled back)."""
        return next(self._ids[sequence])

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[RoundState]:
        async with self._lock:
            working = copy.deepcopy(self.state)
            yield working
            self.state = working

    @asynccontextmanager
    async def freezing(self) -> AsyncIterator[FakeFreeze]:
        """A freeze transaction."""
        async with self._transaction() as state:
            yield FakeFreeze(self, state)

    @asynccontextmanager
    async def committing(self) -> AsyncIterator[FakeCommit]:
        """A commit transaction."""
        async with self._transaction() as state:
            yield FakeCommit(self, state)

    async def frozen_auctions(self, partition: str) -> list[StoredAuction]:
        """Auctions frozen but not cleared, oldest first."""
        found = sorted((a for a in self.state.auctions.values()
                        if a.partition == partition and a.status == "frozen"),
                       key=lambda a: (a.cutoff, a.id))
        return [StoredAuction(a.id, a.partition, a.cutoff, copy.deepcopy(a.book))
                for a in found]

    async def market_halted(self) -> bool:
        """Whether the market is halted."""
        return self.state.halted

    # -- what order entry, resale and the admin write (between transactions) ----------------

    def in_transaction(self) -> bool:
        """Whether a transaction is open (it holds every row until it ends)."""
        return self._lock.locked()

    def _outside(self) -> RoundState:
        if self._lock.locked():
            raise RuntimeError("the fake's own writes run between transactions, not in one")
        return self.state

    def ledger(self) -> FakeLedger:
        """The ledger outside any round (deposits, holds as order entry posts them)."""
        s = self._outside()
        return FakeLedger(s.ledger, self.next_id, self.clock, lambda: s.halted)

    def add_pool(self, pool: OpenPool, *, partition: str = "main") -> str:
        """Register a pool in a partition."""
        self._outside().pools[pool.id] = (partition, pool)
        return pool.id

    def add_ask(self, account_id: str, pool_id: str, *, gpus: int, price: Decimal,
                starts_at: datetime, ends_at: datetime, partition: str = "main",
                created_at: datetime | None = None, contract_id: int | None = None) -> int:
        """Place an ask (a resale ask if it offers `contract_id`)."""
        s = self._outside()
        order_id = self.next_id("order")
        s.orders[order_id] = FakeOrder(
            order_id, account_id, "ask", f"c{next(self._client_ids)}", partition,
            created_at or self.clock(), starts_at, ends_at, pool_id=pool_id, gpus=gpus,
            price=price, contract_id=contract_id)
        return order_id

    async def add_bid(self, account_id: str, *alternatives: OpenAlternative,
                      partition: str = "main", created_at: datetime | None = None) -> int:
        """Place a bid as order entry leaves it: its largest value deposited and held."""
        s = self._outside()
        order_id = self.next_id("order")
        s.orders[order_id] = FakeOrder(
            order_id, account_id, "bid", f"c{next(self._client_ids)}", partition,
            created_at or self.clock(), min(a.earliest_start for a in alternatives),
            max(a.latest_end for a in alternatives), alternatives=tuple(alternatives))
        most = max(a.value for a in alternatives)
        ledger = self.ledger()
        await ledger.post(rules.deposit(account_id, most))
        await ledger.post(rules.hold(account_id, order_id, most))
        return order_id

    def add_contract(self, holder_id: str, provider_id: str, pool_id: str, *, gpus: int,
                     starts_at: datetime, ends_at: datetime, price: Decimal) -> int:
        """A contract its holder bought earlier."""
        contract_id = self.next_id("contract")
        self._outside().contracts[contract_id] = FakeContract(
            contract_id, holder_id, provider_id, pool_id, gpus, starts_at, ends_at, price)
        return contract_id

    def offer_contract(self, contract_id: int, offer_id: int) -> None:
        """Mark a contract as wholly offered by the resale ask `offer_id`."""
        self._outside().contracts[contract_id].offer_id = offer_id

    def request_cancel(self, order_id: int) -> None:
        """A cancel request, as order entry records it for an order in the book."""
        self._outside().orders[order_id].cancel_requested = True

    def halt(self, halted: bool = True) -> None:
        """Flip the market's kill switch."""
        self._outside().halted = halted
