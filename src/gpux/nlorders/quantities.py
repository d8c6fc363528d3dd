"""How many GPUs of which model, and for how long.

Quantities: digits or words ("64", "sixty-four", "a dozen"), "8x H100", "H100 x 8", nodes
("two nodes of 8", "a node of H200": a node is 8 GPUs unless the text gives its size).
Durations: "48h", "3 days", "a week", "a fortnight", "1.5 days"; a month is 30 days.
"straight", "in a row", "contiguous" only confirm what every leg is: one contiguous run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from gpux.nlorders.errors import UnreadableOrder
from gpux.nlorders.lexicon import MODEL, NUM, NUM_UNIT, ONE, models, number
from gpux.nlorders.scan import Scan

NODE_SIZE = 8

_N = rf"(?:{NUM_UNIT}|{ONE}(?![\w]))"
_NODE = r"(?:full\s+)?(?:nodes?|servers?|machines?|box(?:es)?|hosts?|instances?)"
_GPU = r"(?:gpus?|gpsu|gpu's|gpus'|cards?|accelerators?|chips?|devices?)"
_M = rf"(?:\s*(?:of\s+|with\s+)?(?:(?:{NUM}|{ONE})\s*x?\s*)?\(?(?P<model>{MODEL})\)?)?"
_NODES = re.compile(
    rf"(?<![\w])(?P<n>{_N})\s*(?:x\s*)?{_NODE}"
    rf"(?:\s*(?:of|with|x|,)?\s*\(?(?P<size>{NUM_UNIT})\s*(?:x\s*)?(?:{_GPU})?\s*(?:each)?\)?)?"
    rf"{_M}(?:\s*\(?(?P<size2>{NUM})\s*(?:{_GPU}|x)?\s*(?:each|per\s+node|apiece)\)?)?")
_GRID = re.compile(rf"(?<![\w])(?P<n>\d+)\s*x\s*(?P<size>\d+)\s*(?:x\s*)?(?P<model>{MODEL})")
_GPUS = re.compile(
    rf"(?<![\w])(?P<n>{_N})\s*(?:x\s*|×\s*|\*\s*)?(?:(?P<model>{MODEL})"
    rf"|{_GPU}(?:\s*(?:of|x)\s+(?P<model2>{MODEL})|\s*\(?(?P<model3>{MODEL})\)?)?(?![\w]))")
_MODEL_FIRST = re.compile(rf"(?P<model>{MODEL})\s*(?:x|×|\*)\s*(?P<n>\d+)(?![\w])")
_MODEL_ONLY = re.compile(MODEL)
_VAGUE = re.compile(rf"(?<![\w])(?:a\s+few|several|some|many|a\s+bunch\s+of|lots\s+of)\s+"
                    rf"(?:{_NODE}|{_GPU}|{MODEL})")

_UNIT_HOURS = {"h": 1, "d": 24, "w": 168, "f": 336, "m": 720}
_DUR_UNIT = r"(?:hours?|hrs?|h|days?|d|weeks?|wks?|w|fortnights?|months?)"
_CONTIG = (r"(?:\s+(?:straight|continuous(?:ly)?|contiguous|uninterrupted|non-?stop|in\s+a\s+row"
           r"|back[\s-]to[\s-]back|without\s+(?:a\s+)?break))?")
_DURATION = re.compile(
    rf"(?<![\w])(?:for\s+)?(?:another\s+|an\s+extra\s+|a\s+further\s+)?(?:(?P<n>{NUM_UNIT})\s*-?\s*"
    rf"(?P<unit>{_DUR_UNIT})(?![\w])|(?P<word>half\s+a\s+day|a\s+day\s+and\s+a\s+half"
    rf"|(?:a|an|one)\s+(?:full\s+|whole\s+|entire\s+)?(?:hour|day|week|fortnight|month)"
    rf"|a\s+fortnight))(?:\s+and\s+a\s+half)?{_CONTIG}")
CONTIGUOUS = re.compile(r"(?<![\w])(?:contiguous(?:ly)?|in\s+one\s+(?:block|go|stretch)"
                        r"|straight|uninterrupted|continuous(?:ly)?|non-?stop)(?![\w])")
SPLITTABLE = re.compile(r"(?<![\w])(?:non-?contiguous|not\s+(?:necessarily\s+)?contiguous"
                        r"|(?:doesn'?t|does\s+not|don'?t|needn'?t|need\s+not)\s+(?:need\s+to\s+)?"
                        r"be\s+contiguous|can\s+be\s+split|in\s+chunks|broken\s+up|with\s+gaps)"
                        r"(?![\w])")


@dataclass(frozen=True, slots=True)
class Quantity:
    """A count of GPUs, the models named with it, and the node size it used if any."""

    gpus: int
    models: tuple[str, ...] | None
    node_size: int | None = None  # given when the text counted nodes
    node_size_stated: bool = False


def _count(words: str) -> Decimal:
    words = words.strip()
    if re.fullmatch(ONE, words):
        return Decimal(1)
    return number(words)


def _whole(value: Decimal, field: str, words: str) -> int:
    if value != value.to_integral_value() or value < 1:
        raise UnreadableOrder(field, "is not a whole, positive number", words)
    return int(value)


def read_quantities(scan: Scan) -> None:
    """Read every GPU count (with its model, if next to it) and every bare model mention."""
    for m in scan.find(_VAGUE):
        raise UnreadableOrder("gpus", "how many exactly?", scan.words(m.start(), m.end()))
    for pattern in (_GRID, _NODES):
        for m in scan.find(pattern):
            stated = m.groupdict().get("size") or m.groupdict().get("size2")
            size = _whole(number(stated), "gpus", m[0]) if stated else NODE_SIZE
            gpus = _whole(_count(m["n"]) * size, "gpus", scan.words(m.start(), m.end()))
            found = models(m["model"]) if m["model"] else None
            scan.take(m.start(), m.end(), "quantity",
                      Quantity(gpus, found, size, stated is not None))
    for pattern in (_GPUS, _MODEL_FIRST):
        for m in scan.find(pattern):
            name = next((g for g in ("model", "model2", "model3") if m.groupdict().get(g)), None)
            words = scan.words(m.start(), m.end())
            gpus = _whole(_count(m["n"]), "gpus", words)
            scan.take(m.start(), m.end(), "quantity",
                      Quantity(gpus, models(m[name]) if name else None))
    for m in scan.find(_MODEL_ONLY):
        scan.take(m.start(), m.end(), "model", models(m[0]))


def read_durations(scan: Scan) -> None:
    """Read every duration into whole hours; say so when one is not whole."""
    for m in scan.find(_DURATION):
        words = scan.words(m.start(), m.end())
        if m["word"]:
            w = m["word"]
            unit = "d" if "day" in w else w.split()[-1]
            count = (Decimal("0.5") if w.startswith("half") else
                     Decimal("1.5") if "and a half" in w else Decimal(1))
        else:
            unit = m["unit"]
            count = number(m["n"])
        if m[0].rstrip().endswith("and a half") and not (m["word"] and "and a half" in m["word"]):
            count += Decimal("0.5")
        hours = count * _UNIT_HOURS["f" if unit.startswith("fort") else unit[0]]
        scan.take(m.start(), m.end(), "duration",
                  (_whole(hours, "duration", words), unit.startswith("month")))
    for m in scan.find(SPLITTABLE):
        scan.take(m.start(), m.end(), "splittable", True)
    for m in scan.find(CONTIGUOUS):
        scan.take(m.start(), m.end(), "contiguous", True)
