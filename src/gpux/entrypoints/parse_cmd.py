"""`gpux parse TEXT [--now ISO8601] [--model]`: print the order a text describes, as JSON."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

EXIT_USAGE = 2


def _now(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an ISO 8601 time, was {text!r}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def cmd_parse(args: argparse.Namespace) -> int:
    """Parse order text and print the order (an UnreadableOrder exits 2, quoting the words).

    With `--model`, text the grammar cannot read goes to the model backend named by
    `GPUX_LLM_URL`; its proposal is checked like a parse and carries a `model` warning.
    """
    from gpux.entrypoints.jsonio import dumps
    from gpux.nlorders.backend import ParseProposer, parse_with_fallback
    from gpux.nlorders.order import to_doc

    proposer: ParseProposer | None = None
    if args.model:
        from gpux.adapters.llm import LLMError, proposer_from_env

        try:
            proposer = proposer_from_env()
        except LLMError as err:
            print(f"gpux parse: {err}", file=sys.stderr)
            return EXIT_USAGE
        if proposer is None:
            print("gpux parse: --model needs GPUX_LLM_URL (an OpenAI-compatible endpoint) and "
                  "GPUX_LLM_MODEL to be set", file=sys.stderr)
            return EXIT_USAGE
    now = args.now or datetime.now(UTC)
    print(dumps(to_doc(parse_with_fallback(args.text, now, proposer))))
    return 0


def register(sub: Any) -> None:
    """Add the `parse` subcommand to the `gpux` subparsers."""
    p = sub.add_parser("parse", help="read an order written in plain English, print it (JSON)")
    p.add_argument("text", help='the order, e.g. "need 64 H100s for 3 days at $2.40/hr"')
    p.add_argument("--now", type=_now, default=None,
                   help="reference time for relative phrases (ISO 8601, default: now, UTC)")
    p.add_argument("--model", action="store_true",
                   help="when the grammar cannot read the text, ask the model backend at "
                        "GPUX_LLM_URL (its proposal is checked and marked with a warning)")
    p.set_defaults(run=cmd_parse)
