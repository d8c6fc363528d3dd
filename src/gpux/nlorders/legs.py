"""Which words belong to which leg, and which legs are substitutes.

Every GPU count starts a leg ("64 H100s ... plus 8 L40S"), or a substitute when an "or"
("otherwise", "alternatively") comes before it. A model named on its own joins the models
of the clause before it ("H100 or H200") while that clause has no price yet, and starts a
substitute once it has one ("... at $2.40; A100s would do at $1.50"). Durations, prices,
regions and tiers belong to the clause they follow; one that follows a substitute but is
missing from its leg ("... or A100s at $1.50, for three days") belongs to the leg. A leg
runs after the ones before it when "then" ("followed by", "after that") leads to it, and
at the same time otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gpux.nlorders.errors import UnreadableOrder
from gpux.nlorders.quantities import Quantity
from gpux.nlorders.scan import READ, Mention, Scan

_SUB = re.compile(r"(?<![\w])(?:or|otherwise|alternatively|else|instead|failing\s+that"
                  r"|fallback|or\s+else)(?![\w])")
_SEQ = re.compile(r"(?<![\w])(?:then|followed\s+by|after\s+that|afterwards|after\s+which"
                  r"|once\s+(?:that|it)(?:'s|\s+is)\s+done)(?![\w])")
_SEQ_AFTER = re.compile(r"(?<![\w])(?:afterwards|after\s+that|later|after\s+the\s+first)(?![\w])")
_NEW_LEG = re.compile(r"(?<![\w])(?:plus|and\s+also|as\s+well\s+as|along\s+with|together\s+with"
                      r"|alongside|in\s+addition)(?![\w])")
_LIST = re.compile(r"[\s,/]*(?:(?:or|and|and/or|or\s+maybe|or\s+even|maybe|possibly)[\s,/]*)?")


@dataclass(slots=True)
class Clause:
    """The words of one leg or substitute, gathered in text order."""

    start: int
    end: int
    base: int | None = None  # the leg a substitute stands in for
    quantity: Quantity | None = None
    models: tuple[str, ...] | None = None
    sequential: bool = False
    said: dict[str, list[Mention]] = field(default_factory=dict)
    words: dict[str, str] = field(default_factory=dict)

    def first(self, kind: str) -> Mention | None:
        """The first mention of `kind` in this clause."""
        found = self.said.get(kind)
        return found[0] if found else None


def _add_model(clause: Clause, found: tuple[str, ...], words: str) -> None:
    clause.models = tuple(dict.fromkeys((*(clause.models or ()), *found)))
    clause.words["gpu"] = f"{clause.words['gpu']} / {words}" if "gpu" in clause.words else words


def split(scan: Scan) -> tuple[list[Clause], list[Clause]]:
    """Legs and substitutes, each with the mentions that belong to it."""
    low = scan.low
    legs: list[Clause] = []
    subs: list[Clause] = []
    current: Clause | None = None
    pending: list[Mention] = []
    placed: set[int] = set()
    for m in scan.of("quantity", "model"):
        _gather(scan, legs, subs, placed, upto=m.start)
        gap = scan.work[current.end:m.start].replace(READ, " ") if current else ""
        words = scan.words(m.start, m.end)
        if m.kind == "quantity":
            assert isinstance(m.value, Quantity)
            clause = Clause(m.start, m.end, quantity=m.value, models=m.value.models)
            if m.value.models:
                clause.words["gpu"] = words
            clause.words["gpus"] = words
            if current is not None and _SUB.search(gap):
                clause.base = current.base if current.base is not None else len(legs) - 1
                subs.append(clause)
            else:
                clause.sequential = bool(legs and _SEQ.search(gap))
                legs.append(clause)
            current = clause
            continue
        assert isinstance(m.value, tuple)
        if current is None:
            pending.append(m)
        elif current.models is None or ("rate" not in current.said and _LIST.fullmatch(gap)):
            _add_model(current, m.value, words)
            current.end = m.end
        elif _NEW_LEG.search(gap) or _SEQ.search(gap):
            raise UnreadableOrder("gpus", "how many of these?", words)
        else:
            base = current.base if current.base is not None else len(legs) - 1
            current = Clause(m.start, m.end, base=base, models=m.value)
            current.words["gpu"] = words
            subs.append(current)
    if not legs:
        what = scan.words(pending[0].start, pending[0].end) if pending else ""
        raise UnreadableOrder("gpus", "how many GPUs? say e.g. \"16 H100s\" or \"two nodes\"",
                              what)
    for m in pending:
        assert isinstance(m.value, tuple)
        _add_model(legs[0], m.value, scan.words(m.start, m.end))
    _gather(scan, legs, subs, placed, upto=len(scan.text))
    _share_trailing(legs)
    for i, leg in enumerate(legs[1:], 1):
        nxt = min((c.start for c in legs[i + 1:] + subs if c.start > leg.start),
                  default=len(low))
        if _SEQ_AFTER.search(scan.work_low(leg.end, nxt)):
            leg.sequential = True
    return legs, subs


def _gather(scan: Scan, legs: list[Clause], subs: list[Clause], placed: set[int],
            upto: int) -> None:
    """Give each unplaced mention before `upto` to the clause it follows."""
    clauses = sorted(legs + subs, key=lambda c: c.start)
    if not clauses:
        return
    for m in scan.of("rate", "duration", "region", "uptime"):
        if m.start >= upto or m.start in placed:
            continue
        placed.add(m.start)
        owner = next((c for c in reversed(clauses) if c.start <= m.start), clauses[0])
        if owner.base is not None and m.kind != "rate":
            leg = legs[owner.base]
            if m.kind not in leg.said:
                owner = leg
        owner.said.setdefault(m.kind, []).append(m)
        owner.words.setdefault(m.kind, scan.words(m.start, m.end))


def _share_trailing(legs: list[Clause]) -> None:
    """A region or tier said after everything of the last leg is said of every leg."""
    if len(legs) < 2:
        return
    last = legs[-1]
    own = [m.start for k in ("duration", "rate") for m in last.said.get(k, [])]
    for kind in ("region", "uptime"):
        said = last.said.get(kind, [])
        if said and own and said[0].start > max(own):
            for leg in legs[:-1]:
                leg.said.setdefault(kind, list(said))
