"""The words of orders: numbers, GPU models, regions, uptime tiers and time zones.

Every alias maps to the catalog's canonical names (`gpux.domain.catalog`), never to a
spelling of its own. Patterns here are plain regular-expression text for the lowercased
order; the recognizers compile them into larger patterns.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta, timezone, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from gpux.domain.catalog import GPU_MODELS, REGIONS, UPTIME_TIERS

B200, H200, H100, A100_80, A100_40, L40S, L4, MI300X = GPU_MODELS
US_EAST, US_WEST, US_CENTRAL, EU_WEST, EU_CENTRAL, AP_NORTHEAST, AP_SOUTHEAST = REGIONS
NINES5, NINES4, NINES3, NINES2 = UPTIME_TIERS

# --- numbers ----------------------------------------------------------------------------

_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen")
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
ONES = {w: i for i, w in enumerate(_ONES)}
TENS = {w: 20 + 10 * i for i, w in enumerate(_TENS)}

_UNDER_100 = (rf"(?:(?:{'|'.join(_TENS)})(?:[- ](?:{'|'.join(_ONES[1:10])}))?"
              rf"|{'|'.join(sorted(_ONES, key=len, reverse=True))})")
_WORDS = (rf"(?:(?:a|{'|'.join(_ONES[1:10])})\s+hundred(?:\s+(?:and\s+)?{_UNDER_100})?"
          rf"|half\s+a\s+dozen|(?:a|{'|'.join(_ONES[1:13])})\s+dozen"
          rf"|a\s+couple(?:\s+of)?|a\s+pair\s+of|{_UNDER_100})")
DIGITS = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
# A number in digits or words, not inside a longer word or number.
NUM = rf"(?<![\w.,$])(?:{DIGITS}|{_WORDS})(?![\w])"
# The same, allowed to run into a unit ("48h", "8x").
NUM_UNIT = rf"(?<![\w.,$])(?:{DIGITS}|{_WORDS}(?![\w]))"
# "a", "an", "one", "a single": one of a thing.
ONE = r"(?<![\w])(?:a\s+single|a|an|one|single)"


def number(words: str) -> Decimal:
    """The value of a number written in digits or words ("64", "sixty-four", "a dozen")."""
    text = " ".join(words.replace(",", "").replace("-", " ").split())
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return Decimal(text)
    if text.startswith(("a couple", "a pair")):
        return Decimal(2)
    if text == "half a dozen":
        return Decimal(6)
    current = 0
    for word in text.split():
        if word == "a":
            current = current or 1
        elif word == "and":
            continue
        elif word in ONES:
            current += ONES[word]
        elif word in TENS:
            current += TENS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word == "dozen":
            current = (current or 1) * 12
        else:
            raise ValueError(f"not a number word: {word!r}")
    return Decimal(current)


# --- GPU models ---------------------------------------------------------------------------

_V = r"(?:\s?-?(?:sxm\d?|pcie|nvl))?"
MODEL_ALIASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"b\s?-?200" + _V + r"|blackwell", (B200,)),
    (r"h\s?-?200" + _V + r"(?:\s?-?141\s?gb)?", (H200,)),
    (r"h\s?-?1[0o][0o]" + _V + r"(?:\s?-?80\s?gb)?", (H100,)),
    (r"a\s?-?1[0o][0o]" + _V + r"\s?-?\(?80\s?(?:gb|g)?\)?|80\s?gb\s+a\s?-?100",
     (A100_80,)),
    (r"a\s?-?1[0o][0o]" + _V + r"\s?-?\(?40\s?(?:gb|g)?\)?" + r"|40\s?gb\s+a\s?-?100", (A100_40,)),
    (r"a\s?-?1[0o][0o]" + _V, (A100_80, A100_40)),
    (r"l\s?-?40\s?-?s", (L40S,)),
    (r"l\s?-?4", (L4,)),
    (r"mi\s?-?300\s?-?x?", (MI300X,)),
)
MODEL = (r"(?<![\w-])(?:nvidia\s+|amd\s+)?(?:" + "|".join(f"(?:{p})" for p, _ in MODEL_ALIASES)
         + r")(?:'?s)?(?![\w])")
_MODEL_PARTS = [(re.compile(rf"(?:nvidia\s+|amd\s+)?(?:{p})(?:'?s)?"), m) for p, m in MODEL_ALIASES]


def models(words: str) -> tuple[str, ...]:
    """The canonical models a model mention stands for ("A100" is both A100s)."""
    for pattern, canonical in _MODEL_PARTS:
        if pattern.fullmatch(words):
            return canonical
    raise ValueError(f"not a GPU model: {words!r}")


# Letters then digits, as GPU names are written: unknown models look like this.
MODEL_LIKE = re.compile(r"(?:[a-z]{1,4}-?)\d{1,4}[a-z]{0,3}")

# --- regions ----------------------------------------------------------------------------

_N = r"(?:[\s-]?\d)?"
REGION_ALIASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"us[\s-]?east" + _N + r"|east[\s-]coast|(?:northern\s+|n\.?\s?)?virginia|ohio"
     r"|new\s+york|eastern\s+us", (US_EAST,)),
    (r"us[\s-]?west" + _N + r"|west[\s-]coast|oregon|california|western\s+us"
     r"|silicon\s+valley|bay\s+area", (US_WEST,)),
    (r"us[\s-]?central" + _N + r"|central\s+us|midwest|texas|iowa|dallas|chicago",
     (US_CENTRAL,)),
    (r"eu[\s-]?west" + _N + r"|western\s+europe|west(?:ern)?\s+eu|ireland|dublin|london"
     r"|united\s+kingdom|britain|paris|france|netherlands|amsterdam", (EU_WEST,)),
    (r"eu[\s-]?central" + _N + r"|central\s+europe|frankfurt|germany|zurich|switzerland",
     (EU_CENTRAL,)),
    (r"ap[\s-]?northeast" + _N + r"|north[\s-]?east\s+asia|tokyo|japan|seoul|korea|osaka",
     (AP_NORTHEAST,)),
    (r"ap[\s-]?southeast" + _N + r"|south[\s-]?east\s+asia|singapore|sydney|australia",
     (AP_SOUTHEAST,)),
    (r"europe|european\s+union|eu", (EU_WEST, EU_CENTRAL)),
    (r"asia(?:[\s-]pacific)?|apac", (AP_NORTHEAST, AP_SOUTHEAST)),
    (r"united\s+states|usa|u\.s\.a?\.?|north\s+america|stateside|the\s+states|us",
     (US_EAST, US_WEST, US_CENTRAL)),
)
REGION = (r"(?<![\w-])(?:" + "|".join(f"(?:{p})" for p, _ in REGION_ALIASES)
          + r")(?![\w-])")
_REGION_PARTS = [(re.compile(p), r) for p, r in REGION_ALIASES]
ANY_REGION = (r"(?<![\w])(?:any\s+region|anywhere|any\s+location|wherever"
              r"|region\s+doesn'?t\s+matter)")


def regions(words: str) -> tuple[str, ...]:
    """The canonical regions a region mention stands for ("Europe" is both eu regions)."""
    for pattern, canonical in _REGION_PARTS:
        if pattern.fullmatch(words):
            return canonical
    raise ValueError(f"not a region: {words!r}")


# --- uptime tiers ----------------------------------------------------------------------------

NINES = {"five": NINES5, "5": NINES5, "four": NINES4, "4": NINES4, "three": NINES3,
         "3": NINES3, "two": NINES2, "2": NINES2}
SPOT = NINES2  # interruptible capacity is the lowest tier the market lists

# --- time zones ---------------------------------------------------------------------------


def _fixed(hours: int) -> timezone:
    return timezone(timedelta(hours=hours))


# Abbreviations with a season in them are fixed offsets; names without one follow the
# zone's daylight-saving rules (IANA database via zoneinfo).
ZONES: dict[str, tzinfo] = {
    "utc": UTC, "gmt": UTC, "z": UTC,
    "et": ZoneInfo("America/New_York"), "eastern": ZoneInfo("America/New_York"),
    "est": _fixed(-5), "edt": _fixed(-4),
    "ct": ZoneInfo("America/Chicago"), "central": ZoneInfo("America/Chicago"),
    "cst": _fixed(-6), "cdt": _fixed(-5),
    "mt": ZoneInfo("America/Denver"), "mountain": ZoneInfo("America/Denver"),
    "mst": _fixed(-7), "mdt": _fixed(-6),
    "pt": ZoneInfo("America/Los_Angeles"), "pacific": ZoneInfo("America/Los_Angeles"),
    "pst": _fixed(-8), "pdt": _fixed(-7),
    "cet": _fixed(1), "cest": _fixed(2), "bst": _fixed(1),
    "uk": ZoneInfo("Europe/London"), "london": ZoneInfo("Europe/London"),
    "berlin": ZoneInfo("Europe/Berlin"), "central european": ZoneInfo("Europe/Berlin"),
    "jst": _fixed(9), "tokyo": ZoneInfo("Asia/Tokyo"),
    "sgt": _fixed(8), "singapore": ZoneInfo("Asia/Singapore"),
}
# Zones named on their own anywhere ("all times Pacific", "(UTC)").
ZONE_NAMES = (r"(?:(?:utc|gmt)(?:\s?[+-]\s?\d{1,2})?"
              r"|(?:eastern|central|mountain|pacific|uk|london|berlin|central\s+european"
              r"|tokyo|singapore)\s+time|est|edt|cst|cdt|mst|mdt|pst|pdt|cet|cest|bst|jst|sgt)")
ZONE_ALONE = rf"(?<![\w]){ZONE_NAMES}(?![\w])"
# Zones that only count straight after a time of day ("9am ET").
ZONE_AFTER_TIME = r"(?:et|ct|mt|pt|z)"


def zone(words: str) -> tzinfo:
    """The time zone a zone mention names."""
    text = " ".join(words.split()).removesuffix(" time")
    m = re.fullmatch(r"(?:utc|gmt)\s?([+-])\s?(\d{1,2})", text)
    if m:
        return _fixed(int(m.group(2)) * (1 if m.group(1) == "+" else -1))
    return ZONES[text]
