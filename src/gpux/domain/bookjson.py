"""Read and write auction books in the `gpu-auction/1` JSON format.

Reading collects every problem, each with its JSON path and the value seen, before it
gives up: a user fixing a book should see all that is wrong at once.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from gpux.domain.book import MAX_MONEY, MAX_SLOTS, Alternative, Ask, Bid, Book, Leg, Pool
from gpux.domain.errors import InvalidBook, InvalidValue, Problem
from gpux.domain.money import is_micro_exact

BOOK_FORMAT = "gpu-auction/1"
# Above this many legs in all, a book is refused before any work is spent on it.
MAX_TOTAL_LEGS = 2_000_000

T = TypeVar("T")


class _Reader:
    """Typed field access that records a problem instead of raising."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        self._rounded = 0

    def fail(self, path: str, message: str, value: object) -> None:
        self.problems.append(Problem(path, message, value))

    def obj(self, value: object, path: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.fail(path, "must be an object", value)
        return None

    def array(self, doc: dict[str, Any], key: str, path: str) -> list[Any] | None:
        value = doc.get(key)
        if isinstance(value, list):
            return value
        self.fail(f"{path}{key}", "must be a list", value)
        return None

    def integer(self, doc: dict[str, Any], key: str, path: str) -> int | None:
        value = doc.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        self.fail(f"{path}{key}", "must be an integer", value)
        return None

    def string(self, doc: dict[str, Any], key: str, path: str) -> str | None:
        value = doc.get(key)
        if isinstance(value, str) and value:
            return value
        self.fail(f"{path}{key}", "must be a non-empty string", value)
        return None

    def number(self, doc: dict[str, Any], key: str, path: str) -> Decimal | None:
        value = doc.get(key)
        amount = _decimal(value)
        if amount is None:
            self.fail(f"{path}{key}", "must be a number", value)
            return None
        # Past MAX_MONEY the value is refused anyway, and quantizing it would overflow.
        if abs(amount) <= MAX_MONEY and not is_micro_exact(amount):
            self._rounded += 1
            amount = amount.quantize(Decimal("0.000001"))
        return amount

    def strings(self, doc: dict[str, Any], key: str, path: str) -> tuple[str, ...] | None:
        if key not in doc or doc[key] is None:
            return None
        value = doc[key]
        if (isinstance(value, list) and value
                and all(isinstance(v, str) and v for v in value)):
            return tuple(value)
        self.fail(f"{path}{key}", "must be a non-empty list of strings", value)
        return None

    def build(self, path: str, make: Callable[[], T]) -> T | None:
        try:
            return make()
        except InvalidValue as err:
            for problem in err.problems:
                self.fail(f"{path}{problem.path}", problem.message, problem.value)
            return None

    def finish_warnings(self) -> None:
        if self._rounded:
            self.warnings.append(
                f"{self._rounded} amount(s) had digits below one micro-unit and were rounded")


def _items(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _raw_id(item: object) -> str | None:
    item_id = item.get("id") if isinstance(item, dict) else None
    return item_id if isinstance(item_id, str) else None


def _decimal(value: object) -> Decimal | None:
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


def _read_pool(r: _Reader, raw: object, path: str) -> Pool | None:
    doc = r.obj(raw, path)
    if doc is None:
        return None
    fields = (r.string(doc, "id", f"{path}."), r.string(doc, "provider", f"{path}."),
              r.string(doc, "gpu", f"{path}."), r.string(doc, "region", f"{path}."),
              r.number(doc, "uptime", f"{path}."))
    if any(f is None for f in fields):
        return None
    return r.build(f"{path}.", lambda: Pool(*fields))  # type: ignore[arg-type]


def _read_ask(r: _Reader, raw: object, path: str) -> Ask | None:
    doc = r.obj(raw, path)
    if doc is None:
        return None
    p = f"{path}."
    fields = (r.string(doc, "id", p), r.string(doc, "seller", p), r.string(doc, "pool", p),
              r.integer(doc, "gpus", p), r.integer(doc, "start", p), r.integer(doc, "end", p),
              r.number(doc, "price", p))
    if any(f is None for f in fields):
        return None
    return r.build(p, lambda: Ask(*fields))  # type: ignore[arg-type]


def _read_leg(r: _Reader, raw: object, path: str) -> Leg | None:
    doc = r.obj(raw, path)
    if doc is None:
        return None
    p = f"{path}."
    gpus, duration = r.integer(doc, "gpus", p), r.integer(doc, "duration", p)
    offset = r.integer(doc, "offset", p) if "offset" in doc else 0
    min_uptime = r.number(doc, "min_uptime", p) if doc.get("min_uptime") is not None else None
    filters = (r.strings(doc, "gpu", p), r.strings(doc, "regions", p), r.strings(doc, "pools", p))
    if gpus is None or duration is None or offset is None:
        return None
    if doc.get("min_uptime") is not None and min_uptime is None:
        return None
    return r.build(p, lambda: Leg(gpus, duration, offset, filters[0], filters[1], min_uptime,
                                  filters[2]))


def _read_alternative(r: _Reader, raw: object, path: str) -> Alternative | None:
    doc = r.obj(raw, path)
    if doc is None:
        return None
    p = f"{path}."
    value = r.number(doc, "value", p)
    earliest, latest = r.integer(doc, "earliest_start", p), r.integer(doc, "latest_end", p)
    raw_legs = r.array(doc, "legs", p)
    legs = [_read_leg(r, leg, f"{p}legs[{i}]") for i, leg in enumerate(raw_legs or [])]
    if value is None or earliest is None or latest is None or raw_legs is None:
        return None
    good = tuple(g for g in legs if g is not None)
    if len(good) < len(legs):
        # Still check the alternative's own fields against the legs that could be read (a
        # span over fewer legs is never longer, so this reports nothing false).
        if good:
            r.build(p, lambda: Alternative(value, earliest, latest, good))
        return None
    return r.build(p, lambda: Alternative(value, earliest, latest, good))


def _read_bid(r: _Reader, raw: object, path: str) -> Bid | None:
    doc = r.obj(raw, path)
    if doc is None:
        return None
    p = f"{path}."
    bid_id, buyer = r.string(doc, "id", p), r.string(doc, "buyer", p)
    raw_alts = r.array(doc, "alternatives", p)
    alts = [_read_alternative(r, a, f"{p}alternatives[{i}]")
            for i, a in enumerate(raw_alts or [])]
    if bid_id is None or buyer is None or raw_alts is None or any(a is None for a in alts):
        return None
    return r.build(p, lambda: Bid(bid_id, buyer, tuple(a for a in alts if a is not None)))


def _check_unique(r: _Reader, section: str, ids: list[str | None]) -> None:
    seen: set[str] = set()
    for i, item_id in enumerate(ids):
        if item_id is None:
            continue
        if item_id in seen:
            r.fail(f"{section}[{i}].id", "duplicates an earlier id", item_id)
        seen.add(item_id)


def _check_cross(r: _Reader, slots: int, pool_ids: set[str] | None, pools: list[Pool | None],
                 asks: list[Ask | None], bids: list[Bid | None]) -> None:
    # pool_ids holds the ids of pools that failed to read too (None: no list of pools at all),
    # so a broken pool is reported once, not again by every ask and leg that names it.
    pool_by_id = {p.id: p for p in pools if p is not None}
    for i, ask in enumerate(asks):
        if ask is None:
            continue
        if pool_ids is not None and ask.pool not in pool_ids:
            r.fail(f"asks[{i}].pool", "names no pool of the book", ask.pool)
        if ask.end > slots:
            r.fail(f"asks[{i}].end", f"must be at most slots ({slots})", ask.end)
    for i, bid in enumerate(bids):
        if bid is None:
            continue
        for k, alt in enumerate(bid.alternatives):
            path = f"bids[{i}].alternatives[{k}]"
            if alt.latest_end > slots:
                r.fail(f"{path}.latest_end", f"must be at most slots ({slots})", alt.latest_end)
            for j, leg in enumerate(alt.legs):
                for pool_id in leg.pools or ():
                    if pool_ids is not None and pool_id not in pool_ids:
                        r.fail(f"{path}.legs[{j}].pools", "names no pool of the book", pool_id)
                if not any(leg.matches(p) for p in pool_by_id.values()):
                    r.warnings.append(f"{path}.legs[{j}]: no pool meets its filters")


def read_book(doc: object) -> Book:
    """Build a Book from a parsed `gpu-auction/1` document, or raise InvalidBook listing all."""
    r = _Reader()
    top = r.obj(doc, "$")
    if top is None:
        raise InvalidBook(r.problems)
    if top.get("format") != BOOK_FORMAT:
        r.fail("format", f"must be {BOOK_FORMAT!r}", top.get("format"))
    slots = r.integer(top, "slots", "")
    if slots is not None and not 1 <= slots <= MAX_SLOTS:
        r.fail("slots", f"must be between 1 and {MAX_SLOTS}", slots)
        slots = None
    raw_pools = r.array(top, "pools", "") or []
    raw_asks = r.array(top, "asks", "") or []
    raw_bids = r.array(top, "bids", "") or []
    total_legs = sum(len(_items(a.get("legs"))) for b in raw_bids if isinstance(b, dict)
                     for a in _items(b.get("alternatives")) if isinstance(a, dict))
    if total_legs > MAX_TOTAL_LEGS:
        r.fail("bids", f"hold more than {MAX_TOTAL_LEGS} legs in all", total_legs)
        raise InvalidBook(r.problems)
    pools = [_read_pool(r, p, f"pools[{i}]") for i, p in enumerate(raw_pools)]
    asks = [_read_ask(r, a, f"asks[{i}]") for i, a in enumerate(raw_asks)]
    bids = [_read_bid(r, b, f"bids[{i}]") for i, b in enumerate(raw_bids)]
    for section, items in (("pools", raw_pools), ("asks", raw_asks), ("bids", raw_bids)):
        _check_unique(r, section, [_raw_id(x) for x in items])
    pool_ids = ({i for i in map(_raw_id, raw_pools) if i is not None}
                if isinstance(top.get("pools"), list) else None)
    if slots is not None:
        _check_cross(r, slots, pool_ids, pools, asks, bids)
    if r.problems or slots is None:
        raise InvalidBook(r.problems)
    r.finish_warnings()
    return r.build("", lambda: Book(
        slots, tuple(p for p in pools if p is not None), tuple(a for a in asks if a is not None),
        tuple(b for b in bids if b is not None), tuple(r.warnings))) or _raise(r)


def _raise(r: _Reader) -> Book:
    raise InvalidBook(r.problems)


def _leg_doc(leg: Leg) -> dict[str, object]:
    doc: dict[str, object] = {"gpus": leg.gpus, "duration": leg.duration, "offset": leg.offset}
    if leg.gpu is not None:
        doc["gpu"] = list(leg.gpu)
    if leg.regions is not None:
        doc["regions"] = list(leg.regions)
    if leg.min_uptime is not None:
        doc["min_uptime"] = leg.min_uptime
    if leg.pools is not None:
        doc["pools"] = list(leg.pools)
    return doc


def book_to_doc(book: Book) -> dict[str, object]:
    """The `gpu-auction/1` document of a Book (money as Decimal, for an exact JSON encoder)."""
    return {
        "format": BOOK_FORMAT,
        "slots": book.slots,
        "pools": [{"id": p.id, "provider": p.provider, "gpu": p.gpu, "region": p.region,
                   "uptime": p.uptime} for p in book.pools],
        "asks": [{"id": a.id, "seller": a.seller, "pool": a.pool, "gpus": a.gpus,
                  "start": a.start, "end": a.end, "price": a.price} for a in book.asks],
        "bids": [{"id": b.id, "buyer": b.buyer, "alternatives": [
            {"value": alt.value, "earliest_start": alt.earliest_start,
             "latest_end": alt.latest_end, "legs": [_leg_doc(g) for g in alt.legs]}
            for alt in b.alternatives]} for b in book.bids],
    }
