"""Orders as the exchange takes them in: bids and asks on wall-clock UTC hours.

The auction book counts slots from its horizon; orders name real hours, so an order can wait
in the book for a later round. Checking an order needs the current time and the configured
limits, and should report every problem at once with its field path
(`alternatives[0].legs[1].gpus`), so it is a function (`check_bid`, `check_ask`) rather than a
constructor that stops at the first bad field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from gpux.domain.catalog import GPU_MODELS, REGIONS, UPTIME_TIERS
from gpux.domain.errors import InvalidOrder, LimitExceeded, Problem, WindowInPast
from gpux.domain.money import is_micro_exact

HOUR = timedelta(hours=1)
_ZERO = timedelta(0)
MAX_ID_LENGTH = 64

_UPTIME_TIERS = frozenset(UPTIME_TIERS)
_GPU_MODELS = frozenset(GPU_MODELS)
_REGIONS = frozenset(REGIONS)


@dataclass(frozen=True, slots=True)
class OrderLimits:
    """The exchange's per-order limits (copied from the settings by the composition root)."""

    max_gpus: int = 4096
    max_hours: int = 24 * 31
    max_price_per_gpu_hour: Decimal = Decimal("100")
    max_alternatives: int = 8
    max_legs: int = 8
    max_open_orders: int = 1000


@dataclass(frozen=True, slots=True)
class BidLeg:
    """`gpus` GPUs from one matching pool for `duration_hours` hours from start + offset."""

    gpus: int
    duration_hours: int
    offset_hours: int = 0
    gpu: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = None
    min_uptime: Decimal | None = None
    pools: tuple[str, ...] | None = None

    @property
    def gpu_hours(self) -> int:
        """GPU-hours this leg uses."""
        return self.gpus * self.duration_hours

    def to_doc(self) -> dict[str, Any]:
        """The canonical JSON form (absent filters omitted)."""
        doc: dict[str, Any] = {"gpus": self.gpus, "duration_hours": self.duration_hours,
                               "offset_hours": self.offset_hours}
        for name in ("gpu", "regions", "pools"):
            value = getattr(self, name)
            if value is not None:
                doc[name] = list(value)
        if self.min_uptime is not None:
            doc["min_uptime"] = self.min_uptime
        return doc


@dataclass(frozen=True, slots=True)
class BidAlternative:
    """One way to satisfy a bid: every leg, placed at one start in the window, for `value`.

    The value is given either in total (`value`) or per GPU-hour (`limit_per_gpu_hour`, times
    the GPU-hours of all legs).
    """

    earliest_start: datetime
    latest_end: datetime
    legs: tuple[BidLeg, ...]
    value: Decimal | None = None
    limit_per_gpu_hour: Decimal | None = None

    @property
    def gpu_hours(self) -> int:
        """GPU-hours of all legs together."""
        return sum(leg.gpu_hours for leg in self.legs)

    @property
    def span_hours(self) -> int:
        """Hours from the start to the end of the last leg."""
        return max((leg.offset_hours + leg.duration_hours for leg in self.legs), default=0)

    @property
    def total_value(self) -> Decimal:
        """The most the buyer pays for this alternative."""
        if self.value is not None:
            return self.value
        return (self.limit_per_gpu_hour or Decimal(0)) * self.gpu_hours

    def to_doc(self) -> dict[str, Any]:
        """The canonical JSON form, with the total value resolved."""
        doc: dict[str, Any] = {"value": self.total_value,
                               "earliest_start": iso_hour(self.earliest_start),
                               "latest_end": iso_hour(self.latest_end),
                               "legs": [leg.to_doc() for leg in self.legs]}
        if self.limit_per_gpu_hour is not None:
            doc["limit_per_gpu_hour"] = self.limit_per_gpu_hour
        return doc


@dataclass(frozen=True, slots=True)
class BidOrder:
    """A buyer's all-or-nothing package with XOR alternatives, under a client order id."""

    client_order_id: str
    alternatives: tuple[BidAlternative, ...]

    @property
    def starts_at(self) -> datetime:
        """The earliest hour any alternative may start."""
        return min(a.earliest_start for a in self.alternatives)

    @property
    def ends_at(self) -> datetime:
        """The latest hour any alternative may end."""
        return max(a.latest_end for a in self.alternatives)

    @property
    def max_value(self) -> Decimal:
        """The largest alternative value: the most a fill of this bid can cost."""
        return max(a.total_value for a in self.alternatives)

    def to_doc(self) -> dict[str, Any]:
        """The canonical JSON form: equal for two requests exactly when they mean one order."""
        return {"side": "bid", "client_order_id": self.client_order_id,
                "alternatives": [a.to_doc() for a in self.alternatives]}


@dataclass(frozen=True, slots=True)
class AskOrder:
    """A provider's offer: `gpus` GPUs of `pool` in every hour of [starts_at, ends_at)."""

    client_order_id: str
    pool: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    price: Decimal

    @property
    def hours(self) -> int:
        """Hours in the window (whole, once checked)."""
        return int((self.ends_at - self.starts_at) / HOUR)

    def to_doc(self) -> dict[str, Any]:
        """The canonical JSON form."""
        return {"side": "ask", "client_order_id": self.client_order_id, "pool": self.pool,
                "gpus": self.gpus, "starts_at": iso_hour(self.starts_at),
                "ends_at": iso_hour(self.ends_at), "price": self.price}


def iso_hour(moment: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with a `Z` (to the second)."""
    if moment.utcoffset() != _ZERO:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def next_hour(moment: datetime) -> datetime:
    """The first whole UTC hour at or after `moment`."""
    floor = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + HOUR


class _Found:
    """Every problem of one order, each with the error class it belongs to."""

    def __init__(self) -> None:
        self.items: list[tuple[type[InvalidOrder], Problem]] = []

    def add(self, path: str, message: str, value: object,
            kind: type[InvalidOrder] = InvalidOrder) -> None:
        self.items.append((kind, Problem(path, message, value)))

    def require(self, ok: bool, path: str, message: str, value: object,
                kind: type[InvalidOrder] = InvalidOrder) -> bool:
        if not ok:
            self.add(path, message, value, kind)
        return ok

    def raise_any(self) -> None:
        if self.items:
            kind = self.items[0][0]
            raise kind.of([p for _, p in self.items])


def _client_order_id(f: _Found, value: str) -> None:
    if not (0 < len(value) <= MAX_ID_LENGTH and value.isprintable()
            and value.strip() == value):
        f.add("client_order_id",
              f"must be 1 to {MAX_ID_LENGTH} printable characters without surrounding spaces",
              value)


def _hour(f: _Found, path: str, value: datetime) -> bool:
    if value.tzinfo is None or value.utcoffset() is None:
        f.add(path, "must be a UTC time with a zone (e.g. 2026-12-01T08:00:00Z)", value.isoformat())
        return False
    if value.utcoffset() != timedelta(0):
        f.add(path, "must be in UTC (offset Z or +00:00)", value.isoformat())
        return False
    return f.require(value.minute == 0 and value.second == 0 and value.microsecond == 0, path,
                     "must be a whole hour", value.isoformat())


def _money(f: _Found, path: str, value: Decimal, *, positive: bool) -> bool:
    if not f.require(value.is_finite(), path, "must be a finite number", value):
        return False
    ok = (f.require(value > 0, path, "must be positive", value) if positive
          else f.require(value >= 0, path, "must not be negative", value))
    return f.require(is_micro_exact(value), path, "must have at most 6 decimal places",
                     value) and ok


def _names(f: _Found, path: str, values: tuple[str, ...] | None,
           known: frozenset[str] | None, what: str) -> None:
    if values is None:
        return
    if not values:
        f.add(path, "must be a non-empty list (or absent)", [])
        return
    for i, name in enumerate(values):
        if known is not None:
            if name not in known:
                f.add(f"{path}[{i}]", f"is not a known {what}", name)
        elif not 0 < len(name) <= MAX_ID_LENGTH:
            f.add(f"{path}[{i}]", f"must be a {what} id of 1 to {MAX_ID_LENGTH} characters",
                  name)


def _window(f: _Found, start_path: str, start: datetime, end_path: str, end: datetime,
            now: datetime, limits: OrderLimits) -> bool:
    """Check a [start, end) window of whole hours; tell whether it is well-formed."""
    ok = _hour(f, start_path, start) & _hour(f, end_path, end)
    if not ok:
        return False
    # Messages are built only on failure: this runs on every order.
    if start >= end:
        f.add(end_path, f"must be after {start_path} {iso_hour(start)}", iso_hour(end))
        return False
    hours = (end - start) // HOUR
    if hours > limits.max_hours:
        f.add(end_path, f"window of {hours} hours exceeds the limit of {limits.max_hours} "
              "hours", iso_hour(end), LimitExceeded)
    first = next_hour(now)
    if end <= first:
        f.add(end_path, "window has passed: ends at or before the first deliverable hour "
              f"{iso_hour(first)}", iso_hour(end), WindowInPast)
        return False
    return True


def _leg(f: _Found, path: str, leg: BidLeg, limits: OrderLimits) -> None:
    if leg.gpus <= 0:
        f.add(f"{path}.gpus", "must be positive", leg.gpus)
    elif leg.gpus > limits.max_gpus:
        f.add(f"{path}.gpus", f"exceeds the limit of {limits.max_gpus} GPUs", leg.gpus,
              LimitExceeded)
    if leg.duration_hours <= 0:
        f.add(f"{path}.duration_hours", "must be positive", leg.duration_hours)
    elif leg.duration_hours > limits.max_hours:
        f.add(f"{path}.duration_hours", f"exceeds the limit of {limits.max_hours} hours",
              leg.duration_hours, LimitExceeded)
    if leg.offset_hours < 0:
        f.add(f"{path}.offset_hours", "must not be negative", leg.offset_hours)
    _names(f, f"{path}.gpu", leg.gpu, _GPU_MODELS, "GPU model")
    _names(f, f"{path}.regions", leg.regions, _REGIONS, "region")
    _names(f, f"{path}.pools", leg.pools, None, "pool")
    if leg.min_uptime is not None and leg.min_uptime not in _UPTIME_TIERS:
        f.add(f"{path}.min_uptime",
              "is not a known uptime tier (" + ", ".join(map(str, UPTIME_TIERS)) + ")",
              leg.min_uptime)


def _alternative(f: _Found, path: str, alt: BidAlternative, now: datetime,
                 limits: OrderLimits) -> None:
    window = _window(f, f"{path}.earliest_start", alt.earliest_start,
                     f"{path}.latest_end", alt.latest_end, now, limits)
    if not alt.legs:
        f.add(f"{path}.legs", "must have at least one leg", 0)
    elif len(alt.legs) > limits.max_legs:
        f.add(f"{path}.legs", f"has more than {limits.max_legs} legs", len(alt.legs),
              LimitExceeded)
    for j, leg in enumerate(alt.legs):
        _leg(f, f"{path}.legs[{j}]", leg, limits)
    legs_ok = all(leg.gpus > 0 and leg.duration_hours > 0 and leg.offset_hours >= 0
                  for leg in alt.legs) and bool(alt.legs)
    _value(f, path, alt, limits, legs_ok)
    if window and legs_ok:
        hours = (alt.latest_end - alt.earliest_start) // HOUR
        span = alt.span_hours
        first = max(alt.earliest_start, next_hour(now))
        if span > hours:
            f.add(f"{path}.legs",
                  f"offsets and durations need {span} hours but the window has {hours}", span)
        elif first + span * HOUR > alt.latest_end:
            f.add(f"{path}.latest_end", f"the legs ({span} hours) no longer fit between "
                  f"{iso_hour(first)} and the window's end", iso_hour(alt.latest_end),
                  WindowInPast)


def _value(f: _Found, path: str, alt: BidAlternative, limits: OrderLimits,
           legs_ok: bool) -> None:
    given = (alt.value is not None) + (alt.limit_per_gpu_hour is not None)
    if not f.require(given == 1, f"{path}.value",
                     "give exactly one of value and limit_per_gpu_hour",
                     alt.value if alt.value is not None else alt.limit_per_gpu_hour):
        return
    if alt.value is not None:
        name, money = f"{path}.value", alt.value
    else:
        assert alt.limit_per_gpu_hour is not None
        name, money = f"{path}.limit_per_gpu_hour", alt.limit_per_gpu_hour
    if not _money(f, name, money, positive=True) or not legs_ok:
        return
    cap = limits.max_price_per_gpu_hour
    if alt.value is not None:
        gpu_hours = alt.gpu_hours
        if alt.value > cap * gpu_hours:
            f.add(name, f"exceeds the limit of {cap} per GPU-hour over {gpu_hours} GPU-hours "
                  f"({cap * gpu_hours})", alt.value, LimitExceeded)
    elif money > cap:
        f.add(name, f"exceeds the limit of {cap} per GPU-hour", money, LimitExceeded)


def check_bid(bid: BidOrder, *, now: datetime, limits: OrderLimits) -> None:
    """Raise an `InvalidOrder` (or subclass) listing every problem of `bid`, if it has any."""
    f = _Found()
    _client_order_id(f, bid.client_order_id)
    if f.require(len(bid.alternatives) > 0, "alternatives", "must have at least one alternative",
                 len(bid.alternatives)):
        f.require(len(bid.alternatives) <= limits.max_alternatives, "alternatives",
                  f"has more than {limits.max_alternatives} alternatives",
                  len(bid.alternatives), LimitExceeded)
    for i, alt in enumerate(bid.alternatives):
        _alternative(f, f"alternatives[{i}]", alt, now, limits)
    f.raise_any()


def check_ask(ask: AskOrder, *, now: datetime, limits: OrderLimits) -> None:
    """Raise an `InvalidOrder` (or subclass) listing every problem of `ask`, if it has any."""
    f = _Found()
    _client_order_id(f, ask.client_order_id)
    f.require(0 < len(ask.pool) <= MAX_ID_LENGTH, "pool",
              f"must be a pool id of 1 to {MAX_ID_LENGTH} characters", ask.pool)
    if f.require(ask.gpus > 0, "gpus", "must be positive", ask.gpus):
        f.require(ask.gpus <= limits.max_gpus, "gpus",
                  f"exceeds the limit of {limits.max_gpus} GPUs", ask.gpus, LimitExceeded)
    _window(f, "starts_at", ask.starts_at, "ends_at", ask.ends_at, now, limits)
    if _money(f, "price", ask.price, positive=False):
        f.require(ask.price <= limits.max_price_per_gpu_hour, "price",
                  f"exceeds the limit of {limits.max_price_per_gpu_hour} per GPU-hour",
                  ask.price, LimitExceeded)
    f.raise_any()


def peak_gpus(intervals: Iterable[tuple[datetime, datetime, int]], start: datetime,
              end: datetime) -> int:
    """The most GPUs the intervals use together in any hour of [start, end)."""
    changes: dict[datetime, int] = {}
    for s, e, gpus in intervals:
        s, e = max(s, start), min(e, end)
        if s < e:
            changes[s] = changes.get(s, 0) + gpus
            changes[e] = changes.get(e, 0) - gpus
    peak = level = 0
    for moment in sorted(changes):
        level += changes[moment]
        peak = max(peak, level)
    return peak
