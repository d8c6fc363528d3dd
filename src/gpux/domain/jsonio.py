"""Exact JSON at the edges: Decimal in, Decimal out, never through a float."""

from __future__ import annotations

import json
import re
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
    # The C encoder writes everything, each Decimal as a string of its exact digits between
    # two NULs; the marks (and quotes) come off after. A document with a NUL of its own in a
    # string would confuse the two, so it is written the slow way.
    marked = 0

    def mark(value: object) -> str:
        nonlocal marked
        if isinstance(value, Decimal) and value.is_finite():
            marked += 1
            return _MARK + _number(value) + _MARK
        raise TypeError(f"not JSON serializable: {type(value).__name__}")

    try:
        text = json.dumps(doc, indent=indent, default=mark)
    except (TypeError, ValueError):
        return _dumps_slow(doc, indent)
    text, found = _MARKED.subn(_unmark, text)
    if found != marked or _ESCAPED_NUL in text:
        return _dumps_slow(doc, indent)
    return text


def _dumps_slow(doc: object, indent: int | None = 2) -> str:
    """`dumps` one value at a time: the reference, and the way for documents with NULs."""
    return "".join(_encode(doc, indent, 0))


_MARK = "\x00"
_ESCAPED_NUL = "\\u0000"
_MARKED = re.compile(r'"\\u0000([-0-9.]+)\\u0000"')


def _unmark(m: re.Match[str]) -> str:
    return m[1]


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
