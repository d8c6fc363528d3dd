"""Checks of a raw `gpu-auction/1` book dict against every validity rule of the spec.

Written against the plain dict, independently of the domain parser, so the generators are
held to the contract itself.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from gpux.domain.catalog import GPU_MODELS, REGIONS, UPTIME_TIERS

BookCheck = Callable[[dict[str, Any]], list[str]]
FILTERS = ("gpu", "regions", "min_uptime", "pools")


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _floats(node: object, path: str = "book") -> list[str]:
    if isinstance(node, float):
        return [f"{path} is a float, {node!r}"]
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _floats(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _floats(v, f"{path}[{i}]")]
    return []


def _matches(pool: dict[str, Any], leg: dict[str, Any]) -> bool:
    return (
        ("gpu" not in leg or pool["gpu"] in leg["gpu"])
        and ("regions" not in leg or pool["region"] in leg["regions"])
        and ("min_uptime" not in leg or pool["uptime"] >= leg["min_uptime"])
        and ("pools" not in leg or pool["id"] in leg["pools"])
    )


def book_problems(book: dict[str, Any]) -> list[str]:
    """List every way the book breaks the spec's validity rules or the house money types."""
    problems = _floats(book)
    slots = book["slots"]
    if book["format"] != "gpu-auction/1" or not _is_int(slots) or slots < 1:
        problems.append(f"bad header {book['format']!r} {slots!r}")
    for kind in ("pools", "asks", "bids"):
        ids = [x["id"] for x in book[kind]]
        if len(ids) != len(set(ids)):
            problems.append(f"duplicate {kind} ids")
    pools = {p["id"]: p for p in book["pools"]}
    for p in pools.values():
        if p["gpu"] not in GPU_MODELS or p["region"] not in REGIONS:
            problems.append(f"pool {p['id']} has a non-canonical name")
        if p["uptime"] not in UPTIME_TIERS or not isinstance(p["uptime"], Decimal):
            problems.append(f"pool {p['id']} has uptime {p['uptime']!r}")
    for a in book["asks"]:
        ints = all(_is_int(a[k]) for k in ("gpus", "start", "end"))
        if a["pool"] not in pools or not ints or not 0 <= a["start"] < a["end"] <= slots:
            problems.append(f"ask {a['id']} is misplaced: {a}")
        elif a["gpus"] < 1 or not isinstance(a["price"], Decimal) or a["price"] < 0:
            problems.append(f"ask {a['id']} has bad gpus or price: {a}")
    for b in book["bids"]:
        if not b["alternatives"]:
            problems.append(f"bid {b['id']} has no alternatives")
        for i, alt in enumerate(b["alternatives"]):
            where = f"bid {b['id']} alternative {i}"
            start, end = alt["earliest_start"], alt["latest_end"]
            if not (_is_int(start) and _is_int(end) and 0 <= start < end <= slots):
                problems.append(f"{where} has window {start}..{end}")
            if not isinstance(alt["value"], Decimal) or alt["value"] <= 0:
                problems.append(f"{where} has value {alt['value']!r}")
            if not alt["legs"]:
                problems.append(f"{where} has no legs")
            for leg in alt["legs"]:
                problems += _leg_problems(where, leg, end - start, pools)
    return problems


def _leg_problems(where: str, leg: dict[str, Any], width: int, pools: dict[str, Any]) -> list[str]:
    problems = []
    if set(leg) - {"gpus", "duration", "offset", *FILTERS}:
        problems.append(f"{where} has unknown leg keys {sorted(leg)}")
    shape = [leg["gpus"], leg["duration"], leg["offset"]]
    if not all(_is_int(x) for x in shape) or leg["gpus"] < 1 or leg["duration"] < 1:
        problems.append(f"{where} has leg {leg}")
    elif leg["offset"] < 0 or leg["offset"] + leg["duration"] > width:
        problems.append(f"{where} has a leg that does not fit its window: {leg}")
    for key in ("gpu", "regions", "pools"):
        if key in leg and (not isinstance(leg[key], list) or not leg[key]):
            problems.append(f"{where} has an empty or non-list filter {key}")
    if not set(leg.get("gpu", [])) <= set(GPU_MODELS):
        problems.append(f"{where} filters on a non-canonical GPU {leg['gpu']}")
    if not set(leg.get("regions", [])) <= set(REGIONS):
        problems.append(f"{where} filters on a non-canonical region {leg['regions']}")
    if "min_uptime" in leg and leg["min_uptime"] not in UPTIME_TIERS:
        problems.append(f"{where} filters on uptime {leg['min_uptime']!r}")
    if not any(_matches(p, leg) for p in pools.values()):
        problems.append(f"{where} has a leg no pool matches: {leg}")
    return problems


@pytest.fixture
def check_book() -> BookCheck:
    """The spec's validity rules as a function from a raw book to its problems."""
    return book_problems
