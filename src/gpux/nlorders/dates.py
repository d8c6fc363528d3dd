"""Points in time as people write them: days, dates, times of day, each in a time zone.

A point is resolved against the reference `now` in the order's zone: a weekday is the next
such day after today, a month and day without a year the next one not yet past, a time
without a day the next such time. A point written as a day only starts at its midnight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from gpux.nlorders.lexicon import ZONE_AFTER_TIME, ZONE_NAMES

_MONTHS = ("jan(?:uary)?", "feb(?:ruary)?", "mar(?:ch)?", "apr(?:il)?", "may", "june?",
           "july?", "aug(?:ust)?", "sep(?:t(?:ember)?)?", "oct(?:ober)?", "nov(?:ember)?",
           "dec(?:ember)?")
_DAYS = ("mon(?:day)?", "tue(?:s(?:day)?)?", "wed(?:nesday)?", "thu(?:rs?(?:day)?)?",
         "fri(?:day)?", "sat(?:urday)?", "sun(?:day)?")
MONTH = "(?:" + "|".join(_MONTHS) + r")\.?"
WEEKDAY = "(?:" + "|".join(_DAYS) + r")\.?"
_ORD = r"(?:st|nd|rd|th)?"

DATE = (rf"(?:\d{{4}}-\d{{2}}-\d{{2}}"
        rf"|{MONTH}\s+\d{{1,2}}{_ORD}(?:,?\s+\d{{4}})?"
        rf"|(?:the\s+)?\d{{1,2}}{_ORD}(?:\s+of)?\s+{MONTH}(?:,?\s+\d{{4}})?"
        rf"|(?:(?:next|this|coming|the\s+coming)\s+)?{WEEKDAY}(?:\s+(?:morning|evening))?"
        rf"|today|tomorrow|tonight)")
CLOCK = (r"(?:\d{1,2}(?::\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.)|\d{1,2}:\d{2}(?:\s?h)?|noon|midday"
         r"|midnight|\d{1,2}\s?o'?clock)")
ZONE = rf"(?:\s?\(?(?:{ZONE_NAMES}|{ZONE_AFTER_TIME})\)?)"
CLOCK_Z = rf"{CLOCK}(?:{ZONE}(?![\w]))?"
# A day, a time, or both, in either order: "Monday 9am", "9am on Dec 3", "2026-12-03T09:00Z".
POINT = (rf"(?:\d{{4}}-\d{{2}}-\d{{2}}t\d{{2}}:\d{{2}}(?::\d{{2}})?z?"
         rf"|{DATE}(?:,?\s+(?:at\s+)?{CLOCK_Z})?|{CLOCK_Z}(?:,?\s+(?:on\s+)?{DATE})?)")

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:t(\d{2}):(\d{2})(?::\d{2})?(z?))?")
_MONTH_RES = [re.compile(m + r"\.?") for m in _MONTHS]
_DAY_RES = [re.compile(d + r"\.?") for d in _DAYS]
_CLOCK_RE = re.compile(CLOCK)
_CLOCK_PARTS = re.compile(r"(\d{1,2})(?::(\d{2}))?\s?(am|pm|a\.m\.|p\.m\.|h|o'?clock)?")


@dataclass(frozen=True, slots=True)
class Point:
    """A resolved point: when (aware), and whether a time of day was written."""

    at: datetime
    has_time: bool

    def day_end(self) -> datetime:
        """The end of the point's day if it was a day only, else the point itself."""
        return self.at if self.has_time else self.at + timedelta(days=1)


def _month(word: str) -> int:
    return next(i + 1 for i, r in enumerate(_MONTH_RES) if r.fullmatch(word))


def _day_of(text: str, today: date) -> date | None:
    """The date a day phrase names, or None when the phrase has no day in it."""
    iso = _ISO.fullmatch(text)
    if iso:
        return date(int(iso[1]), int(iso[2]), int(iso[3]))
    if "today" in text or "tonight" in text:
        return today
    if "tomorrow" in text:
        return today + timedelta(days=1)
    m = re.search(rf"({MONTH})\s+(\d{{1,2}}){_ORD}(?:,?\s+(\d{{4}}))?", text) or None
    if m:
        return _dated(today, _month(m[1]), int(m[2]), m[3])
    m = re.search(rf"(\d{{1,2}}){_ORD}(?:\s+of)?\s+({MONTH})(?:,?\s+(\d{{4}}))?", text)
    if m:
        return _dated(today, _month(m[2]), int(m[1]), m[3])
    m = re.search(WEEKDAY, text)
    if m:
        wanted = next(i for i, r in enumerate(_DAY_RES) if r.fullmatch(m[0]))
        ahead = (wanted - today.weekday() - 1) % 7 + 1
        return today + timedelta(days=ahead)
    return None


def _dated(today: date, month: int, day: int, year: str | None) -> date:
    if year:
        return date(int(year), month, day)
    this = date(today.year, month, day)
    return this if this >= today else date(today.year + 1, month, day)


def _clock(text: str) -> time | None:
    m = _CLOCK_RE.search(text)
    if m is None:
        return None
    word = m[0]
    if word in ("noon", "midday"):
        return time(12)
    if word == "midnight":
        return time(0)
    parts = _CLOCK_PARTS.match(word)
    assert parts is not None
    hour, minute, suffix = int(parts[1]), int(parts[2] or 0), (parts[3] or "").replace(".", "")
    if suffix == "pm" and hour < 12:
        hour += 12
    elif suffix == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        raise ValueError(f"no such time of day: {word!r}")
    return time(hour, minute)


def resolve(text: str, now: datetime, tz: tzinfo) -> Point:
    """Resolve one point phrase (lowercased) against `now` in zone `tz`."""
    iso = _ISO.fullmatch(text)
    if iso and iso[4]:
        at = datetime(int(iso[1]), int(iso[2]), int(iso[3]), int(iso[4]), int(iso[5]), tzinfo=tz)
        return Point(at, True)
    local = now.astimezone(tz)
    clock = _clock(text)
    if clock is None and "tonight" in text:
        clock = time(20)
    day = _day_of(_CLOCK_RE.sub(" ", text), local.date())
    if day is None:
        assert clock is not None
        at = datetime.combine(local.date(), clock, tz)
        return Point(at if at > local else at + timedelta(days=1), True)
    if clock is None:
        return Point(datetime.combine(day, time(0), tz), False)
    return Point(datetime.combine(day, clock, tz), True)
