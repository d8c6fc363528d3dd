"""Tiny auction books and results for the clearing tests, written as the JSON a user sends.

Builders take money as strings (exact, like JSON parsed with Decimal) and fill in dull
defaults: one slot, pools of H100 in us-east, asks sold by the provider 'dc'.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import TypeVar

from gpux.clearing.allocation import Allocation
from gpux.domain.book import Book
from gpux.domain.bookjson import read_book

Doc = dict[str, object]
V = TypeVar("V")


def pool(
    pool_id: str,
    *,
    gpu: str = "H100",
    region: str = "us-east",
    uptime: str = "99.9",
    provider: str = "dc",
) -> Doc:
    return {
        "id": pool_id,
        "provider": provider,
        "gpu": gpu,
        "region": region,
        "uptime": Decimal(uptime),
    }


def ask(
    ask_id: str,
    pool_id: str,
    gpus: int,
    price: str,
    *,
    seller: str = "dc",
    start: int = 0,
    end: int = 1,
) -> Doc:
    return {
        "id": ask_id,
        "seller": seller,
        "pool": pool_id,
        "gpus": gpus,
        "start": start,
        "end": end,
        "price": Decimal(price),
    }


def leg(gpus: int, duration: int = 1, offset: int = 0, **filters: object) -> Doc:
    return {"gpus": gpus, "duration": duration, "offset": offset, **filters}


def alternative(value: str, *legs: Doc, earliest_start: int = 0, latest_end: int = 1) -> Doc:
    return {
        "value": Decimal(value),
        "earliest_start": earliest_start,
        "latest_end": latest_end,
        "legs": list(legs),
    }


def bid(bid_id: str, buyer: str, *alternatives: Doc) -> Doc:
    return {"id": bid_id, "buyer": buyer, "alternatives": list(alternatives)}


def simple_bid(bid_id: str, buyer: str, gpus: int, value: str, **filters: object) -> Doc:
    """A bid for `gpus` GPUs in slot 0 of a one-slot book, as one alternative of one leg."""
    return bid(bid_id, buyer, alternative(value, {"gpus": gpus, "duration": 1, **filters}))


def book(*, pools: list[Doc], asks: list[Doc], bids: list[Doc], slots: int = 1) -> Book:
    return read_book(
        {"format": "gpu-auction/1", "slots": slots, "pools": pools, "asks": asks, "bids": bids}
    )


def parse(text: str) -> Doc:
    """Parse JSON as the worker does: every non-integer number as an exact Decimal."""
    doc: Doc = json.loads(text, parse_float=Decimal)
    return doc


# The example of the format document, with the surplus it states made consistent:
# 1920 - 16 GPUs * 48 slots * 1.85 = 499.2.
SPEC_BOOK = """{
  "format": "gpu-auction/1", "slots": 168,
  "pools": [{"id": "acme-h100-use", "provider": "acme", "gpu": "H100", "region": "us-east",
             "uptime": 99.99}],
  "asks": [{"id": "a1", "seller": "acme", "pool": "acme-h100-use", "gpus": 64, "start": 0,
            "end": 168, "price": 1.85}],
  "bids": [{"id": "b1", "buyer": "lab-7", "alternatives": [
    {"value": 1920.0, "earliest_start": 0, "latest_end": 72, "legs": [
      {"gpus": 16, "duration": 48, "offset": 0, "gpu": ["H100", "H200"],
       "regions": ["us-east", "us-west"], "min_uptime": 99.9}]},
    {"value": 1100.0, "earliest_start": 0, "latest_end": 96, "legs": [
      {"gpus": 16, "duration": 48, "offset": 0, "gpu": ["A100"]}]}]}]
}"""

SPEC_RESULT = """{
  "format": "gpu-auction-result/1", "status": "optimal", "surplus": 499.2, "bound": 499.2,
  "accepted": [{"bid": "b1", "alternative": 0, "start": 3, "payment": 1420.8,
                "legs": [{"pool": "acme-h100-use", "start": 3, "end": 51, "gpus": 16}]}],
  "supplied": [{"ask": "a1", "start": 3, "end": 51, "gpus": 16, "revenue": 1420.8}],
  "prices": [{"pool": "acme-h100-use", "start": 0, "end": 168, "price": 1.85}],
  "stats": {"solve_seconds": 0.12}
}"""

# A richer market over 12 slots. lab-7 both buys (b1) and resells GPUs of acme's pool (a2);
# mlco's bid b2 has two legs one after the other in two pools; b3 is left out.
#   acme pool use:  slots 0-1: 6 (b2)   slot 2: 10 (b2 + b1)   slots 3-5: 4 (b1)
#   acme delivery:  a1 2, 2, 6, 4, 4, 4 and a2 (lab-7) 4, 4, 4: b1 never gets lab-7's GPUs
#   bolt pool:      slots 3-4: 2 (b2), delivered by a3
#   payments at 2.00 (acme) and 1.00 (bolt): b1 4*4*2 = 32, b2 6*3*2 + 2*2*1 = 40
#   surplus 100 + 200 - (2*2*2 + 6*1*2 + 4*3*2 + 4*3*1.5 + 2*2*1) = 300 - 66 = 234
MARKET_BOOK = """{
  "format": "gpu-auction/1", "slots": 12,
  "pools": [
    {"id": "acme-h100-use", "provider": "acme", "gpu": "H100", "region": "us-east",
     "uptime": 99.99},
    {"id": "bolt-a100-euw", "provider": "bolt", "gpu": "A100-80GB", "region": "eu-west",
     "uptime": 99.9},
    {"id": "cheap-h100-usw", "provider": "cheap", "gpu": "H100", "region": "us-west",
     "uptime": 99.0}],
  "asks": [
    {"id": "a1", "seller": "acme", "pool": "acme-h100-use", "gpus": 8, "start": 0, "end": 12,
     "price": 2.00},
    {"id": "a2", "seller": "lab-7", "pool": "acme-h100-use", "gpus": 4, "start": 0, "end": 6,
     "price": 1.50},
    {"id": "a3", "seller": "bolt", "pool": "bolt-a100-euw", "gpus": 8, "start": 2, "end": 10,
     "price": 1.00}],
  "bids": [
    {"id": "b1", "buyer": "lab-7", "alternatives": [
      {"value": 100.00, "earliest_start": 0, "latest_end": 12, "legs": [
        {"gpus": 4, "duration": 4, "offset": 0, "gpu": ["H100", "H200"], "min_uptime": 99.9}]},
      {"value": 50.00, "earliest_start": 0, "latest_end": 12, "legs": [
        {"gpus": 4, "duration": 4, "offset": 0, "gpu": ["A100-80GB"]}]}]},
    {"id": "b2", "buyer": "mlco", "alternatives": [
      {"value": 200.00, "earliest_start": 0, "latest_end": 12, "legs": [
        {"gpus": 6, "duration": 3, "offset": 0, "gpu": ["H100"]},
        {"gpus": 2, "duration": 2, "offset": 3, "regions": ["eu-west"],
         "pools": ["bolt-a100-euw"]}]}]},
    {"id": "b3", "buyer": "tiny", "alternatives": [
      {"value": 1.00, "earliest_start": 0, "latest_end": 12, "legs": [
        {"gpus": 1, "duration": 1, "gpu": ["H100"]}]}]}]
}"""

MARKET_RESULT = """{
  "format": "gpu-auction-result/1", "status": "feasible", "surplus": 234.00, "bound": 301.00,
  "accepted": [
    {"bid": "b1", "alternative": 0, "start": 2, "payment": 32.00,
     "legs": [{"pool": "acme-h100-use", "start": 2, "end": 6, "gpus": 4}]},
    {"bid": "b2", "alternative": 0, "start": 0, "payment": 40.00,
     "legs": [{"pool": "acme-h100-use", "start": 0, "end": 3, "gpus": 6},
              {"pool": "bolt-a100-euw", "start": 3, "end": 5, "gpus": 2}]}],
  "supplied": [
    {"ask": "a1", "start": 0, "end": 2, "gpus": 2, "revenue": 8.00},
    {"ask": "a1", "start": 2, "end": 3, "gpus": 6, "revenue": 12.00},
    {"ask": "a1", "start": 3, "end": 6, "gpus": 4, "revenue": 24.00},
    {"ask": "a2", "start": 0, "end": 3, "gpus": 4, "revenue": 24.00},
    {"ask": "a3", "start": 3, "end": 5, "gpus": 2, "revenue": 4.00}],
  "prices": [
    {"pool": "acme-h100-use", "start": 0, "end": 12, "price": 2.00},
    {"pool": "bolt-a100-euw", "start": 2, "end": 5, "price": 1.00},
    {"pool": "bolt-a100-euw", "start": 5, "end": 10, "price": 0.80}],
  "stats": {"solve_seconds": 0.01}
}"""


def _ranges(by_slot: dict[int, V]) -> list[tuple[int, int, V]]:
    ranges: list[tuple[int, int, V]] = []
    for t in sorted(by_slot):
        if ranges and ranges[-1][1] == t and ranges[-1][2] == by_slot[t]:
            ranges[-1] = (ranges[-1][0], t + 1, by_slot[t])
        else:
            ranges.append((t, t + 1, by_slot[t]))
    return ranges


def result_at_floors(book: Book, surplus: Decimal, allocation: Allocation) -> Doc:
    """The result document of an allocation, each traded pool and slot priced at its floor.

    The floor is the highest reserve among the asks supplying there; slots with an ask but no
    trade get the lowest reserve offered there.
    """
    asks = {a.id: a for a in book.asks}
    price: dict[tuple[str, int], Decimal] = {}
    for a in book.asks:
        for t in range(a.start, a.end):
            price[a.pool, t] = min(price.get((a.pool, t), a.price), a.price)
    traded: dict[tuple[str, int], Decimal] = {}
    for ask_id, by_slot in allocation.supply.items():
        a = asks[ask_id]
        for t, gpus in by_slot.items():
            if gpus > 0:
                traded[a.pool, t] = max(traded.get((a.pool, t), a.price), a.price)
    price.update(traded)
    bids = {b.id: b for b in book.bids}
    accepted: list[Doc] = []
    for pl in allocation.placements:
        legs = bids[pl.bid].alternatives[pl.alternative].legs
        rows = [
            {
                "pool": pool_id,
                "start": pl.start + g.offset,
                "end": pl.start + g.end_offset,
                "gpus": g.gpus,
            }
            for g, pool_id in zip(legs, pl.pools, strict=True)
        ]
        payment = sum(
            (
                g.gpus * price[p, t]
                for g, p in zip(legs, pl.pools, strict=True)
                for t in range(pl.start + g.offset, pl.start + g.end_offset)
            ),
            Decimal(0),
        )
        accepted.append(
            {
                "bid": pl.bid,
                "alternative": pl.alternative,
                "start": pl.start,
                "payment": payment,
                "legs": rows,
            }
        )
    supplied: list[Doc] = []
    for ask_id, by_slot in allocation.supply.items():
        a = asks[ask_id]
        for start, end, gpus in _ranges({t: n for t, n in by_slot.items() if n > 0}):
            revenue = gpus * sum((price[a.pool, t] for t in range(start, end)), Decimal(0))
            supplied.append(
                {"ask": ask_id, "start": start, "end": end, "gpus": gpus, "revenue": revenue}
            )
    by_pool: dict[str, dict[int, object]] = defaultdict(dict)
    for (pool_id, t), p in price.items():
        by_pool[pool_id][t] = p
    prices = [
        {"pool": pool_id, "start": start, "end": end, "price": p}
        for pool_id, by_slot in by_pool.items()
        for start, end, p in _ranges(by_slot)
    ]
    return {
        "format": "gpu-auction-result/1",
        "status": "optimal",
        "surplus": surplus,
        "bound": surplus,
        "accepted": accepted,
        "supplied": supplied,
        "prices": prices,
        "stats": {},
    }
