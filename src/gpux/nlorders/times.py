"""Windows and deadlines: when an order may start and by when it must end.

Reads every time phrase of an order into one `TimeFrame` in the order's time zone (UTC unless
the text names one). Conventions, documented in docs/nlorders.md:
- a day without a time starts at its midnight; as an end ("by Friday", "to Dec 10") it
  counts whole, "before Friday" ends at Friday's midnight;
- "next week" is Monday 00:00 to the Monday after, "this week" now to next Monday,
  "within 2 weeks" / "in the next 2 weeks" ends two weeks from now;
- "starting X" fixes the start: with a time of day the job starts then, with a day only it
  runs on that day or starts at its midnight if longer than a day;
- "tonight" and "overnight" are 20:00 to 08:00 the next morning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

from gpux.nlorders.dates import CLOCK, POINT, WEEKDAY, resolve
from gpux.nlorders.lexicon import NUM, ZONE_AFTER_TIME, ZONE_ALONE, number, zone
from gpux.nlorders.scan import Scan

_P = rf"(?<![\w])(?:the\s+)?({POINT})(?![\w])"
_UNIT = r"(hours?|hrs?|days?|weeks?|wks?|fortnights?|months?)"
_UNIT_HOURS = {"h": 1, "d": 24, "w": 168, "f": 336, "m": 720}

_ZONE_ALONE = re.compile(ZONE_ALONE)
_ZONE_ISO = re.compile(r"\d{4}-\d{2}-\d{2}t\d{2}:\d{2}(?::\d{2})?(z)(?![\w])")
_ZONE_AFTER = re.compile(rf"(?<![\w]){CLOCK}\s?\(?({ZONE_AFTER_TIME})\)?(?![\w])")
_RANGE = re.compile(rf"(?<![\w])(?:between\s+|from\s+)?{_P}\s*(?:and|to|until|till|through|thru"
                    rf"|-)\s+(?:the\s+)?({POINT})(?![\w])")
_START = re.compile(rf"(?<![\w])(starting|start(?:ing)?\s+(?:on|at|from)|starts?(?:\s+on)?"
                    rf"|beginning|begin(?:ning)?\s+on|from|kick(?:ing)?\s+off)\s+(?:on\s+|at\s+)?{_P}")
_AFTER = re.compile(rf"(?<![\w])(after|not\s+before|no\s+earlier\s+than|earliest)\s+{_P}")
_BEFORE = re.compile(rf"(?<![\w])(before|ahead\s+of|prior\s+to)\s+{_P}")
_BY = re.compile(rf"(?<![\w])(by|until|till|through|no\s+later\s+than|deadline(?:\s+is)?"
                 rf"|done\s+by|finish(?:ed)?\s+by|end(?:s|ing)?(?:\s+(?:on|by))?)\s+{_P}")
_WEEK = re.compile(r"(?<![\w])(?:(?:some\s?time|any\s?time|at\s+some\s+point)\s+)?(?:during\s+)?"
                   r"(next|this|the\s+coming)\s+(week|weekend|month)(?![\w])")
_WITHIN = re.compile(rf"(?<![\w])(?:within|in\s+the\s+next|over\s+the\s+next|during\s+the\s+next"
                     rf"|(?:some\s?time|any\s?time)\s+in\s+the\s+next)\s+({NUM}|a|an)?\s*{_UNIT}"
                     rf"(?![\w])")
_NEXT_FOR = re.compile(rf"(?<![\w])for\s+the\s+(?:next|coming)\s+({NUM}|a|an)?\s*{_UNIT}(?![\w])")
_ASAP = re.compile(r"(?<![\w])(?:asap|as\s+soon\s+as\s+possible|right\s+away|immediately"
                   r"|starting\s+(?:now|today)|from\s+now\s+on|start\s+now)(?![\w])")
_OVERNIGHT = re.compile(r"(?<![\w])(?:overnight|tonight)(?![\w])")
_BARE = re.compile(rf"(?<![\w])(?:on\s+|at\s+)?{_P}")


@dataclass(frozen=True, slots=True)
class TimeFrame:
    """What the text says about time: bounds (aware, UTC), how the start binds, the zone."""

    start: datetime | None = None
    end: datetime | None = None
    start_rule: str = "flex"  # "exact": the job starts at `start`; "day": on that day
    duration_hours: int | None = None  # from "for the next 2 weeks" or "overnight"
    calendar: bool = False  # a day, a date or a clock was read, so the zone mattered
    zone_words: str = ""
    overnight: bool = False


def ceil_hour(t: datetime) -> datetime:
    """`t` rounded up to the whole hour."""
    floor = t.replace(minute=0, second=0, microsecond=0)
    return floor if floor == t else floor + timedelta(hours=1)


def _span(count: str | None, unit: str) -> timedelta:
    n = number(count) if count and count not in ("a", "an") else 1
    hours = n * _UNIT_HOURS["f" if unit.startswith("fort") else unit[0]]
    return timedelta(hours=float(hours)) if hours != int(hours) else timedelta(hours=int(hours))


def read_zone(scan: Scan) -> tuple[tzinfo, str]:
    """The zone the text names (UTC and no words when it names none)."""
    found: tuple[tzinfo, str] | None = None
    for pattern in (_ZONE_ISO, _ZONE_AFTER, _ZONE_ALONE):
        for m in scan.find(pattern):
            g = 0 if pattern is _ZONE_ALONE else 1
            tz = zone(m[g])
            scan.take(m.start(g), m.end(g), "zone", tz)
            found = found or (tz, scan.words(m.start(g), m.end(g)))
    return found or (zone("utc"), "")


def read_times(scan: Scan, now: datetime, tz: tzinfo) -> TimeFrame:
    """Read every window and deadline phrase of the text into one frame."""
    frame = TimeFrame()
    local = now.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    for m in scan.find(_RANGE):
        a, b = resolve(m[1], now, tz), resolve(m[2], now, tz)
        end = b.day_end()
        while end <= a.at and re.search(WEEKDAY, m[2]):
            end += timedelta(days=7)  # "Monday to Friday": the Friday after that Monday
        frame = replace(frame, start=a.at, end=end, calendar=True)
        scan.take(m.start(), m.end(), "window", (a.at, end))
    for m in scan.find(_WEEK):
        which, unit = m[1], m[2]
        if unit == "month":
            first = midnight.replace(day=1)
            nxt = (first + timedelta(days=32)).replace(day=1)
            start, end = (nxt, (nxt + timedelta(days=32)).replace(day=1)) if which != "this" \
                else (local, nxt)
        elif unit == "weekend":
            sat = midnight + timedelta(days=(5 - local.weekday()) % 7)
            sat += timedelta(days=7) if which == "next" and local.weekday() < 5 else timedelta()
            start, end = sat, sat + timedelta(days=2)
        else:
            monday = midnight + timedelta(days=7 - local.weekday())
            start, end = (local, monday) if which == "this" else (monday, monday + timedelta(7))
        frame = replace(frame, start=frame.start or start, end=frame.end or end, calendar=True)
        scan.take(m.start(), m.end(), "window", (start, end))
    for m in scan.find(_WITHIN):
        end = now + _span(m[1], m[2])
        frame = replace(frame, end=frame.end or end)
        scan.take(m.start(), m.end(), "deadline", end)
    for m in scan.find(_NEXT_FOR):
        hours = int(_span(m[1], m[2]).total_seconds()) // 3600
        frame = replace(frame, duration_hours=hours, start=frame.start or ceil_hour(now),
                        start_rule="exact")
        scan.take(m.start(), m.end(), "next_for", hours)
    for m in scan.find(_START):
        p = resolve(m[2], now, tz)
        frame = replace(frame, start=p.at, start_rule="exact" if p.has_time else "day",
                        calendar=True)
        scan.take(m.start(), m.end(), "start", p.at)
    for m in scan.find(_AFTER):
        p = resolve(m[2], now, tz)
        frame = replace(frame, start=p.day_end() if m[1] == "after" else p.at, calendar=True)
        scan.take(m.start(), m.end(), "start", frame.start)
    for m in scan.find(_BEFORE):
        p = resolve(m[2], now, tz)
        frame = replace(frame, end=p.at, calendar=True)
        scan.take(m.start(), m.end(), "deadline", p.at)
    for m in scan.find(_BY):
        p = resolve(m[2], now, tz)
        frame = replace(frame, end=p.day_end(), calendar=True)
        scan.take(m.start(), m.end(), "deadline", p.day_end())
    for m in scan.find(_ASAP):
        frame = replace(frame, start=frame.start or ceil_hour(now))
        scan.take(m.start(), m.end(), "start", frame.start)
    for m in scan.find(_OVERNIGHT):
        night = resolve("tonight", now, tz).at
        if night - timedelta(hours=20) < midnight:
            night = midnight + timedelta(hours=20)
        if night < local:
            night += timedelta(days=1)
        frame = replace(frame, overnight=True, calendar=True)
        if frame.start is None and frame.end is None:
            frame = replace(frame, start=night, end=night + timedelta(hours=12))
        scan.take(m.start(), m.end(), "overnight", night)
    for m in scan.find(_BARE):
        p = resolve(m[1], now, tz)
        rule = "exact" if p.has_time else "day"
        frame = replace(frame, start=frame.start or p.at, calendar=True,
                        start_rule=rule if frame.start is None else frame.start_rule)
        scan.take(m.start(), m.end(), "start", p.at)
    return frame

