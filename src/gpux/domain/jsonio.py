"""Exact JSON at the edges: Decimal in, Decimal out, never through a float."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def loads(text: str) -> Any:
    """Parse JSON with every non-integer number as Decimal."""
    return json.loads(text, parse_float=Decimal)


def _number(d: Decimal) -> str:
    if d == d.to_integral_value():
        return str(int(d))
    # normalize() would round to the context's 28 digits; trimming the text keeps every one.
    return format(d, "f").rstrip("0")


def dumps(doc: object, indent: int | None = 2) -> str:
    """Write JSON with Decimals as exact JSON numbers."""
    return "".join(_encode(doc, indent, 0))


def _encode(doc: object, indent: int | None, depth: int) -> list[str]:
    if isinstance(doc, Decimal):
        return [_number(doc)]
    if isinstance(doc, dict):
        if not doc:
            return ["{}"]
        items = [json.dumps(str(k)) + ": " + "".join(_encode(v, indent, depth + 1))
                 for k, v in doc.items()]
        return [_join(items, "{", "}", indent, depth)]
    if isinstance(doc, list | tuple):
        if not doc:
            return ["[]"]
        items = ["".join(_encode(v, indent, depth + 1)) for v in doc]
        return [_join(items, "[", "]", indent, depth)]
    return [json.dumps(doc)]


def _join(items: list[str], open_: str, close: str, indent: int | None, depth: int) -> str:
    if indent is None:
        return open_ + ", ".join(items) + close
    pad = "\n" + " " * (indent * (depth + 1))
    return open_ + pad + ("," + pad).join(items) + "\n" + " " * (indent * depth) + close
