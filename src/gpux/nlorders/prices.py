"""Prices: per GPU-hour, per node-hour, per hour for the whole leg, or a total budget.

"$2.40/hr", "$2.40 an hour each", "2.40 per GPU-hour", "$19 per node-hour", "$150 an hour
for the lot", "budget $10k", "$10,000 total". An hourly price that does not say per what is
per GPU-hour (with a warning); an amount with no unit at all takes the unit of the price
before it, or is per GPU-hour if below $100, and is refused as ambiguous otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from gpux.nlorders.lexicon import DIGITS
from gpux.nlorders.scan import Scan

_K = {"k": Decimal(1000), "m": Decimal(1_000_000), "mm": Decimal(1_000_000), "": Decimal(1)}
MONEY = (rf"(?:\$\s?(?P<a>{DIGITS})\s?(?P<ka>k|mm|m)?(?:\s?(?:usd|dollars?))?"
         rf"|usd\s?(?P<b>{DIGITS})\s?(?P<kb>k|mm|m)?"
         rf"|(?P<c>{DIGITS})\s?(?P<kc>k|mm|m)?\s?(?:usd|dollars?|bucks))(?![\w])")
_PER = r"(?:/\s?|per\s+|an?\s+|every\s+)"
_GPU = r"(?:gpu|card|chip|accelerator)s?"
_NODE = r"(?:node|server|box|machine)s?"
_HOUR = r"(?:hours?|hrs?|h)(?![\w])"
_DAY = r"(?:days?)(?![\w])"


def _per(thing: str, time: str) -> str:
    return (rf"(?:{_PER}{thing}[\s-]?{time}|{_PER}{thing}\s*(?:{_PER}|/){time}"
            rf"|{_PER}{time}\s*(?:{_PER}|/|,\s*){thing}(?![\w])|{_PER}{time}\s+(?:for\s+)?each"
            rf"|each\s*,?\s*{_PER}{time})")


_UNITS = (
    ("gpu", 1, _per(_GPU, _HOUR).replace("(?:for\\s+)?each", "(?:for\\s+)?(?:each|apiece)")),
    ("gpu", 24, _per(_GPU, _DAY)),
    ("node", 1, _per(_NODE, _HOUR)),
    ("order", 1, rf"(?:{_PER}|/){_HOUR}\s*,?\s*(?:total|in\s+total|all[\s-]in|for\s+(?:all"
                 rf"|the\s+lot|everything|the\s+whole\s+(?:thing|cluster|lot|order|job))"
                 rf"(?:\s+of\s+them)?)"),
    ("hour", 1, rf"(?:{_PER}|/){_HOUR}|hourly|/\s?hr"),
)
_LEAD = (r"(?:(?:up\s+to|at\s+most|max(?:imum)?|no\s+more\s+than|at\s+least|min(?:imum)?|at"
         r"|for|paying|pay|willing\s+to\s+pay|bid(?:ding)?|limit|cap|reserve(?:\s+price)?"
         r"|floor|price|@)\s*:?\s*)?")
_RATE = re.compile(rf"(?<![\w]){_LEAD}(?:{MONEY})\s*(?P<unit>"
                   + "|".join(f"(?P<u{i}>{u[2]})" for i, u in enumerate(_UNITS)) + ")")
_TOTALS = tuple(re.compile(p) for p in (
    rf"(?<![\w])(?:(?:total|overall)\s+)?budget(?:\s+(?:of|is|:))?\s*(?:up\s+to\s+|of\s+)?{MONEY}",
    rf"(?<![\w])spend(?:ing)?\s+(?:up\s+to\s+|at\s+most\s+|no\s+more\s+than\s+)?{MONEY}"
    rf"(?:\s*(?:total|in\s+total|overall|all[\s-]in|for\s+(?:it\s+)?all))?",
    rf"(?<![\w])pay(?:ing)?\s+(?:up\s+to\s+|at\s+most\s+|no\s+more\s+than\s+)?{MONEY}"
    rf"\s*(?:total|in\s+total|overall|all[\s-]in|for\s+(?:it\s+)?all)",
    rf"(?<![\w])(?:a\s+)?total\s+(?:of\s+|budget\s+of\s+)?(?:up\s+to\s+)?{MONEY}",
    rf"(?<![\w]){_LEAD}{MONEY}\s*(?:total|in\s+total|budget|all[\s-]in|overall|for\s+(?:the\s+)?"
    rf"(?:whole\s+thing|everything|all\s+of\s+it|the\s+lot|(?:whole\s+)?job|whole\s+order))",
))
_BARE = re.compile(rf"(?<![\w]){_LEAD}{MONEY}(?!\s*(?:/|per\s|an?\s|every\s))")
FOREIGN = re.compile(r"[€£¥]|(?<![\w])(?:eur|euros?|gbp|pounds?|yen)(?![\w])")


@dataclass(frozen=True, slots=True)
class Rate:
    """An amount per `per` ("gpu", "node", "order" or "hour"/"" when unstated) per `hours`."""

    amount: Decimal
    per: str
    hours: int = 1


def _amount(m: re.Match[str]) -> Decimal:
    for g, k in (("a", "ka"), ("b", "kb"), ("c", "kc")):
        if m[g]:
            return Decimal(m[g].replace(",", "")) * _K[m[k] or ""]
    raise AssertionError("MONEY matched without an amount")


def read_prices(scan: Scan) -> None:
    """Read budgets ("budget $10k"), hourly rates, then amounts with no unit."""
    for pattern in _TOTALS:
        for m in scan.find(pattern):
            scan.take(m.start(), m.end(), "budget", _amount(m))
    for m in scan.find(_RATE):
        i = next(i for i in range(len(_UNITS)) if m[f"u{i}"])
        per, hours, _ = _UNITS[i]
        scan.take(m.start(), m.end(), "rate", Rate(_amount(m), per, hours))
    for m in scan.find(_BARE):
        scan.take(m.start(), m.end(), "rate", Rate(_amount(m), ""))
