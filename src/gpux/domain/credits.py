"""Reliability tiers and service credits: outages, curtailments and what they owe.

A pool promises an uptime tier (`catalog.UPTIME_TIERS`). When its provider (or an admin)
records an outage (the whole pool down) or a curtailment (`gpus` of it down) for a range of
hours, every contract live in those hours is credited, once, from the provider's account:

* Which GPU-hours were lost. In each hour the pool can still run `pool.gpus - affected`
  GPUs; only what was sold beyond that is lost (the provider sheds unsold GPUs first), and
  the loss is shared pro rata by GPUs among the contracts live in that hour. An outage takes
  every GPU, so every live contract loses all of its GPUs in those hours.
* What that is worth. A contract's price per GPU-hour is what its holder paid over its
  GPU-hours; the credit is the tier's percentage of the price of the lost GPU-hours, rounded
  down to the micro-dollar (as fees are), so the exchange never pays out more than owed.
* Who pays. The provider's available balance is its collateral: credits are paid from it in
  full when it covers them, else scaled down pro rata to what it holds (each rounded down);
  what is left unpaid is recorded per contract as a shortfall. Balances never go negative.

Everything is exact: Fractions inside, Decimals of whole micro-dollars out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Literal

from gpux.domain.catalog import UPTIME_TIERS
from gpux.domain.errors import InvalidOutage, InvalidValue
from gpux.domain.ledger import MICRO, Posting

OutageKind = Literal["outage", "curtailment"]
HOUR = timedelta(hours=1)
MAX_OUTAGE_HOURS = 24 * 31
MAX_REASON = 500

# Percent of the price of the lost GPU-hours, per uptime tier. A premium tier is sold as
# (almost) never down, so losing it refunds all it cost; a 99.0 % tier is sold cheap because
# about 7 hours a month of downtime are expected, so an outage returns a token share, as
# cloud SLAs do (10 % for the commonest tier). The higher the tier, the larger the credit.
DEFAULT_CREDIT_PERCENT: dict[Decimal, Decimal] = {
    Decimal("99.999"): Decimal(100),
    Decimal("99.99"): Decimal(50),
    Decimal("99.9"): Decimal(25),
    Decimal("99.0"): Decimal(10),
}


def tier_name(uptime: Decimal) -> str:
    """The tier as the catalog spells it ("99.9", not "99.900" as stored)."""
    return next((str(t) for t in UPTIME_TIERS if t == uptime), str(uptime))


@dataclass(frozen=True, slots=True)
class CreditSchedule:
    """The service-credit percentage of each uptime tier, highest tier first."""

    percents: tuple[tuple[Decimal, Decimal], ...]

    def __post_init__(self) -> None:
        tiers = [t for t, _ in self.percents]
        if sorted(tiers) != sorted(UPTIME_TIERS):
            raise InvalidValue("credit_schedule", "must give a percent for each uptime tier "
                               "(" + ", ".join(map(str, UPTIME_TIERS)) + ")",
                               [str(t) for t in tiers])
        for tier, pct in self.percents:
            if not pct.is_finite() or not 0 <= pct <= 100:
                raise InvalidValue(f"credit_schedule[{tier}]", "must be 0 to 100 percent", pct)
        by_tier = sorted(self.percents, reverse=True)
        for (hi, p_hi), (lo, p_lo) in pairwise(by_tier):
            if p_hi < p_lo:
                raise InvalidValue(f"credit_schedule[{hi}]", f"must be at least the "
                                   f"{p_lo} percent of the lower tier {lo}", p_hi)

    @classmethod
    def of(cls, percents: Mapping[Decimal, Decimal] | None = None) -> CreditSchedule:
        """A schedule from {tier: percent} (the default schedule if None)."""
        given = DEFAULT_CREDIT_PERCENT if percents is None else percents
        return cls(tuple(sorted(((Decimal(t), Decimal(p)) for t, p in given.items()),
                                reverse=True)))

    def percent(self, tier: Decimal) -> Decimal:
        """The credit percentage of a pool of this uptime tier."""
        for t, pct in self.percents:
            if t == tier:
                return pct
        raise InvalidValue("uptime", "is not a known uptime tier", tier)


@dataclass(frozen=True, slots=True)
class OutageSpec:
    """A report that a pool was (or will be) down, in whole UTC hours [starts_at, ends_at):
    all of it (`gpus` None, an outage) or `gpus` of its GPUs (a curtailment)."""

    starts_at: datetime
    ends_at: datetime
    gpus: int | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        for name in ("starts_at", "ends_at"):
            moment: datetime = getattr(self, name)
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise InvalidOutage(name, "must carry a time zone (UTC)", moment.isoformat())
            # Whole in UTC: 10:00+05:30 is 04:30Z, not an hour of the market's clock.
            utc = moment.astimezone(UTC)
            if utc.minute or utc.second or utc.microsecond:
                raise InvalidOutage(name, "must be a whole UTC hour", moment.isoformat())
        if self.ends_at <= self.starts_at:
            raise InvalidOutage("ends_at", "must be after starts_at "
                                f"({self.starts_at.isoformat()})", self.ends_at.isoformat())
        if self.hours > MAX_OUTAGE_HOURS:
            raise InvalidOutage("ends_at", f"the range may span at most {MAX_OUTAGE_HOURS} "
                                f"hours, was {self.hours}", self.ends_at.isoformat())
        if self.gpus is not None and self.gpus <= 0:
            raise InvalidOutage("gpus", "must be positive", self.gpus)
        if len(self.reason) > MAX_REASON:
            raise InvalidOutage("reason", f"must be at most {MAX_REASON} characters",
                                len(self.reason))

    @property
    def kind(self) -> OutageKind:
        """An outage takes the whole pool; a curtailment some of its GPUs."""
        return "outage" if self.gpus is None else "curtailment"

    @property
    def hours(self) -> int:
        """How many hours the range spans."""
        return (self.ends_at - self.starts_at) // HOUR

    def affected_gpus(self, pool_gpus: int) -> int:
        """The GPUs down in each hour, refusing a curtailment beyond the pool's size."""
        if self.gpus is None:
            return pool_gpus
        if self.gpus > pool_gpus:
            raise InvalidOutage("gpus", f"must be at most the pool's {pool_gpus} GPUs",
                                self.gpus)
        return self.gpus


@dataclass(frozen=True, slots=True)
class HeldContract:
    """A live contract on the pool: its holder, GPUs and hours, and what the holder paid."""

    id: int
    holder_id: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    price: Decimal

    @property
    def gpu_hours(self) -> int:
        return self.gpus * ((self.ends_at - self.starts_at) // HOUR)


@dataclass(frozen=True, slots=True)
class Credit:
    """What one contract is owed for an outage, and what the provider's collateral paid."""

    contract_id: int
    holder_id: str
    gpu_hours: Fraction
    owed: Decimal
    paid: Decimal

    @property
    def shortfall(self) -> Decimal:
        return self.owed - self.paid


def floor_micro(value: Fraction) -> Decimal:
    """An exact amount rounded down to whole micro-dollars."""
    return (Decimal(math.floor(value * 1_000_000)) * MICRO).quantize(MICRO)


def lost_gpu_hours(contracts: Sequence[HeldContract], pool_gpus: int, affected: int,
                   starts_at: datetime, ends_at: datetime) -> dict[int, Fraction]:
    """The GPU-hours each contract loses: per hour, what was sold beyond the GPUs still up,
    shared pro rata by GPUs among the contracts live in that hour (contracts losing nothing
    are left out)."""
    running = pool_gpus - affected
    lost: dict[int, Fraction] = defaultdict(Fraction)
    hour = starts_at
    while hour < ends_at:
        live = [c for c in contracts if c.starts_at <= hour < c.ends_at]
        sold = sum(c.gpus for c in live)
        short = min(sold, max(0, sold - running))
        if short:
            for c in live:
                lost[c.id] += Fraction(short * c.gpus, sold)
        hour += HOUR
    return dict(lost)


def credits_owed(contracts: Sequence[HeldContract], lost: Mapping[int, Fraction],
                 percent: Decimal) -> dict[int, Decimal]:
    """Each contract's credit: `percent` of the price of its lost GPU-hours, rounded down."""
    owed: dict[int, Decimal] = {}
    for c in contracts:
        if c.id in lost:
            owed[c.id] = floor_micro(Fraction(percent) / 100 * Fraction(c.price) * lost[c.id]
                                     / c.gpu_hours)
    return owed


def pay_from(owed: Mapping[int, Decimal], available: Decimal) -> dict[int, Decimal]:
    """What the provider pays of each credit: all of it if its available balance covers the
    total, else each scaled by available / total and rounded down (never more than held)."""
    total = sum(owed.values(), Decimal(0))
    if total <= available:
        return dict(owed)
    share = Fraction(max(available, Decimal(0))) / Fraction(total)
    return {cid: floor_micro(Fraction(amount) * share) for cid, amount in owed.items()}


def assess(contracts: Sequence[HeldContract], pool_gpus: int, spec: OutageSpec,
           percent: Decimal, available: Decimal) -> list[Credit]:
    """The credits an outage owes the contracts live in its hours, in contract id order."""
    affected = spec.affected_gpus(pool_gpus)
    lost = lost_gpu_hours(contracts, pool_gpus, affected, spec.starts_at, spec.ends_at)
    owed = credits_owed(contracts, lost, percent)
    paid = pay_from(owed, available)
    by_id = {c.id: c for c in contracts}
    return [Credit(cid, by_id[cid].holder_id, lost[cid], owed[cid], paid[cid])
            for cid in sorted(owed)]


def credit_postings(provider_id: str, credits: Iterable[Credit]) -> list[Posting]:
    """The ledger transaction paying the credits: from the provider's available balance to
    each holder's."""
    out = [Posting(c.holder_id, "available", "credit", c.paid) for c in credits if c.paid]
    total = sum((p.amount for p in out), Decimal(0))
    if total:
        out.append(Posting(provider_id, "available", "credit", -total))
    return out
