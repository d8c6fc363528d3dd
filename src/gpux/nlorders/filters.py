"""Where and how reliable: regions with their aliases, uptime tiers.

Regions: canonical names ("us-east"), cloud spellings ("us-east-1"), places ("Virginia",
"Frankfurt") and areas ("Europe" is both eu regions, "Asia" both ap regions, "US" all three
us regions). Uptime: "five nines" is 99.999, "99.9%" or "99.9% uptime" as written,
"interruptible is fine" and "spot" the lowest tier, 99.0.
"""

from __future__ import annotations

import re
from decimal import Decimal

from gpux.nlorders.errors import UnreadableOrder
from gpux.nlorders.lexicon import ANY_REGION, NINES, REGION, SPOT, regions
from gpux.nlorders.scan import Scan

_REGION = re.compile(REGION)
_ANY = re.compile(ANY_REGION)
_EXCLUDED = re.compile(r"(?:not|except|excluding|outside(?:\s+of)?|but\s+not|avoid|no)\s+"
                       r"(?:in\s+|the\s+)?$")
_NINES = re.compile(r"(?<![\w])(five|four|three|two|5|4|3|2)\s+(?:nines|9s|9's)(?![\w])")
_PERCENT = re.compile(
    r"(?<![\w.])(?:(?:uptime|availability|sla|reliability)\s*(?:of|>=|>|:|at\s+least|min(?:imum)?)?"
    r"\s*(?P<a>\d{2}(?:\.\d+)?)\s?%?|(?:at\s+least\s+|min(?:imum)?\s+|>=?\s?)?(?P<b>\d{2}(?:\.\d+)?)"
    r"\s?%(?:\s*(?:uptime|availability|sla|up|reliability|tier))?)(?![\w])")
_NOT_SPOT = re.compile(r"(?<![\w])(?:non-?interruptible|not\s+interruptible|no\s+spot"
                       r"|(?:no|not)\s+pre-?emptible|can'?t\s+be\s+interrupted)(?![\w])")
_SPOT = re.compile(
    r"(?<![\w])(?:(?:interruptible|pre-?emptible|spot)(?:\s+(?:capacity|instances?|gpus?|tier))?"
    r"(?:\s+(?:is|are)\s+(?:fine|ok(?:ay)?|acceptable|good|alright))?(?:\s+(?:fine|ok(?:ay)?))?"
    r"|(?:can|may)\s+be\s+(?:interrupted|pre-?empted)|interruptions?\s+(?:are|is)\s+"
    r"(?:fine|ok(?:ay)?|acceptable))(?![\w])")


def read_regions(scan: Scan) -> None:
    """Read every region mention; refuse exclusions, which a filter cannot say."""
    for m in scan.find(_ANY):
        scan.take(m.start(), m.end(), "region", ())
    for m in scan.find(_REGION):
        if m[0] == "us" and scan.text[m.start():m.end()] != "US":
            continue  # the pronoun, not the country
        before = scan.work[max(0, m.start() - 20):m.start()]
        hit = _EXCLUDED.search(before)
        if hit:
            words = scan.words(m.start() - len(before) + hit.start(), m.end())
            raise UnreadableOrder("regions", "cannot exclude a region; name the regions "
                                  "that will do instead", words)
        scan.take(m.start(), m.end(), "region", regions(m[0]))


def read_uptime(scan: Scan) -> None:
    """Read uptime tiers: nines, percentages, interruptible capacity."""
    for m in scan.find(_NOT_SPOT):
        raise UnreadableOrder("min_uptime", "which tier? say e.g. 99.9% or five nines",
                              scan.words(m.start(), m.end()))
    for m in scan.find(_NINES):
        scan.take(m.start(), m.end(), "uptime", NINES[m[1]])
    for m in scan.find(_PERCENT):
        value = Decimal(m["a"] or m["b"])
        if not Decimal(0) < value <= 100:
            raise UnreadableOrder("min_uptime", "is not a percentage", scan.words(*m.span()))
        scan.take(m.start(), m.end(), "uptime", value)
    for m in scan.find(_SPOT):
        scan.take(m.start(), m.end(), "uptime", SPOT)
