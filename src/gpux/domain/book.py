"""The auction book: pools, asks and bids (XOR alternatives of AND legs).

Every type validates itself on construction and says what was wrong and what the value
was. Slots are whole hours counted from the start of the delivery horizon; money is
Decimal, exact to one micro-unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from gpux.domain.errors import InvalidValue, Problem

# Bounds that no real book reaches; past them a book is a mistake or an attack.
MAX_SLOTS = 24 * 366
MAX_GPUS = 1_000_000
MAX_ALTERNATIVES = 64
MAX_LEGS = 32
MAX_MONEY = Decimal(10) ** 12


class _Checks:
    """Collects every failed check of one value, then raises them together."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def require(self, ok: bool, name: str, message: str, value: object) -> bool:
        if not ok:
            self.problems.append(Problem(name, message, value))
        return ok

    def id(self, name: str, value: object) -> None:
        self.require(isinstance(value, str) and 0 < len(value) <= 200, name,
                     "must be a non-empty string of at most 200 characters", value)

    def count(self, name: str, value: int, low: int, high: int) -> bool:
        return self.require(low <= value <= high, name, f"must be between {low} and {high}",
                            value)

    def money(self, name: str, value: Decimal, *, positive: bool) -> None:
        if not self.require(value.is_finite(), name, "must be a finite number", value):
            return
        if positive:
            self.require(value > 0, name, "must be positive", value)
        else:
            self.require(value >= 0, name, "must not be negative", value)
        self.require(value <= MAX_MONEY, name, f"must be at most {MAX_MONEY}", value)

    def done(self) -> None:
        if self.problems:
            raise InvalidValue.of(self.problems)


@dataclass(frozen=True, slots=True)
class Pool:
    """One homogeneous block of a provider's GPUs: one model, one region, one uptime tier."""

    id: str
    provider: str
    gpu: str
    region: str
    uptime: Decimal

    def __post_init__(self) -> None:
        c = _Checks()
        c.id("id", self.id)
        c.id("provider", self.provider)
        c.id("gpu", self.gpu)
        c.id("region", self.region)
        c.require(Decimal(0) < self.uptime <= 100, "uptime", "must be a percentage in (0, 100]",
                 self.uptime)
        c.done()


@dataclass(frozen=True, slots=True)
class Ask:
    """`gpus` GPUs of `pool` offered in every slot of [start, end), each at no less than `price`."""

    id: str
    seller: str
    pool: str
    gpus: int
    start: int
    end: int
    price: Decimal

    def __post_init__(self) -> None:
        c = _Checks()
        c.id("id", self.id)
        c.id("seller", self.seller)
        c.id("pool", self.pool)
        c.count("gpus", self.gpus, 1, MAX_GPUS)
        c.require(self.start >= 0, "start", "must not be negative", self.start)
        c.require(self.start < self.end, "end", f"must be after start {self.start}", self.end)
        c.money("price", self.price, positive=False)
        c.done()


@dataclass(frozen=True, slots=True)
class Leg:
    """`gpus` GPUs from one matching pool for `duration` contiguous slots from start + offset."""

    gpus: int
    duration: int
    offset: int = 0
    gpu: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = None
    min_uptime: Decimal | None = None
    pools: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        c = _Checks()
        c.count("gpus", self.gpus, 1, MAX_GPUS)
        c.count("duration", self.duration, 1, MAX_SLOTS)
        c.count("offset", self.offset, 0, MAX_SLOTS)
        for name in ("gpu", "regions", "pools"):
            value = getattr(self, name)
            c.require(value is None or len(value) > 0, name, "must be a non-empty list", value)
        c.require(self.min_uptime is None or Decimal(0) <= self.min_uptime <= 100, "min_uptime",
                 "must be a percentage in [0, 100]", self.min_uptime)
        c.done()

    @property
    def end_offset(self) -> int:
        """Slots from the alternative's start to the end of this leg."""
        return self.offset + self.duration

    def matches(self, pool: Pool) -> bool:
        """Tell whether `pool` meets every filter of this leg."""
        return (
            (self.gpu is None or pool.gpu in self.gpu)
            and (self.regions is None or pool.region in self.regions)
            and (self.min_uptime is None or pool.uptime >= self.min_uptime)
            and (self.pools is None or pool.id in self.pools)
        )


@dataclass(frozen=True, slots=True)
class Alternative:
    """One way to satisfy a bid: all legs, placed at one start, for at most `value` in total."""

    value: Decimal
    earliest_start: int
    latest_end: int
    legs: tuple[Leg, ...]

    def __post_init__(self) -> None:
        c = _Checks()
        c.money("value", self.value, positive=True)
        c.require(self.earliest_start >= 0, "earliest_start", "must not be negative",
                 self.earliest_start)
        window = c.require(self.earliest_start < self.latest_end, "latest_end",
                           f"must be after earliest_start {self.earliest_start}",
                           self.latest_end)
        c.count("legs", len(self.legs), 1, MAX_LEGS)
        if window and self.legs:
            c.require(self.span <= self.latest_end - self.earliest_start, "legs",
                      f"need {self.span} slots but the window "
                      f"[{self.earliest_start}, {self.latest_end}) has "
                      f"{self.latest_end - self.earliest_start}", self.span)
        c.done()

    @property
    def span(self) -> int:
        """Slots from the start to the end of the last leg."""
        return max(leg.end_offset for leg in self.legs)

    def starts(self) -> range:
        """Every start slot at which all legs fit in the window."""
        return range(self.earliest_start, self.latest_end - self.span + 1)


@dataclass(frozen=True, slots=True)
class Bid:
    """An all-or-nothing package: at most one of its alternatives is accepted (XOR)."""

    id: str
    buyer: str
    alternatives: tuple[Alternative, ...]

    def __post_init__(self) -> None:
        c = _Checks()
        c.id("id", self.id)
        c.id("buyer", self.buyer)
        c.count("alternatives", len(self.alternatives), 1, MAX_ALTERNATIVES)
        c.done()

    @property
    def best_value(self) -> Decimal:
        """The largest value of any alternative: what the bid can add to surplus at most."""
        return max(alt.value for alt in self.alternatives)


@dataclass(frozen=True, slots=True)
class Book:
    """One auction's frozen book over `slots` slots, with the warnings found reading it."""

    slots: int
    pools: tuple[Pool, ...]
    asks: tuple[Ask, ...]
    bids: tuple[Bid, ...]
    warnings: tuple[str, ...] = ()
    pool_by_id: dict[str, Pool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        c = _Checks()
        c.count("slots", self.slots, 1, MAX_SLOTS)
        object.__setattr__(self, "pool_by_id", {p.id: p for p in self.pools})
        c.require(len(self.pool_by_id) == len(self.pools), "pools", "ids must be unique",
                 len(self.pools))
        for ask in self.asks:
            c.require(ask.pool in self.pool_by_id, "asks.pool", "must name a pool of the book",
                     ask.pool)
            c.require(ask.end <= self.slots, "asks.end", f"must be at most slots {self.slots}",
                     ask.end)
        for bid in self.bids:
            for alt in bid.alternatives:
                c.require(alt.latest_end <= self.slots, "latest_end",
                         f"must be at most slots {self.slots}", alt.latest_end)
        c.done()

    def asks_in(self, pool_id: str) -> Iterator[Ask]:
        """The asks offering capacity in one pool."""
        return (a for a in self.asks if a.pool == pool_id)
