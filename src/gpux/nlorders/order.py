"""The parser's output: a buy order (XOR alternatives of AND legs) or a sell order.

Frozen dataclasses that validate themselves like the domain's, so an order from the grammar
and one proposed by a model backend (`from_doc`) pass the same checks. `to_doc` writes the
JSON shape of issue 5: leg fields and filters as in `gpu-auction/1`, times as ISO 8601 UTC,
money as exact Decimals, absent filters left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from gpux.domain.book import MAX_ALTERNATIVES, MAX_GPUS, MAX_LEGS, MAX_MONEY
from gpux.domain.catalog import GPU_MODELS, REGIONS
from gpux.domain.errors import InvalidValue, Problem


def iso(t: datetime) -> str:
    """`t` as ISO 8601 UTC with a Z: 2026-12-07T00:00:00Z."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _whole_hour(t: datetime) -> bool:
    return t.tzinfo is not None and t.minute == t.second == t.microsecond == 0


def _check(problems: list[Problem]) -> None:
    if problems:
        raise InvalidValue.of(problems)


def _filter(name: str, values: tuple[str, ...] | None, known: tuple[str, ...]) -> list[Problem]:
    if values is None:
        return []
    if not values or any(v not in known for v in values) or len(set(values)) != len(values):
        return [Problem(name, f"must be a non-empty list of distinct names from {known}", values)]
    return []


@dataclass(frozen=True, slots=True)
class Leg:
    """`gpus` GPUs of one pool for `duration_hours` contiguous hours, `offset_hours` in."""

    gpus: int
    duration_hours: int
    offset_hours: int = 0
    gpu: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = None
    min_uptime: Decimal | None = None

    def __post_init__(self) -> None:
        p = [Problem(n, f"must be an integer between {lo} and {hi}", v) for n, v, lo, hi in (
            ("gpus", self.gpus, 1, MAX_GPUS), ("duration_hours", self.duration_hours, 1, 24 * 366),
            ("offset_hours", self.offset_hours, 0, 24 * 366))
             if not (type(v) is int and lo <= v <= hi)]
        p += _filter("gpu", self.gpu, GPU_MODELS) + _filter("regions", self.regions, REGIONS)
        if self.min_uptime is not None and not Decimal(0) < self.min_uptime <= 100:
            p.append(Problem("min_uptime", "must be a percentage in (0, 100]", self.min_uptime))
        _check(p)

    @property
    def end_hours(self) -> int:
        """Hours from the alternative's start to this leg's end."""
        return self.offset_hours + self.duration_hours


@dataclass(frozen=True, slots=True)
class Alternative:
    """Legs placed together, worth at most `value`, inside [earliest_start, latest_end)."""

    value: Decimal
    earliest_start: datetime
    latest_end: datetime
    legs: tuple[Leg, ...]

    def __post_init__(self) -> None:
        p = []
        if not (self.value.is_finite() and Decimal(0) < self.value <= MAX_MONEY):
            p.append(Problem("value", f"must be positive and at most {MAX_MONEY}", self.value))
        for name, t in (("earliest_start", self.earliest_start), ("latest_end", self.latest_end)):
            if not _whole_hour(t):
                p.append(Problem(name, "must be a whole hour with a time zone", t))
        if not 1 <= len(self.legs) <= MAX_LEGS:
            p.append(Problem("legs", f"must hold 1 to {MAX_LEGS} legs", len(self.legs)))
        elif not p:
            span = timedelta(hours=max(leg.end_hours for leg in self.legs))
            if self.earliest_start + span > self.latest_end:
                p.append(Problem("latest_end", f"leaves no room for the {span} the legs need",
                                 iso(self.latest_end)))
        _check(p)


@dataclass(frozen=True, slots=True)
class Explained:
    """One field of the order, its value and the words it came from."""

    field: str
    value: str
    words: str


@dataclass(frozen=True, slots=True)
class BuyOrder:
    """A bid: XOR alternatives, what each field came from, the assumptions made."""

    alternatives: tuple[Alternative, ...]
    explanation: tuple[Explained, ...] = ()
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= len(self.alternatives) <= MAX_ALTERNATIVES:
            _check([Problem("alternatives", f"must hold 1 to {MAX_ALTERNATIVES}",
                            len(self.alternatives))])


@dataclass(frozen=True, slots=True)
class SellOrder:
    """An ask: `gpus` GPUs of `pool` in every hour of [start, end), each at least `price`."""

    pool: str
    gpus: int
    start: datetime
    end: datetime
    price: Decimal
    explanation: tuple[Explained, ...] = ()
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        p = []
        if not (isinstance(self.pool, str) and 0 < len(self.pool) <= 200):
            p.append(Problem("pool", "must be a pool id", self.pool))
        if not (type(self.gpus) is int and 1 <= self.gpus <= MAX_GPUS):
            p.append(Problem("gpus", f"must be an integer between 1 and {MAX_GPUS}", self.gpus))
        if not (_whole_hour(self.start) and _whole_hour(self.end) and self.start < self.end):
            p.append(Problem("end", "start and end must be whole hours, start before end",
                             (str(self.start), str(self.end))))
        if not (self.price.is_finite() and Decimal(0) <= self.price <= MAX_MONEY):
            p.append(Problem("price", "must be a non-negative amount", self.price))
        _check(p)


ParsedOrder = BuyOrder | SellOrder


def _leg_doc(leg: Leg) -> dict[str, object]:
    doc: dict[str, object] = {"gpus": leg.gpus, "duration_hours": leg.duration_hours,
                              "offset_hours": leg.offset_hours}
    if leg.gpu is not None:
        doc["gpu"] = list(leg.gpu)
    if leg.regions is not None:
        doc["regions"] = list(leg.regions)
    if leg.min_uptime is not None:
        doc["min_uptime"] = leg.min_uptime
    return doc


def to_doc(order: ParsedOrder) -> dict[str, object]:
    """The order as JSON-ready data (Decimals for money; write it with jsonio.dumps)."""
    tail = {"explanation": [{"field": e.field, "value": e.value, "words": e.words}
                            for e in order.explanation],
            "warnings": list(order.warnings)}
    if isinstance(order, SellOrder):
        return {"side": "sell", "pool": order.pool, "gpus": order.gpus,
                "start": iso(order.start), "end": iso(order.end), "price": order.price, **tail}
    return {"side": "buy", "alternatives": [
        {"value": a.value, "earliest_start": iso(a.earliest_start),
         "latest_end": iso(a.latest_end), "legs": [_leg_doc(leg) for leg in a.legs]}
        for a in order.alternatives], **tail}
