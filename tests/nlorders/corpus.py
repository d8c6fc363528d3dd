"""The labelled corpus: load it, parse a case, compare every field."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from gpux.nlorders.errors import UnreadableOrder
from gpux.nlorders.order import to_doc
from gpux.nlorders.parser import parse

CORPUS = Path(__file__).with_name("corpus.jsonl")


def cases() -> list[dict[str, Any]]:
    """Every case of the corpus, in file order."""
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line, parse_float=Decimal) for line in lines if line.strip()]


def _now(case: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(case["now"].replace("Z", "+00:00"))


def _norm(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        return Decimal(value).normalize()
    return value


def fields(doc: dict[str, Any]) -> dict[str, Any]:
    """Flatten an order doc into field path -> value (warnings reduced to their kinds)."""
    out: dict[str, Any] = {}

    def walk(prefix: str, v: Any) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                walk(f"{prefix}.{k}" if prefix else k, x)
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            out[f"{prefix}#"] = len(v)
            for i, x in enumerate(v):
                walk(f"{prefix}[{i}]", x)
        else:
            out[prefix] = _norm(v)

    for key, v in doc.items():
        if key == "warnings":
            out["warnings"] = sorted(w.split(":")[0] for w in v)
        elif key != "explanation":
            walk(key, v)
    return out


def expected_fields(case: dict[str, Any]) -> dict[str, Any]:
    """The case's expectation in the same flat form (values in strings made Decimals)."""
    doc = json.loads(json.dumps(case["expect"], default=str), parse_float=Decimal)
    for key in ("value", "price"):
        for holder in [doc, *doc.get("alternatives", [])]:
            if key in holder:
                holder[key] = Decimal(str(holder[key]))
    for a in doc.get("alternatives", []):
        for leg in a["legs"]:
            if leg.get("min_uptime") is not None:
                leg["min_uptime"] = Decimal(str(leg["min_uptime"]))
            for k in [k for k, v in leg.items() if v is None]:
                del leg[k]
    out = fields(doc)
    out["warnings"] = sorted(case["expect"]["warnings"])
    return out


def run(case: dict[str, Any]) -> dict[str, Any]:
    """Parse one case: its flat fields, or {"error.field", "error.quote"} when refused."""
    try:
        return fields(to_doc(parse(case["text"], _now(case))))
    except (UnreadableOrder, ValueError) as err:
        if not isinstance(err, UnreadableOrder):
            return {"error.field": "crash", "error.quote": repr(err)}
        return {"error.field": err.field, "error.quote": err.words, "error.message": str(err)}


def expected(case: dict[str, Any]) -> dict[str, Any]:
    """What a careful reader expects for this case, flat."""
    if "error" in case:
        return {"error.field": case["error"]["field"], "error.quote": case["error"]["quote"]}
    return expected_fields(case)
