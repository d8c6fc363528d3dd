"""Order text -> `ParsedOrder`: the one public entry point of the grammar.

    order = parse("need 64 H100s for 3 days next week at $2.40/hr", now)
    doc = to_doc(order)

Recognizers read the text in a fixed order (zone, times, prices, tiers, regions, counts and
models, durations), each blanking what it read; `legs.split` groups what was read into legs
and substitutes; `assemble` builds and checks the order. Words left over that carry meaning
(digits, money, model-like names, exclusions) are an error quoting them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from gpux.domain.book import Pool
from gpux.nlorders.assemble import build_buy, build_sell
from gpux.nlorders.errors import UnreadableOrder
from gpux.nlorders.filters import read_regions, read_uptime
from gpux.nlorders.leftovers import check_leftovers
from gpux.nlorders.order import ParsedOrder
from gpux.nlorders.prices import read_prices
from gpux.nlorders.quantities import read_durations, read_quantities
from gpux.nlorders.scan import Scan
from gpux.nlorders.times import read_times, read_zone

_SELL = re.compile(r"(?<![\w])(?:sell(?:ing)?|offer(?:ing)?|list(?:ing)?"
                   r"|rent(?:ing)?\s+out|leas(?:e|ing)\s+out|for\s+rent|available\s+to\s+rent"
                   r"|ask(?:ing)?\s+(?:price\s+)?)(?![\w])")
_BUY = re.compile(r"(?<![\w])(?:buy(?:ing)?|need|want|looking\s+for|rent|bid)(?![\w])")
_POOL = re.compile(r"(?<![\w])pool\s*(?:id\s*)?[:#]?\s*([a-z0-9][a-z0-9._-]*)")
MAX_TEXT = 4000


def parse(text: str, now: datetime, *, pools: Sequence[Pool] | None = None) -> ParsedOrder:
    """Read order text written at `now` into a buy or sell order, or raise UnreadableOrder."""
    if not text.strip():
        raise UnreadableOrder("order", "is empty; describe what you want to buy or sell")
    if len(text) > MAX_TEXT:
        raise UnreadableOrder("order", f"is longer than {MAX_TEXT} characters")
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    scan = Scan(text)
    sell = _SELL.search(scan.work)
    side = "sell" if sell and not _BUY.search(scan.work[:sell.start()]) else "buy"
    if side == "sell":
        assert sell is not None
        scan.take(sell.start(), sell.end(), "side", "sell")
        _read_pool(scan, pools)
    tz, zone_words = read_zone(scan)
    frame = read_times(scan, now, tz)
    read_prices(scan)
    read_uptime(scan)
    read_regions(scan)
    read_quantities(scan)
    read_durations(scan)
    check_leftovers(scan)
    if side == "sell":
        return build_sell(scan, now, frame, zone_words, pools)
    return build_buy(scan, now, frame, zone_words)


def _read_pool(scan: Scan, pools: Sequence[Pool] | None) -> None:
    for pool in pools or ():
        at = scan.work.find(pool.id.lower())
        if at >= 0:
            scan.take(at, at + len(pool.id), "pool", pool.id)
            return
    for m in scan.find(_POOL):
        scan.take(m.start(), m.end(), "pool", scan.text[m.start(1):m.end(1)])
        return
