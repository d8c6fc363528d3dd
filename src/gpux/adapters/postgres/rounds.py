"""The round store on PostgreSQL: the freeze and commit transactions of a clearing round.

Freezing locks the open orders it reads (`FOR UPDATE`), so a cancel racing it either lands
first or finds the order frozen and only requests the cancel; committing locks the auction row
and goes on only while it is still frozen. Bulk rows go in with executemany; fill ids are drawn
from the table's sequence first, so fills, contracts and outbox events are built in one pass.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gpux.adapters.postgres.engine import driver_in_transaction
from gpux.adapters.postgres.ledger import PgLedger
from gpux.adapters.postgres.tables import (
    auctions,
    contracts,
    fills,
    market_state,
    orders,
    price_index,
    prices,
)
from gpux.domain.jsonio import dumps
from gpux.domain.orders import BidLeg
from gpux.domain.resale import Piece
from gpux.domain.resale_round import Split
from gpux.domain.rounds import (
    Fill,
    FrozenRound,
    IndexRow,
    OpenAlternative,
    OpenAsk,
    OpenBid,
    OpenPool,
    PriceRow,
    SoldRange,
)
from gpux.service.round_ports import (
    AuctionSummary,
    ClosedOrder,
    Event,
    FrozenOrders,
    OpenOrders,
    StoredAuction,
)

_IDS = bindparam("ids", type_=ARRAY(BigInteger))
_PIECE = (contracts.c.id, contracts.c.holder_id, contracts.c.provider_id, contracts.c.pool_id,
          contracts.c.gpus, contracts.c.starts_at, contracts.c.ends_at, contracts.c.price,
          contracts.c.offer_id)
_POOLS = ("SELECT id, provider_id, gpu, region, uptime FROM pools WHERE partition = $1 "
          "ORDER BY id")
_OPEN_ORDERS = (
    "SELECT id, account_id, side, pool_id, gpus, price, starts_at, ends_at, cancel_requested, "
    "contract_id FROM orders WHERE partition = $1 AND status = 'open' "
    "AND frozen_auction_id IS NULL AND created_at <= $2 ORDER BY id FOR UPDATE")
_LEGS = ("SELECT order_id, alt_idx, idx, gpus, duration_hours, offset_hours, gpu, regions, "
         "min_uptime, pools FROM bid_legs WHERE order_id = ANY($1::bigint[]) "
         "ORDER BY order_id, alt_idx, idx")
_ALTERNATIVES = ("SELECT order_id, idx, value, earliest_start, latest_end FROM bid_alternatives "
                 "WHERE order_id = ANY($1::bigint[]) ORDER BY order_id, idx")


def _tuple(value: Sequence[str] | None) -> tuple[str, ...] | None:
    return tuple(value) if value else None


async def _sold(conn: AsyncConnection, ask_ids: Sequence[int]) -> dict[int, list[SoldRange]]:
    """What earlier rounds sold of each ask."""
    sold: dict[int, list[SoldRange]] = defaultdict(list)
    if not ask_ids:
        return sold
    rows = await conn.execute(
        select(fills.c.order_id, fills.c.starts_at, fills.c.ends_at, fills.c.gpus)
        .where(fills.c.side == "ask", fills.c.order_id == func.any(_IDS)),
        {"ids": list(ask_ids)})
    for r in rows:
        sold[r.order_id].append(SoldRange(r.starts_at, r.ends_at, r.gpus))
    return sold


def _ask(r: Any, sold: Mapping[int, list[SoldRange]]) -> OpenAsk:
    return OpenAsk(r["id"], r["account_id"], r["pool_id"], r["gpus"], r["price"],
                   r["starts_at"], r["ends_at"], tuple(sold.get(r["id"], ())),
                   r["cancel_requested"], r["contract_id"])


class _Freeze:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    def ledger(self) -> PgLedger:
        return PgLedger(self.conn)

    async def open_orders(self, partition: str, cutoff: datetime) -> OpenOrders:
        # Read straight through the driver: at 10,000 orders the ORM-free rows are ~3x faster.
        pg = await driver_in_transaction(self.conn)
        pool_list = tuple(OpenPool(r["id"], r["provider_id"], r["gpu"], r["region"], r["uptime"])
                          for r in await pg.fetch(_POOLS, partition))
        rows = await pg.fetch(_OPEN_ORDERS, partition, cutoff)
        bid_rows = [r for r in rows if r["side"] == "bid"]
        ask_rows = [r for r in rows if r["side"] == "ask"]
        bids = await self._bids(pg, bid_rows)
        sold = await _sold(self.conn, [r["id"] for r in ask_rows])
        return OpenOrders(pool_list, bids, tuple(_ask(r, sold) for r in ask_rows))

    async def _bids(self, pg: Any, rows: Sequence[Any]) -> tuple[OpenBid, ...]:
        if not rows:
            return ()
        ids = [r["id"] for r in rows]
        by_alt: dict[tuple[int, int], list[BidLeg]] = defaultdict(list)
        for g in await pg.fetch(_LEGS, ids):
            by_alt[g["order_id"], g["alt_idx"]].append(BidLeg(
                g["gpus"], g["duration_hours"], g["offset_hours"], _tuple(g["gpu"]),
                _tuple(g["regions"]), g["min_uptime"], _tuple(g["pools"])))
        by_order: dict[int, list[OpenAlternative]] = defaultdict(list)
        for a in await pg.fetch(_ALTERNATIVES, ids):
            alt_legs = by_alt.get((a["order_id"], a["idx"]))
            if alt_legs:
                by_order[a["order_id"]].append(OpenAlternative(
                    a["value"], a["earliest_start"], a["latest_end"], tuple(alt_legs)))
        return tuple(OpenBid(r["id"], r["account_id"], tuple(by_order.get(r["id"], ())),
                             r["cancel_requested"]) for r in rows)

    async def store_auction(self, partition: str, cutoff: datetime,
                            frozen: FrozenRound) -> int | None:
        row = (await self.conn.execute(
            insert(auctions).values(
                partition=partition, cutoff=cutoff, horizon_start=frozen.horizon.start,
                slots=frozen.horizon.slots, status="frozen", book=frozen.book,
                bids=frozen.bids, asks=frozen.asks)
            .on_conflict_do_nothing(constraint="uq_auctions_partition_cutoff")
            .returning(auctions.c.id))).first()
        return None if row is None else int(row.id)

    async def close_orders(self, order_ids: Sequence[int], status: str) -> list[ClosedOrder]:
        if not order_ids:
            return []
        rows = await self.conn.execute(
            update(orders).where(orders.c.id == func.any(_IDS))
            .values(status=status, updated_at=func.now()).returning(*_CLOSED),
            {"ids": list(order_ids)})
        return _closed(rows)

    async def add_events(self, events: Sequence[Event]) -> None:
        await _add_events(self.conn, events)

    async def mark_frozen(self, order_ids: Sequence[int], auction_id: int) -> None:
        if order_ids:
            await self.conn.execute(
                update(orders).where(orders.c.id == func.any(_IDS))
                .values(frozen_auction_id=auction_id, updated_at=func.now()),
                {"ids": list(order_ids)})


class _Commit:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    def ledger(self) -> PgLedger:
        return PgLedger(self.conn)

    async def lock_frozen(self, auction_id: int) -> bool:
        status = (await self.conn.execute(
            select(auctions.c.status).where(auctions.c.id == auction_id).with_for_update()
        )).scalar()
        return status == "frozen"

    async def frozen_orders(self, auction_id: int) -> FrozenOrders:
        rows = (await self.conn.execute(
            select(orders.c.id, orders.c.account_id, orders.c.side, orders.c.pool_id,
                   orders.c.gpus, orders.c.price, orders.c.starts_at, orders.c.ends_at,
                   orders.c.cancel_requested, orders.c.contract_id)
            .where(orders.c.frozen_auction_id == auction_id).order_by(orders.c.id)
            .with_for_update())).all()
        ask_rows = [r._mapping for r in rows if r.side == "ask"]
        sold = await _sold(self.conn, [r["id"] for r in ask_rows])
        return FrozenOrders({r.id: r.cancel_requested for r in rows if r.side == "bid"},
                            tuple(_ask(r, sold) for r in ask_rows))

    async def record_result(self, auction_id: int, summary: AuctionSummary) -> None:
        await self.conn.execute(
            update(auctions).where(auctions.c.id == auction_id).values(
                status="cleared", result=summary.result, solve_status=summary.solve_status,
                surplus=summary.surplus, bound=summary.bound,
                volume_gpu_hours=summary.volume_gpu_hours,
                solve_seconds=round(summary.solve_seconds, 3), cleared_at=func.now()))

    async def add_fills(self, auction_id: int, fill_list: Sequence[Fill]) -> list[int]:
        if not fill_list:
            return []
        ids = list((await self.conn.execute(
            text("SELECT nextval(pg_get_serial_sequence('fills', 'id')) "
                 "FROM generate_series(1, :n)"), {"n": len(fill_list)})).scalars())
        pg = await driver_in_transaction(self.conn)
        await pg.copy_records_to_table("fills", columns=[
            "id", "auction_id", "order_id", "account_id", "side", "alternative", "leg",
            "pool_id", "starts_at", "ends_at", "gpus", "amount"], records=[
            (i, auction_id, f.order_id, f.account_id, f.side, f.alternative, f.leg, f.pool_id,
             f.starts_at, f.ends_at, f.gpus, f.amount)
            for i, f in zip(ids, fill_list, strict=True)])
        return ids

    async def offered_pieces(self, offer_ids: Sequence[int]) -> dict[int, list[Piece]]:
        if not offer_ids:
            return {}
        # Pools before contracts, as an outage takes them (pool row, then its contracts):
        # the other order deadlocked with an outage recorded while the round commits.
        await self.conn.execute(_LOCK_OFFERED_POOLS, {"ids": list(offer_ids)})
        rows = await self.conn.execute(
            select(*_PIECE).where(contracts.c.offer_id == func.any(_IDS),
                                  contracts.c.superseded_at.is_(None))
            .order_by(contracts.c.id).with_for_update(), {"ids": list(offer_ids)})
        found: dict[int, list[Piece]] = defaultdict(list)
        for r in rows:
            found[r.offer_id].append(Piece(*tuple(r)))
        return found

    async def add_contracts(self, split: Split) -> None:
        if split.superseded:
            await self.conn.execute(
                update(contracts).where(contracts.c.id == func.any(_IDS))
                .values(superseded_at=func.now()), {"ids": list(split.superseded)})
        if split.contracts:
            pg = await driver_in_transaction(self.conn)
            await pg.copy_records_to_table("contracts", columns=[
                "fill_id", "holder_id", "provider_id", "pool_id", "gpus", "starts_at",
                "ends_at", "price", "parent_id", "offer_id"], records=[
                (c.fill_id, c.holder_id, c.provider_id, c.pool_id, c.gpus, c.starts_at,
                 c.ends_at, c.price, c.parent_id, c.offer_id) for c in split.contracts])

    async def add_prices(self, auction_id: int, price_rows: Sequence[PriceRow],
                         index: Sequence[IndexRow]) -> None:
        if price_rows:
            await self.conn.execute(insert(prices), [
                {"auction_id": auction_id, "pool_id": p.pool_id, "starts_at": p.starts_at,
                 "ends_at": p.ends_at, "price": p.price} for p in price_rows])
        if index:
            await self.conn.execute(insert(price_index), [
                {"auction_id": auction_id, "gpu": i.gpu, "price": i.price,
                 "gpu_hours": i.gpu_hours} for i in index])

    async def set_status(self, auction_id: int,
                         statuses: Mapping[int, str]) -> list[ClosedOrder]:
        by_status: dict[str, list[int]] = defaultdict(list)
        for order_id, status in statuses.items():
            by_status[status].append(order_id)
        closed: list[ClosedOrder] = []
        for status, ids in by_status.items():
            closed += _closed(await self.conn.execute(
                update(orders).where(orders.c.id == func.any(_IDS))
                .values(status=status, frozen_auction_id=None, updated_at=func.now())
                .returning(*_CLOSED), {"ids": ids}))
        await self.conn.execute(
            update(orders).where(orders.c.frozen_auction_id == auction_id)
            .values(frozen_auction_id=None, updated_at=func.now()))
        return sorted(closed, key=lambda c: c.order_id)

    async def add_events(self, events: Sequence[Event]) -> None:
        await _add_events(self.conn, events)


_CLOSED = (orders.c.id, orders.c.account_id, orders.c.side, orders.c.client_order_id,
           orders.c.status)


def _closed(rows: Any) -> list[ClosedOrder]:
    return [ClosedOrder(r.id, r.account_id, r.side, r.client_order_id, r.status) for r in rows]


async def _add_events(conn: AsyncConnection, events: Sequence[Event]) -> None:
    if events:
        pg = await driver_in_transaction(conn)
        await pg.copy_records_to_table(
            "outbox", columns=["stream", "event_id", "payload"],
            records=[(e.stream, e.event_id, dumps(e.payload, indent=None)) for e in events])


_LOCK_OFFERED_POOLS = text("""
SELECT id FROM pools WHERE id IN (SELECT pool_id FROM contracts
                                  WHERE offer_id = ANY(:ids) AND superseded_at IS NULL)
ORDER BY id FOR KEY SHARE
""")


class PostgresRounds:
    """The round store of `gpux.service.round_ports.RoundStore` on an async engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @asynccontextmanager
    async def freezing(self) -> AsyncIterator[_Freeze]:
        """A freeze transaction."""
        async with self.engine.begin() as conn:
            yield _Freeze(conn)

    @asynccontextmanager
    async def committing(self) -> AsyncIterator[_Commit]:
        """A commit transaction."""
        async with self.engine.begin() as conn:
            yield _Commit(conn)

    async def frozen_auctions(self, partition: str) -> list[StoredAuction]:
        """Auctions frozen but not cleared, oldest first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(auctions.c.id, auctions.c.partition, auctions.c.cutoff, auctions.c.book)
                .where(auctions.c.partition == partition, auctions.c.status == "frozen")
                .order_by(auctions.c.cutoff, auctions.c.id))
            return [StoredAuction(r.id, r.partition, r.cutoff, r.book) for r in rows]

    async def market_halted(self) -> bool:
        """Whether the market is halted."""
        async with self.engine.connect() as conn:
            return bool((await conn.execute(select(market_state.c.halted))).scalar())
