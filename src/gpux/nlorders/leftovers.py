"""Words nobody read: harmless chatter, or something the order needed that the grammar missed.

Chatter ("hey team, we'd love ...") is ignored. A leftover run of words that carries meaning
is an error that quotes it: digits, money or percent signs, a model-like name ("V100"), a
foreign currency, words that ask for what a leg cannot say ("every night", "except"), or a
capitalized place after "in" that is not a region the market knows.
"""

from __future__ import annotations

import re

from gpux.domain.catalog import GPU_MODELS, REGIONS
from gpux.nlorders.errors import UnreadableOrder
from gpux.nlorders.lexicon import MODEL_LIKE
from gpux.nlorders.prices import FOREIGN
from gpux.nlorders.scan import READ, Scan

_RUN = re.compile(rf"[^{READ},;.!?()\n]+")
_WORD = re.compile(rf"[^\s{READ}]+")
_MEANING = re.compile(r"[\d$%€£¥]|(?<![\w])(?:except|excluding|every|daily|nightly|weekly"
                      r"|monthly|recurring|weekdays|weekends)(?![\w])")
_EDGE = {"for", "the", "a", "an", "and", "at", "in", "of", "with", "to", "on", "need", "want",
         "please", "i", "we", "by", "is", "are", "it", "about", "around", "roughly", "like",
         "my", "our", "some"}
_PLACE = re.compile(r"(?<![\w])(?:in|near)\s+([A-Z][a-z]{2,})")
_TIME_WORD = re.compile(r"(?<![\w])(?:hours?|hrs?|days?|weeks?|months?|years?|nights?|minutes?"
                        r"|mins?|seconds?|quarters?)(?![\w])")


def _field(words: str) -> tuple[str, str]:
    low = words.lower()
    if FOREIGN.search(low):
        return "price", "is not in USD; give prices in dollars"
    if "$" in low:
        return "price", "could not be read as a price per GPU-hour, per node-hour or in total"
    if "%" in low:
        return "min_uptime", "could not be read as an uptime tier"
    if _TIME_WORD.search(low):
        return "duration", "could not be read as a duration or a window"
    name = next((w for w in low.split() if MODEL_LIKE.fullmatch(w.strip("'s"))), None)
    if name:
        return "gpu", f"is not a GPU model the market lists ({', '.join(GPU_MODELS)})"
    return "order", "could not be read"


def check_leftovers(scan: Scan) -> None:
    """Raise UnreadableOrder quoting the first leftover words that carry meaning."""
    for run in _RUN.finditer(scan.work):
        if not _MEANING.search(run[0]) and not FOREIGN.search(run[0]):
            continue
        words = [w for w in _WORD.finditer(run[0])]
        while words and words[0][0] in _EDGE:
            words.pop(0)
        while words and words[-1][0] in _EDGE:
            words.pop()
        if not words:
            continue
        start, end = run.start() + words[0].start(), run.start() + words[-1].end()
        quoted = scan.words(start, end)
        field, message = _field(quoted)
        raise UnreadableOrder(field, message, quoted)
    for m in _PLACE.finditer(scan.text):
        if READ not in scan.work[m.start(1):m.end(1)] and m[1].lower() not in ("total", "all"):
            raise UnreadableOrder("regions", "is not a region the market lists "
                                  f"({', '.join(REGIONS)})", m[1])
