"""One clearing round in wall-clock time: open orders -> the round's book -> fills.

Slots are whole UTC hours. A round frozen at `cutoff` delivers from the first whole hour
strictly after the cutoff (slot 0) over `slots` hours. What an order can still trade is clipped
to that horizon, rounding inward to whole hours, so a book never offers or asks for an hour the
order does not cover:

- a bid alternative that can never fit again (its legs no longer fit between the horizon
  start and its latest end) is left out for good; one that fits later but not within this
  horizon is left out of this round only. A bid with no alternative left for good is EXPIRED;
  one with none in this round waits (stays open, not frozen).
- an ask offers, in each hour of its clipped window, its GPUs less what earlier rounds sold
  in that hour; runs of constant remaining GPUs become the book's asks `a<id>` (one run) or
  `a<id>.<k>`. An ask with no whole hour left is EXPIRED; one with nothing left to sell in
  this horizon waits. A resale ask (one offering a contract) expires once its first hour
  is before the horizon: what it offers returns to its holder when delivery begins.

Results map back to wall-clock fills: one per accepted leg (what it pays) and one per supplied
row (what it earns), both as the exact sum of the clearing prices over their GPU-hours, so the
bids' fills and the asks' fills balance to the micro-dollar.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from gpux.domain.bookjson import BOOK_FORMAT
from gpux.domain.errors import InvalidValue
from gpux.domain.money import from_micros, to_micros
from gpux.domain.orders import BidLeg
from gpux.domain.result import Result

HOUR = timedelta(hours=1)
_MICRO = Decimal("0.000001")
# The key of the book document under which the round keeps what is not in gpu-auction/1:
# which of a bid's alternatives the book kept (read_book ignores keys it does not know).
EXTRA_KEY = "x-gpux"

Side = Literal["bid", "ask"]


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise InvalidValue(name, "must be timezone-aware (UTC)", moment)
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Horizon:
    """The hours a round delivers: `slots` whole UTC hours from `start`."""

    start: datetime
    slots: int

    def __post_init__(self) -> None:
        start = _utc(self.start, "start")
        if start != start.replace(minute=0, second=0, microsecond=0):
            raise InvalidValue("start", "must be a whole UTC hour", self.start)
        if self.slots < 1:
            raise InvalidValue("slots", "must be positive", self.slots)
        object.__setattr__(self, "start", start)

    @classmethod
    def after(cls, cutoff: datetime, slots: int) -> Horizon:
        """The horizon of a round frozen at `cutoff`: from the first whole hour after it."""
        cutoff = _utc(cutoff, "cutoff")
        return cls(cutoff.replace(minute=0, second=0, microsecond=0) + HOUR, slots)

    @property
    def end(self) -> datetime:
        """The end of the last hour delivered."""
        return self.start + self.slots * HOUR

    def at(self, slot: int) -> datetime:
        """The wall-clock start of `slot`."""
        return self.start + slot * HOUR

    def slot_ceil(self, moment: datetime) -> int:
        """The first slot that starts at or after `moment` (may be negative or past the end)."""
        hours, rest = divmod(_utc(moment, "moment") - self.start, HOUR)
        return int(hours) + (1 if rest else 0)

    def slot_floor(self, moment: datetime) -> int:
        """The number of whole slots from the start up to `moment`."""
        return int((_utc(moment, "moment") - self.start) // HOUR)


# -- open orders, as the round reads them --------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenPool:
    """A pool of the partition, with its provider."""

    id: str
    provider: str
    gpu: str
    region: str
    uptime: Decimal


@dataclass(frozen=True, slots=True)
class OpenAlternative:
    """An alternative as placed, with its wall-clock window."""

    value: Decimal
    earliest_start: datetime
    latest_end: datetime
    legs: tuple[BidLeg, ...]

    @property
    def span_hours(self) -> int:
        """Hours from its start to the end of its last leg."""
        return max(leg.offset_hours + leg.duration_hours for leg in self.legs)


@dataclass(frozen=True, slots=True)
class OpenBid:
    """An open bid: its order id, its buyer and its alternatives in their placed order."""

    order_id: int
    account_id: str
    alternatives: tuple[OpenAlternative, ...]
    cancel_requested: bool = False


@dataclass(frozen=True, slots=True)
class SoldRange:
    """GPUs of an ask sold by an earlier round over [starts_at, ends_at)."""

    starts_at: datetime
    ends_at: datetime
    gpus: int


@dataclass(frozen=True, slots=True)
class OpenAsk:
    """An open ask: GPUs of a pool in each hour of its window, and what already sold."""

    order_id: int
    account_id: str
    pool_id: str
    gpus: int
    price: Decimal
    starts_at: datetime
    ends_at: datetime
    sold: tuple[SoldRange, ...] = ()
    cancel_requested: bool = False
    # Resale asks: the contract piece offered (the ask expires once its first hour starts).
    contract_id: int | None = None

    def unsold(self, horizon: Horizon, lo: int, hi: int) -> dict[int, int]:
        """GPUs still unsold in each slot of [lo, hi) of `horizon`."""
        left = dict.fromkeys(range(lo, hi), self.gpus)
        for sale in self.sold:
            for t in range(max(lo, horizon.slot_floor(sale.starts_at)),
                           min(hi, horizon.slot_ceil(sale.ends_at))):
                left[t] -= sale.gpus
        return left

    def sold_out(self, more: Iterable[SoldRange] = ()) -> bool:
        """Whether every hour of its window is sold, counting `more` sales too."""
        # Only the start of a horizon matters to slot arithmetic; any hour before the window.
        base = Horizon(_utc(self.starts_at, "starts_at").replace(minute=0, second=0,
                                                                 microsecond=0), 1)
        lo, hi = base.slot_ceil(self.starts_at), base.slot_floor(self.ends_at)
        ask = dataclasses.replace(self, sold=(*self.sold, *more))
        return all(v <= 0 for v in ask.unsold(base, lo, hi).values())


# -- freezing: orders -> book ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FrozenRound:
    """The round's book document and what became of each open order."""

    horizon: Horizon
    book: dict[str, object]
    in_book: tuple[int, ...]
    expired: tuple[int, ...]
    waiting: tuple[int, ...]

    @property
    def bids(self) -> int:
        """Bids in the book."""
        return len(self.book["bids"])  # type: ignore[arg-type]

    @property
    def asks(self) -> int:
        """Asks in the book (an ask split in runs counts once per run)."""
        return len(self.book["asks"])  # type: ignore[arg-type]


def bid_id(order_id: int) -> str:
    """The book id of a bid order."""
    return f"b{order_id}"


def order_of(book_id: str) -> int:
    """The order id behind a book bid (`b<id>`) or ask (`a<id>` or `a<id>.<k>`)."""
    if book_id[:1] not in ("a", "b"):
        raise InvalidValue("id", "must be a book id of a bid or an ask", book_id)
    return int(book_id[1:].split(".", 1)[0])


def _leg_doc(leg: BidLeg, pool_ids: set[str]) -> dict[str, object] | None:
    doc: dict[str, object] = {"gpus": leg.gpus, "duration": leg.duration_hours,
                              "offset": leg.offset_hours}
    for name in ("gpu", "regions"):
        value = getattr(leg, name)
        if value:
            doc[name] = list(value)
    if leg.min_uptime is not None:
        doc["min_uptime"] = leg.min_uptime
    if leg.pools:
        # A pool outside this partition's book can serve no leg here.
        known = [p for p in leg.pools if p in pool_ids]
        if not known:
            return None
        doc["pools"] = known
    return doc


def _bid_doc(bid: OpenBid, horizon: Horizon, pool_ids: set[str]
             ) -> tuple[dict[str, object] | None, list[int], bool]:
    """(book bid or None, alternatives kept, whether any alternative can still ever fit)."""
    alts: list[dict[str, object]] = []
    kept: list[int] = []
    alive = False
    for k, alt in enumerate(bid.alternatives):
        lo = max(horizon.slot_ceil(alt.earliest_start), 0)
        last = horizon.slot_floor(alt.latest_end)
        if last - lo < alt.span_hours:
            continue
        alive = True
        hi = min(last, horizon.slots)
        legs = [_leg_doc(leg, pool_ids) for leg in alt.legs]
        if hi - lo < alt.span_hours or any(leg is None for leg in legs):
            continue
        alts.append({"value": alt.value, "earliest_start": lo, "latest_end": hi, "legs": legs})
        kept.append(k)
    if not alts:
        return None, kept, alive
    return {"id": bid_id(bid.order_id), "buyer": bid.account_id, "alternatives": alts}, kept, alive


def _ask_docs(ask: OpenAsk, horizon: Horizon) -> tuple[list[dict[str, object]], bool]:
    """(book asks of the unsold runs, whether any hour of the ask is still ahead)."""
    lo = max(horizon.slot_ceil(ask.starts_at), 0)
    last = horizon.slot_floor(ask.ends_at)
    if last <= lo or (ask.contract_id is not None and horizon.slot_ceil(ask.starts_at) < 0):
        return [], False
    hi = min(last, horizon.slots)
    runs: list[list[int]] = []
    for t, gpus in sorted(ask.unsold(horizon, lo, hi).items()):
        if gpus <= 0:
            continue
        if runs and runs[-1][1] == t and runs[-1][2] == gpus:
            runs[-1][1] = t + 1
        else:
            runs.append([t, t + 1, gpus])
    docs = [{"id": f"a{ask.order_id}" if len(runs) == 1 else f"a{ask.order_id}.{k}",
             "seller": ask.account_id, "pool": ask.pool_id, "gpus": gpus,
             "start": start, "end": end, "price": ask.price}
            for k, (start, end, gpus) in enumerate(runs)]
    return docs, True


def freeze_round(horizon: Horizon, pools: Sequence[OpenPool], bids: Sequence[OpenBid],
                 asks: Sequence[OpenAsk]) -> FrozenRound:
    """The round's `gpu-auction/1` book, and which orders it holds, expires or leaves waiting."""
    pool_ids = {p.id for p in pools}
    in_book: list[int] = []
    expired: list[int] = []
    waiting: list[int] = []
    book_bids: list[dict[str, object]] = []
    kept_alts: dict[str, list[int]] = {}
    for bid in sorted(bids, key=lambda b: b.order_id):
        doc, kept, alive = _bid_doc(bid, horizon, pool_ids)
        if doc is None:
            (waiting if alive else expired).append(bid.order_id)
            continue
        book_bids.append(doc)
        in_book.append(bid.order_id)
        if kept != list(range(len(bid.alternatives))):
            kept_alts[str(doc["id"])] = kept
    book_asks: list[dict[str, object]] = []
    for ask in sorted(asks, key=lambda a: a.order_id):
        docs, alive = _ask_docs(ask, horizon)
        if ask.pool_id not in pool_ids:
            docs = []
        if docs:
            book_asks.extend(docs)
            in_book.append(ask.order_id)
        else:
            (waiting if alive else expired).append(ask.order_id)
    book: dict[str, object] = {
        "format": BOOK_FORMAT,
        "slots": horizon.slots,
        "pools": [{"id": p.id, "provider": p.provider, "gpu": p.gpu, "region": p.region,
                   "uptime": p.uptime} for p in sorted(pools, key=lambda p: p.id)],
        "asks": book_asks,
        "bids": book_bids,
        EXTRA_KEY: {"horizon_start": horizon.start.isoformat(), "alternatives": kept_alts},
    }
    return FrozenRound(horizon, book, tuple(in_book), tuple(expired), tuple(waiting))


# -- settling: result -> fills ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fill:
    """What one order got in a round: a bid's leg (what it pays) or an ask's delivery (earns)."""

    order_id: int
    account_id: str
    side: Side
    pool_id: str
    starts_at: datetime
    ends_at: datetime
    gpus: int
    amount: Decimal
    alternative: int | None = None
    leg: int | None = None

    @property
    def gpu_hours(self) -> int:
        """GPUs times hours."""
        return self.gpus * int((self.ends_at - self.starts_at) // HOUR)


@dataclass(frozen=True, slots=True)
class PriceRow:
    """A clearing price per GPU-hour of one pool over [starts_at, ends_at)."""

    pool_id: str
    starts_at: datetime
    ends_at: datetime
    price: Decimal


@dataclass(frozen=True, slots=True)
class IndexRow:
    """Per GPU model: GPU-hour weighted mean clearing price of what traded, and GPU-hours."""

    gpu: str
    price: Decimal
    gpu_hours: int


@dataclass(frozen=True, slots=True)
class DailyIndexRow:
    """Per GPU model and delivery day (UTC): GPU-hour weighted mean clearing price of the
    GPU-hours that traded for delivery that day, and those GPU-hours."""

    gpu: str
    day: date
    price: Decimal
    gpu_hours: int


@dataclass(frozen=True, slots=True)
class Settlement:
    """Everything a cleared round writes: fills, prices, the price index, order outcomes."""

    fills: tuple[Fill, ...]
    prices: tuple[PriceRow, ...]
    index: tuple[IndexRow, ...]
    filled_bids: tuple[int, ...]
    volume_gpu_hours: int
    sold: Mapping[int, tuple[SoldRange, ...]] = field(default_factory=dict)
    daily_index: tuple[DailyIndexRow, ...] = ()

    @property
    def bid_amount(self) -> Decimal:
        """What the bids pay in all."""
        return sum((f.amount for f in self.fills if f.side == "bid"), Decimal(0))

    @property
    def ask_amount(self) -> Decimal:
        """What the asks earn in all."""
        return sum((f.amount for f in self.fills if f.side == "ask"), Decimal(0))


def horizon_of(book: Mapping[str, object]) -> Horizon:
    """The horizon a round's stored book was frozen for."""
    extra = book[EXTRA_KEY]
    assert isinstance(extra, dict)
    slots = book["slots"]
    assert isinstance(slots, int)
    return Horizon(datetime.fromisoformat(str(extra["horizon_start"])), slots)


class _Prices:
    """Sums of clearing prices over ranges of slots, per pool, exact in micro-dollars."""

    def __init__(self, result: Result, slots: int) -> None:
        per_slot: dict[str, list[int]] = defaultdict(lambda: [0] * slots)
        for row in result.prices:
            micros = to_micros(row.price)
            for t in range(row.start, row.end):
                per_slot[row.pool][t] = micros
        self.prefix = {pool: list(itertools.accumulate(v, initial=0))
                       for pool, v in per_slot.items()}

    def cost(self, pool: str, start: int, end: int, gpus: int) -> Decimal:
        """What `gpus` GPUs of `pool` over [start, end) come to at the clearing prices."""
        prefix = self.prefix.get(pool)
        if prefix is None:
            return Decimal(0).quantize(_MICRO)
        return from_micros(gpus * (prefix[end] - prefix[start]))


def settle(book: Mapping[str, object], result: Result) -> Settlement:
    """The wall-clock fills, prices and price index of a round's result on its stored book."""
    horizon = horizon_of(book)
    extra = book[EXTRA_KEY]
    assert isinstance(extra, dict)
    kept: Mapping[str, list[int]] = extra.get("alternatives", {})
    parties = {str(d["id"]): str(d["buyer"]) for d in _docs(book, "bids")}
    sellers = {str(d["id"]): str(d["seller"]) for d in _docs(book, "asks")}
    gpu_of = {str(d["id"]): str(d["gpu"]) for d in _docs(book, "pools")}
    table = _Prices(result, horizon.slots)
    fills: list[Fill] = []
    daily = _DailyIndex(horizon, table, gpu_of)
    for acc in result.accepted:
        alternative = kept[acc.bid][acc.alternative] if acc.bid in kept else acc.alternative
        for i, leg in enumerate(acc.legs):
            fills.append(Fill(order_of(acc.bid), parties[acc.bid], "bid", leg.pool,
                              horizon.at(leg.start), horizon.at(leg.end), leg.gpus,
                              table.cost(leg.pool, leg.start, leg.end, leg.gpus),
                              alternative, i))
            daily.add(leg.pool, leg.start, leg.end, leg.gpus)
    pool_of_ask = {str(d["id"]): str(d["pool"]) for d in _docs(book, "asks")}
    sold: dict[int, list[SoldRange]] = defaultdict(list)
    for sup in result.supplied:
        pool = pool_of_ask[sup.ask]
        order = order_of(sup.ask)
        fill = Fill(order, sellers[sup.ask], "ask", pool, horizon.at(sup.start),
                    horizon.at(sup.end), sup.gpus, table.cost(pool, sup.start, sup.end, sup.gpus))
        fills.append(fill)
        sold[order].append(SoldRange(fill.starts_at, fill.ends_at, fill.gpus))
    prices = tuple(PriceRow(p.pool, horizon.at(p.start), horizon.at(p.end), p.price)
                   for p in result.prices)
    bid_fills = [f for f in fills if f.side == "bid"]
    return Settlement(tuple(fills), prices, price_index(bid_fills, gpu_of),
                      tuple(sorted({order_of(a.bid) for a in result.accepted})),
                      sum(f.gpu_hours for f in bid_fills),
                      {k: tuple(v) for k, v in sold.items()}, daily.rows())


class _DailyIndex:
    """What the bids pay and the GPU-hours they get, per GPU model and delivery day."""

    def __init__(self, horizon: Horizon, table: _Prices, gpu_of: Mapping[str, str]) -> None:
        self.horizon, self.table, self.gpu_of = horizon, table, gpu_of
        self.paid: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
        self.hours: dict[tuple[str, date], int] = defaultdict(int)

    def add(self, pool: str, start: int, end: int, gpus: int) -> None:
        """One leg's slots [start, end), split at midnight UTC."""
        while start < end:
            moment = self.horizon.at(start)
            cut = min(end, start + 24 - moment.hour)
            key = (self.gpu_of[pool], moment.date())
            self.paid[key] += self.table.cost(pool, start, cut, gpus)
            self.hours[key] += gpus * (cut - start)
            start = cut

    def rows(self) -> tuple[DailyIndexRow, ...]:
        return tuple(DailyIndexRow(gpu, day, (self.paid[gpu, day] / hours).quantize(
                         _MICRO, ROUND_HALF_EVEN), hours)
                     for (gpu, day), hours in sorted(self.hours.items()) if hours > 0)


def price_index(bid_fills: Iterable[Fill], gpu_of: Mapping[str, str]) -> tuple[IndexRow, ...]:
    """Per GPU model that traded: GPU-hour weighted mean clearing price, and GPU-hours."""
    paid: dict[str, Decimal] = defaultdict(Decimal)
    hours: dict[str, int] = defaultdict(int)
    for fill in bid_fills:
        gpu = gpu_of[fill.pool_id]
        paid[gpu] += fill.amount
        hours[gpu] += fill.gpu_hours
    return tuple(IndexRow(gpu, (paid[gpu] / hours[gpu]).quantize(_MICRO, ROUND_HALF_EVEN),
                          hours[gpu])
                 for gpu in sorted(hours) if hours[gpu] > 0)


def _docs(book: Mapping[str, object], key: str) -> list[Mapping[str, object]]:
    items = book.get(key, [])
    assert isinstance(items, list)
    return items
