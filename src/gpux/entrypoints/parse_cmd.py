"""`gpux parse TEXT [--now ISO8601]`: print the order a text describes, as JSON."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any


def _now(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an ISO 8601 time, was {text!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def cmd_parse(args: argparse.Namespace) -> int:
    """Parse order text and print the order (an UnreadableOrder exits 2, quoting the words)."""
    from gpux.entrypoints.jsonio import dumps
    from gpux.nlorders.order import to_doc
    from gpux.nlorders.parser import parse

    now = args.now or datetime.now(UTC)
    print(dumps(to_doc(parse(args.text, now))))
    return 0


def register(sub: Any) -> None:
    """Add the `parse` subcommand to the `gpux` subparsers."""
    p = sub.add_parser("parse", help="read an order written in plain English, print it (JSON)")
    p.add_argument("text", help='the order, e.g. "need 64 H100s for 3 days at $2.40/hr"')
    p.add_argument("--now", type=_now, default=None,
                   help="reference time for relative phrases (ISO 8601, default: now, UTC)")
    p.set_defaults(run=cmd_parse)
