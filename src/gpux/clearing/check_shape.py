"""The shape of a `gpu-auction-result/1` document: its fields and their types, nothing more.

The validator reads a result in two steps: this module turns the parsed JSON into the plain
result rows of `gpux.domain.result` and lists every field that is missing, mistyped or not
part of the format; `gpux.clearing.check` then judges those rows against the book.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from gpux.domain.result import RESULT_FORMAT, AcceptedBid, LegFill, PriceRange, Supplied

STATUSES = ("optimal", "feasible")
_TOP_FIELDS = frozenset(
    {"format", "status", "surplus", "bound", "accepted", "supplied", "prices", "stats"}
)
_ACCEPTED_FIELDS = frozenset({"bid", "alternative", "start", "payment", "legs"})
_LEG_FIELDS = frozenset({"pool", "start", "end", "gpus"})
_SUPPLIED_FIELDS = frozenset({"ask", "start", "end", "gpus", "revenue"})
_PRICE_FIELDS = frozenset({"pool", "start", "end", "price"})


@dataclass(slots=True)
class Shape:
    """A result document read field by field; an entry is None where it was malformed.

    `whole` says that every entry of `accepted`, `supplied` and `prices` could be read, so
    that checks summing over all of them are meaningful.
    """

    problems: list[str] = field(default_factory=list)
    whole: bool = True
    status: str | None = None
    surplus: Decimal | None = None
    bound: Decimal | None = None
    accepted: list[AcceptedBid | None] = field(default_factory=list)
    supplied: list[Supplied | None] = field(default_factory=list)
    prices: list[PriceRange | None] = field(default_factory=list)


def shown(value: object) -> str:
    """A value as a message shows it: numbers plainly, everything else as Python spells it."""
    if isinstance(value, Decimal):
        return str(value)
    return repr(value)


class _Fields:
    """Typed reads of one JSON object's fields, each failure recorded under its path."""

    def __init__(
        self, problems: list[str], doc: Mapping[str, object], path: str, known: frozenset[str]
    ) -> None:
        self._problems = problems
        self._doc = doc
        self._prefix = f"{path}." if path else ""
        self.ok = True
        for key in sorted(set(doc) - known, key=str):
            self._fail(str(key), "is not a field of the result format", doc[key])

    def _fail(self, key: str, message: str, value: object) -> None:
        self.ok = False
        self._problems.append(f"{self._prefix}{key}: {message}, was {shown(value)}")

    def _get(self, key: str) -> tuple[bool, object]:
        if key not in self._doc:
            self.ok = False
            self._problems.append(f"{self._prefix}{key}: is missing")
            return False, None
        return True, self._doc[key]

    def integer(self, key: str) -> int:
        found, value = self._get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if found:
            self._fail(key, "must be an integer", value)
        return 0

    def number(self, key: str) -> Decimal:
        found, value = self._get(key)
        amount = _finite_decimal(value)
        if amount is not None:
            return amount
        if found:
            self._fail(key, "must be a finite number", value)
        return Decimal(0)

    def string(self, key: str) -> str:
        found, value = self._get(key)
        if isinstance(value, str) and value:
            return value
        if found:
            self._fail(key, "must be a non-empty string", value)
        return ""

    def objects(self, key: str) -> list[Mapping[str, object] | None] | None:
        """A list field whose items must be objects; None stands for an item that is not."""
        found, value = self._get(key)
        if not isinstance(value, list):
            if found:
                self._fail(key, "must be a list", value)
            return None
        items: list[Mapping[str, object] | None] = []
        for i, item in enumerate(value):
            if isinstance(item, Mapping):
                items.append(item)
            else:
                self._fail(f"{key}[{i}]", "must be an object", item)
                items.append(None)
        return items

    def mapping(self, key: str) -> None:
        found, value = self._get(key)
        if found and not isinstance(value, Mapping):
            self._fail(key, "must be an object", value)


def _finite_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        try:
            amount = Decimal(repr(value))
        except InvalidOperation:
            return None
        return amount if amount.is_finite() else None
    return None


def _read_leg(problems: list[str], doc: Mapping[str, object], path: str) -> LegFill | None:
    f = _Fields(problems, doc, path, _LEG_FIELDS)
    leg = LegFill(f.string("pool"), f.integer("start"), f.integer("end"), f.integer("gpus"))
    return leg if f.ok else None


def _read_accepted(problems: list[str], doc: Mapping[str, object], path: str) -> AcceptedBid | None:
    f = _Fields(problems, doc, path, _ACCEPTED_FIELDS)
    bid, alternative = f.string("bid"), f.integer("alternative")
    start, payment = f.integer("start"), f.number("payment")
    legs = [
        None if raw is None else _read_leg(problems, raw, f"{path}.legs[{j}]")
        for j, raw in enumerate(f.objects("legs") or ())
    ]
    if not f.ok or any(leg is None for leg in legs):
        return None
    return AcceptedBid(
        bid, alternative, start, payment, tuple(leg for leg in legs if leg is not None)
    )


def _read_supplied(problems: list[str], doc: Mapping[str, object], path: str) -> Supplied | None:
    f = _Fields(problems, doc, path, _SUPPLIED_FIELDS)
    row = Supplied(
        f.string("ask"),
        f.integer("start"),
        f.integer("end"),
        f.integer("gpus"),
        f.number("revenue"),
    )
    return row if f.ok else None


def _read_price(problems: list[str], doc: Mapping[str, object], path: str) -> PriceRange | None:
    f = _Fields(problems, doc, path, _PRICE_FIELDS)
    row = PriceRange(f.string("pool"), f.integer("start"), f.integer("end"), f.number("price"))
    return row if f.ok else None


def read_shape(doc: object) -> Shape:
    """Read a parsed result document into rows, listing every missing or mistyped field."""
    shape = Shape()
    if not isinstance(doc, Mapping):
        shape.problems.append(f"$: must be an object, was {shown(doc)}")
        shape.whole = False
        return shape
    p = shape.problems
    f = _Fields(p, doc, "", _TOP_FIELDS)
    fmt = f.string("format")
    if fmt and fmt != RESULT_FORMAT:
        p.append(f"format: must be {RESULT_FORMAT!r}, was {fmt!r}")
    status = f.string("status")
    if status and status not in STATUSES:
        p.append(f"status: must be 'optimal' or 'feasible', was {status!r}")
    shape.status = status if status in STATUSES else None
    seen = len(p)
    surplus = f.number("surplus")
    shape.surplus, seen = (surplus if len(p) == seen else None), len(p)
    bound = f.number("bound")
    shape.bound = bound if len(p) == seen else None
    accepted, supplied, prices = f.objects("accepted"), f.objects("supplied"), f.objects("prices")
    shape.accepted = [
        None if raw is None else _read_accepted(p, raw, f"accepted[{i}]")
        for i, raw in enumerate(accepted or ())
    ]
    shape.supplied = [
        None if raw is None else _read_supplied(p, raw, f"supplied[{k}]")
        for k, raw in enumerate(supplied or ())
    ]
    shape.prices = [
        None if raw is None else _read_price(p, raw, f"prices[{m}]")
        for m, raw in enumerate(prices or ())
    ]
    shape.whole = (
        accepted is not None
        and supplied is not None
        and prices is not None
        and all(e is not None for e in (*shape.accepted, *shape.supplied, *shape.prices))
    )
    f.mapping("stats")
    return shape
