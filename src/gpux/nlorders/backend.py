"""An optional model backend: a proposed parse for text the grammar cannot read.

A `ParseProposer` (an LLM behind `gpux.adapters.llm`, or a fake in tests) proposes an order
document in the shape of `to_doc`. `from_doc` reads it through the same self-checking
dataclasses as the grammar's output, so a proposal is held to every rule a parse is: canonical
names, whole-hour UTC windows that start no earlier than the next whole hour, exact money (a
float is refused) and a price that is stated, never assumed. `parse_with_fallback` asks the
proposer only when the grammar raises `UnreadableOrder`, and marks what it returns with a
`model` warning so the user checks it before it is placed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import NoReturn, Protocol, TypeVar

from gpux.domain.book import Pool
from gpux.domain.catalog import GPU_MODELS, REGIONS
from gpux.domain.errors import InvalidValue
from gpux.nlorders.errors import UnreadableOrder
from gpux.nlorders.lexicon import NUM
from gpux.nlorders.order import (
    Alternative,
    BuyOrder,
    Explained,
    Leg,
    ParsedOrder,
    SellOrder,
    iso,
)
from gpux.nlorders.parser import MAX_TEXT, parse
from gpux.nlorders.times import ceil_hour

MODEL_WARNING = "model: parsed by the model backend; check every field"
MICRO = Decimal("0.000001")
_BUY = {"side", "alternatives", "explanation", "warnings"}
_SELL = {"side", "pool", "gpus", "start", "end", "price", "explanation", "warnings"}
_ALTERNATIVE = {"value", "earliest_start", "latest_end", "legs"}
_LEG = {"gpus", "duration_hours", "offset_hours", "gpu", "regions", "min_uptime"}
_T = TypeVar("_T")


class ParseProposer(Protocol):
    """Something that proposes an order document (the `to_doc` shape) for order text."""

    def propose(self, text: str, now: datetime) -> dict[str, object]:
        """A proposed order document for `text` written at `now`; raises if it has none."""
        ...


def _refuse(path: str, message: str, value: object) -> NoReturn:
    raise UnreadableOrder(path, f"{message}, was {value!r}")


def _fields(doc: object, path: str, allowed: set[str], required: set[str]) -> dict[str, object]:
    if not isinstance(doc, dict):
        _refuse(path or "order", "must be a JSON object", doc)
    prefix = f"{path}." if path else ""
    for key in doc:
        if key not in allowed:
            _refuse(f"{prefix}{key}", f"is not a field here (fields: {', '.join(sorted(allowed))})",
                    doc[key])
    for key in sorted(required - doc.keys()):
        what = "a price is never assumed" if key in ("value", "price") else "it is required"
        raise UnreadableOrder(f"{prefix}{key}", f"is missing; {what}")
    return doc


def _money(value: object, path: str) -> Decimal:
    if isinstance(value, float):
        _refuse(path, "must be exact (a string or a JSON number read as Decimal), not a float",
                value)
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        _refuse(path, "must be an amount in USD", value)
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        _refuse(path, "must be an amount in USD, such as \"2.40\"", value)
    if not amount.is_finite():
        _refuse(path, "must be a finite amount", value)
    if amount != amount.quantize(MICRO):
        _refuse(path, "must have at most 6 decimal places (millionths of a dollar)", value)
    return amount


def _int(value: object, path: str) -> int:
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if type(value) is not int:
        _refuse(path, "must be an integer", value)
    return value


def _time(value: object, path: str, not_before: datetime | None = None) -> datetime:
    if not isinstance(value, str):
        _refuse(path, "must be an ISO 8601 time such as \"2026-12-07T00:00:00Z\"", value)
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        _refuse(path, "must be an ISO 8601 time such as \"2026-12-07T00:00:00Z\"", value)
    if t.tzinfo is None:
        _refuse(path, "must name its time zone (UTC: end it with Z)", value)
    t = t.astimezone(UTC)
    if not_before is not None and t < not_before:
        _refuse(path, f"must not be before {iso(not_before)}, the next whole hour", value)
    return t


def _names(value: object, path: str, known: tuple[str, ...]) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        _refuse(path, f"must be a list of names from ({', '.join(known)})", value)
    return tuple(value)


def _ordered(values: tuple[str, ...] | None, known: tuple[str, ...]) -> tuple[str, ...] | None:
    return tuple(k for k in known if k in values) if values is not None else None


def _checked(path: str, make: Callable[[], _T]) -> _T:
    """Build a self-checking dataclass, naming the failing field by its path in the document."""
    try:
        return make()
    except InvalidValue as err:
        prefix = f"{path}." if path else ""
        first, *more = err.problems
        also = "".join(f"; {prefix}{p}" for p in more)
        raise UnreadableOrder(f"{prefix}{first.path}",
                              f"{first.message}, was {first.value!r}{also}") from err


def _leg(doc: object, path: str) -> Leg:
    d = _fields(doc, path, _LEG, {"gpus", "duration_hours"})
    gpus = _int(d["gpus"], f"{path}.gpus")
    hours = _int(d["duration_hours"], f"{path}.duration_hours")
    offset = _int(d.get("offset_hours", 0), f"{path}.offset_hours")
    gpu = _names(d.get("gpu"), f"{path}.gpu", GPU_MODELS)
    regions = _names(d.get("regions"), f"{path}.regions", REGIONS)
    up = d.get("min_uptime")
    uptime = None if up is None else _money(up, f"{path}.min_uptime")
    leg = _checked(path, lambda: Leg(gpus, hours, offset, gpu, regions, uptime))
    return dataclasses.replace(leg, gpu=_ordered(leg.gpu, GPU_MODELS),
                               regions=_ordered(leg.regions, REGIONS))


def _alternative(doc: object, path: str, first: datetime) -> Alternative:
    d = _fields(doc, path, _ALTERNATIVE, _ALTERNATIVE)
    value = _money(d["value"], f"{path}.value")
    start = _time(d["earliest_start"], f"{path}.earliest_start", first)
    end = _time(d["latest_end"], f"{path}.latest_end")
    legs = d["legs"]
    if not isinstance(legs, list):
        _refuse(f"{path}.legs", "must be a list of legs", legs)
    read = tuple(_leg(leg, f"{path}.legs[{i}]") for i, leg in enumerate(legs))
    return _checked(path, lambda: Alternative(value, start, end, read))


def _notes(d: dict[str, object]) -> tuple[tuple[Explained, ...], tuple[str, ...]]:
    said = d.get("explanation", [])
    if not isinstance(said, list):
        _refuse("explanation", "must be a list", said)
    explained = []
    for i, e in enumerate(said):
        f = _fields(e, f"explanation[{i}]", {"field", "value", "words"}, {"field", "words"})
        if not all(isinstance(v, str) for v in f.values()):
            _refuse(f"explanation[{i}]", "must hold strings", e)
        explained.append(Explained(str(f["field"]), str(f.get("value", "")), str(f["words"])))
    warnings = d.get("warnings", [])
    if not (isinstance(warnings, list) and all(isinstance(w, str) for w in warnings)):
        _refuse("warnings", "must be a list of strings", warnings)
    return tuple(explained), tuple(warnings)


def from_doc(doc: object, now: datetime, *, pools: Sequence[Pool] | None = None) -> ParsedOrder:
    """Read a proposed order document through the grammar's checks, or raise UnreadableOrder."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    first = ceil_hour(now.astimezone(UTC))
    side = doc.get("side") if isinstance(doc, dict) else None
    if side == "sell":
        d = _fields(doc, "", _SELL, _SELL - {"explanation", "warnings"})
        pool = d["pool"]
        if not isinstance(pool, str):
            _refuse("pool", "must be a pool id", pool)
        if pools is not None and pool not in {p.id for p in pools}:
            _refuse("pool", "is not a registered pool", pool)
        gpus = _int(d["gpus"], "gpus")
        start = _time(d["start"], "start", first)
        end = _time(d["end"], "end")
        price = _money(d["price"], "price")
        explained, warnings = _notes(d)
        return _checked("", lambda: SellOrder(pool, gpus, start, end, price, explained,
                                              warnings))
    if side != "buy":
        _refuse("side", 'must be "buy" or "sell"', side if isinstance(doc, dict) else doc)
    d = _fields(doc, "", _BUY, {"side", "alternatives"})
    alternatives = d["alternatives"]
    if not isinstance(alternatives, list):
        _refuse("alternatives", "must be a list of alternatives", alternatives)
    read = tuple(_alternative(a, f"alternatives[{k}]", first) for k, a in enumerate(alternatives))
    explained, warnings = _notes(d)
    return _checked("", lambda: BuyOrder(read, explained, warnings))


_NUMBER = re.compile(NUM, re.IGNORECASE)


def _price_is_quoted(order: ParsedOrder, text: str) -> None:
    """Where the grammar found no price, the model's must cite words of the text that hold a
    number: a model asked to fill the gap must not invent one."""
    lowered = " ".join(text.lower().split())
    for e in order.explanation:
        if any(k in e.field for k in ("value", "price")):
            words = " ".join(e.words.lower().split())
            if words and words in lowered and _NUMBER.search(words):
                return
    raise ValueError("the price it proposes is not quoted from the text (explanation of "
                     "`value` or `price` citing the words that state it)")


def parse_with_fallback(text: str, now: datetime, proposer: ParseProposer | None, *,
                        pools: Sequence[Pool] | None = None) -> ParsedOrder:
    """The grammar's order; failing that, the proposer's, checked and marked as the model's."""
    try:
        return parse(text, now, pools=pools)
    except UnreadableOrder as err:
        # Empty text has nothing to read and an over-long one is not sent anywhere.
        if proposer is None or not text.strip() or len(text) > MAX_TEXT:
            raise
        failure = err
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    try:
        order = from_doc(proposer.propose(text, now), now, pools=pools)
        if failure.field == "price":
            _price_is_quoted(order, text)
    except Exception as err:  # any failure of the model is reported, the grammar's error kept
        raise UnreadableOrder(failure.field, f"{failure.reason} (the model backend could not "
                              f"read it either: {err})", failure.words) from err
    return dataclasses.replace(order, warnings=(
        MODEL_WARNING, f"model: the grammar could not read it ({failure})", *order.warnings))
