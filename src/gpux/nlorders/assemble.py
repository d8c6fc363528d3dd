"""From what was read to a checked order: legs, substitutes, values, windows, warnings.

Defaults, each reported as a warning: no window -> from the next whole hour, to end within
7 days (or the job's length if longer); no region -> any region; no tier -> any tier; no
zone -> UTC; a node -> 8 GPUs; an hourly price that does not say per what -> per GPU-hour.
A price is never invented: a leg without one (and no budget) is an error asking for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from gpux.domain.book import Pool
from gpux.domain.catalog import GPU_MODELS, REGIONS
from gpux.nlorders.errors import UnreadableOrder
from gpux.nlorders.legs import Clause, split
from gpux.nlorders.order import Alternative, BuyOrder, Explained, Leg, SellOrder, iso
from gpux.nlorders.prices import Rate
from gpux.nlorders.quantities import NODE_SIZE
from gpux.nlorders.scan import Scan
from gpux.nlorders.times import TimeFrame, ceil_hour

DEFAULT_SLACK = timedelta(days=7)
MICRO = Decimal("0.000001")
_ASK_FOR_PRICE = ('no price given; say what you will pay, e.g. "at $2.40 per GPU-hour", '
                  '"$19 per node-hour" or "budget $10k"')


@dataclass(slots=True)
class Notes:
    """The explanation and warnings gathered while building an order."""

    explained: list[Explained]
    warnings: list[str]

    def say(self, field: str, value: object, words: str) -> None:
        self.explained.append(Explained(field, str(value), words))

    def warn(self, kind: str, message: str) -> None:
        line = f"{kind}: {message}"
        if line not in self.warnings:
            self.warnings.append(line)


def _units(scan: Scan, notes: Notes) -> dict[int, Rate]:
    """Every rate with its unit settled, by position in the text."""
    settled: dict[int, Rate] = {}
    last = ""
    for m in scan.of("rate"):
        rate = m.value
        assert isinstance(rate, Rate)
        words = scan.words(m.start, m.end)
        if rate.per == "hour":
            notes.warn("price", f'"{words}" read as per GPU-hour')
            rate = Rate(rate.amount, "gpu", rate.hours)
        elif rate.per == "":
            if last:
                rate = Rate(rate.amount, last, 1)
            elif rate.amount < 100:
                notes.warn("price", f'"{words}" has no unit, read as per GPU-hour')
                rate = Rate(rate.amount, "gpu", 1)
            else:
                raise UnreadableOrder("price", "per GPU-hour, per node-hour or in total?", words)
        last = rate.per
        settled[m.start] = rate
    return settled


def _leg_value(rate: Rate, gpus: int, hours: int, node: int) -> Decimal:
    per_unit = {"gpu": Decimal(gpus), "node": Decimal(gpus) / node, "order": Decimal(1)}
    return rate.amount * per_unit[rate.per] * hours / rate.hours


@dataclass(slots=True)
class _Draft:
    gpus: int
    hours: int
    models: tuple[str, ...] | None
    regions: tuple[str, ...] | None
    uptime: Decimal | None
    rate: Rate | None
    sequential: bool


def _draft(c: Clause, prev: _Draft | None, base: _Draft | None, rates: dict[int, Rate],
           frame: TimeFrame, notes: Notes, name: str) -> _Draft:
    q = c.quantity
    ref = base or prev
    gpus = q.gpus if q else (base.gpus if base else 0)
    models = c.models or (ref.models if ref else None)
    reg = c.first("region")
    regions = (tuple(dict.fromkeys(r for m in c.said["region"] for r in m.value))  # type: ignore[attr-defined]
               if reg else (ref.regions if ref else None))
    regions = tuple(r for r in REGIONS if r in regions) if regions else None
    up = c.first("uptime")
    uptime = up.value if up else (ref.uptime if ref else None)
    dur = c.first("duration")
    rate_m = c.first("rate")
    rate = rates[rate_m.start] if rate_m else (base.rate if base else None)
    if dur:
        assert isinstance(dur.value, tuple)
        hours, month = int(dur.value[0]), bool(dur.value[1])
        if month:
            notes.warn("duration", "a month read as 30 days")
    elif base:
        hours = base.hours
    elif frame.duration_hours:
        hours = frame.duration_hours
    elif frame.overnight:
        hours = 12
        notes.warn("duration", "overnight read as 12 hours, 20:00 to 08:00")
    elif prev and not c.sequential:
        hours = prev.hours
        notes.warn("duration", f"{name} runs as long as the leg before it")
    elif frame.start is not None and frame.end is not None and prev is None:
        hours = int((frame.end - frame.start).total_seconds()) // 3600
        notes.warn("duration", "none given, the whole window")
    else:
        raise UnreadableOrder("duration", f"how long for {name}? say e.g. \"for 48 hours\"",
                              c.words.get("gpus", ""))
    if gpus < 1:
        raise UnreadableOrder("gpus", "how many GPUs?", c.words.get("gpu", ""))
    assert isinstance(uptime, Decimal | None)
    return _Draft(gpus, hours, models, regions, uptime, rate, c.sequential)


def build_buy(scan: Scan, now: datetime, frame: TimeFrame, zone_words: str) -> BuyOrder:
    """Legs and substitutes -> XOR alternatives with values and one shared window."""
    notes = Notes([], [])
    rates = _units(scan, notes)
    legs, subs = split(scan)
    drafts: list[_Draft] = []
    for i, c in enumerate(legs):
        drafts.append(_draft(c, drafts[-1] if drafts else None, None, rates, frame, notes,
                             f"leg {i + 1}"))
    for i, d in enumerate(drafts):
        if d.rate is None:  # the rate of a substitute stated once for both, or the same model's
            d.rate = next((rates[r.start] for s in subs if s.base == i
                           for r in [s.first("rate")] if r is not None), None) or next(
                (e.rate for e in drafts if e is not d and e.models == d.models and e.rate), None)
    plans = [drafts] + [[*drafts[:s.base], _draft(s, None, drafts[s.base], rates, frame, notes,
                                                   "the substitute"), *drafts[s.base + 1:]]
                        for s in subs if s.base is not None]
    budget = next((m for m in scan.of("budget")), None)
    node = next((q.value.node_size for q in scan.of("quantity")  # type: ignore[attr-defined]
                 if q.value.node_size_stated), NODE_SIZE)  # type: ignore[attr-defined]
    stated = any(q.value.node_size_stated for q in scan.of("quantity"))  # type: ignore[attr-defined]
    if any(q.value.node_size and not q.value.node_size_stated  # type: ignore[attr-defined]
           for q in scan.of("quantity")) or (any(r.per == "node" for r in rates.values())
                                             and not stated):
        notes.warn("gpus", f"a node read as {NODE_SIZE} GPUs")
    alternatives = [_alternative(plan, k, scan, now, frame, budget, node, notes)
                    for k, plan in enumerate(plans)]
    _explain_legs(legs, subs, notes)
    _common_warnings(scan, frame, zone_words, notes, any(
        leg.regions is None for a in alternatives for leg in a.legs), any(
        leg.min_uptime is None for a in alternatives for leg in a.legs))
    return BuyOrder(tuple(alternatives), tuple(notes.explained), tuple(notes.warnings))


def _alternative(plan: list[_Draft], k: int, scan: Scan, now: datetime, frame: TimeFrame,
                 budget: object, node: int, notes: Notes) -> Alternative:
    legs: list[Leg] = []
    for d in plan:
        offset = max((leg.end_hours for leg in legs), default=0) if d.sequential else 0
        legs.append(Leg(d.gpus, d.hours, offset, _order(d.models), d.regions, d.uptime))
    span = max(leg.end_hours for leg in legs)
    value = Decimal(0)
    for i, d in enumerate(plan):
        if d.rate is None and budget is None:
            raise UnreadableOrder("price", _ASK_FOR_PRICE if len(plan) == 1 else
                                  f"leg {i + 1} has {_ASK_FOR_PRICE}")
        if d.rate is not None:
            value += _leg_value(d.rate, d.gpus, d.hours, node)
    if budget is not None:
        amount = budget.value  # type: ignore[attr-defined]
        value = amount if all(d.rate is None for d in plan) else min(value, amount)
        notes.say(f"alternatives[{k}].value", value, scan.words(budget.start, budget.end))  # type: ignore[attr-defined]
    if value != value.quantize(MICRO, ROUND_DOWN):
        value = value.quantize(MICRO, ROUND_DOWN)
        notes.warn("rounding", "value rounded down to a millionth of a dollar")
    earliest, latest = window(now, frame, span, notes)
    return Alternative(value, earliest, latest, tuple(legs))


def _order(models: tuple[str, ...] | None) -> tuple[str, ...] | None:
    return tuple(g for g in GPU_MODELS if g in models) if models else None


def window(now: datetime, frame: TimeFrame, span: int, notes: Notes) -> tuple[datetime, datetime]:
    """earliest_start and latest_end in UTC for a job of `span` hours."""
    first = ceil_hour(now.astimezone(UTC))
    start = frame.start.astimezone(UTC) if frame.start else first
    if ceil_hour(start) != start:
        notes.warn("rounding", f"start {iso(start)} rounded up to the whole hour")
    start = max(ceil_hour(start), first)
    need = timedelta(hours=span)
    if frame.end is not None:
        end = frame.end.astimezone(UTC)
        floor = end.replace(minute=0, second=0, microsecond=0)
        if floor != end:
            notes.warn("rounding", f"end {iso(end)} rounded down to the whole hour")
        end = floor
    elif frame.start_rule == "exact":
        end = start + need
    elif frame.start_rule == "day" and frame.start is not None:
        end = start + max(timedelta(days=1), need)
    else:
        end = start + max(DEFAULT_SLACK, need)
        notes.warn("window", "no end given, to end within 7 days of the start"
                   if frame.start else "none given, from the next whole hour to end within 7 days")
    if end - start < need:
        raise UnreadableOrder("window", f"from {iso(start)} to {iso(end)} is too short for "
                              f"{span} hours")
    return start, end


def _explain_legs(legs: list[Clause], subs: list[Clause], notes: Notes) -> None:
    for name, group in (("legs", legs), ("substitutes", subs)):
        for i, c in enumerate(group):
            for field, words in c.words.items():
                notes.say(f"{name}[{i}].{field}", "", words)


def _common_warnings(scan: Scan, frame: TimeFrame, zone_words: str, notes: Notes,
                     no_region: bool, no_uptime: bool) -> None:
    if frame.calendar and not zone_words:
        notes.warn("timezone", "none named, times read as UTC")
    if no_region and not any(m.kind == "region" and m.value == () for m in scan.mentions):
        notes.warn("regions", "none given, any region")
    if no_uptime:
        notes.warn("min_uptime", "none given, any uptime tier")
    if "splittable" in {m.kind for m in scan.mentions}:
        notes.warn("contiguity", "each leg is one contiguous run; split the job into legs "
                   "to allow gaps")


def build_sell(scan: Scan, now: datetime, frame: TimeFrame, zone_words: str,
               pools: Sequence[Pool] | None) -> SellOrder:
    """A provider's offer: pool, GPUs, the hours offered and the reserve per GPU-hour."""
    notes = Notes([], [])
    pool = next((m for m in scan.of("pool")), None)
    if pool is None:
        raise UnreadableOrder("pool", "which pool? name it, e.g. \"from pool acme-h100-use\"")
    pool_id = str(pool.value)
    if pools is not None and pool_id not in {p.id for p in pools}:
        raise UnreadableOrder("pool", "is not a registered pool", pool_id)
    notes.say("pool", pool_id, scan.words(pool.start, pool.end))
    qs = scan.of("quantity")
    if not qs:
        raise UnreadableOrder("gpus", "how many GPUs are offered?")
    q = qs[0].value
    gpus = q.gpus  # type: ignore[attr-defined]
    notes.say("gpus", gpus, scan.words(qs[0].start, qs[0].end))
    rates = _units(scan, notes)
    if not rates:
        raise UnreadableOrder("price", "no price given; say the least you accept, e.g. "
                              "\"at least $1.85 per GPU-hour\"")
    rate = next(iter(rates.values()))
    node = q.node_size or NODE_SIZE  # type: ignore[attr-defined]
    divisor = {"gpu": Decimal(rate.hours), "node": Decimal(node * rate.hours),
               "order": Decimal(gpus * rate.hours)}[rate.per]
    price = rate.amount / divisor
    if price != price.quantize(MICRO, ROUND_DOWN):
        raise UnreadableOrder("price", "does not come to a whole millionth of a dollar per "
                              "GPU-hour; give the price per GPU-hour")
    start = frame.start.astimezone(UTC) if frame.start else ceil_hour(now)
    start = max(ceil_hour(start), ceil_hour(now))
    durs = scan.of("duration")
    if frame.end is not None:
        end = frame.end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    elif durs or frame.duration_hours:
        hours = durs[0].value[0] if durs else frame.duration_hours  # type: ignore[index]
        end = start + timedelta(hours=int(hours))  # type: ignore[arg-type]
    else:
        end = start + DEFAULT_SLACK
        notes.warn("window", "no end given, offered for 7 days")
    if end <= start:
        raise UnreadableOrder("window", f"ends at {iso(end)}, before it starts at {iso(start)}")
    if frame.calendar and not zone_words:
        notes.warn("timezone", "none named, times read as UTC")
    return SellOrder(pool_id, gpus, start, end, price, tuple(notes.explained),
                     tuple(notes.warnings))
