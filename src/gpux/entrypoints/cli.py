"""The `gpux` command line.

Exit status: 0 on success, 1 when `gpux check` finds violations (and, for the trading
commands, when the exchange refuses or cannot be reached: see `apicmd`), 2 on bad input (a
bad file or argument), with a message on stderr naming what was wrong.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gpux.domain.errors import ExchangeError

EXIT_VIOLATIONS = 1
EXIT_USAGE = 2
# `gpux clear`: seconds kept per bid for writing the result (measured: 0.8 s for the
# 27,348 placements accepted of 50,000 bids), and the least time clearing is given.
WRITE_SECONDS_PER_BID = 2e-5
MIN_CLEAR_SECONDS = 0.5


class UsageError(Exception):
    """A bad argument or unreadable file: exit status 2."""


def _read_json(path: str) -> Any:
    from gpux.entrypoints.jsonio import loads

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise UsageError(f"{path}: cannot read: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise UsageError(f"{path}: not UTF-8 text: {err.reason} at byte {err.start}") from err
    try:
        return loads(text)
    except ValueError as err:
        raise UsageError(f"{path}: not valid JSON: {err}") from err


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, was {text!r}") from None
        if not 0 < value < math.inf:
            raise argparse.ArgumentTypeError(f"must be positive and finite, was {text!r}")
        return value
    return parse


def cmd_clear(args: argparse.Namespace) -> int:
    """Clear one book and print its result."""
    # The limit holds for the command: building the parser, loading the solver's libraries
    # (OR-Tools, HiGHS, numpy: about 1 s on a slow machine), reading the book (5 s at
    # 50,000 bids) and writing the result (1 s there) come out of it, and clearing gets
    # the rest.
    started = getattr(args, "started", time.monotonic())
    from gpux.clearing.auction import clear
    from gpux.clearing.solver import SolveParams
    from gpux.domain.bookjson import read_book
    from gpux.domain.result import result_to_doc
    from gpux.entrypoints.jsonio import dumps

    book = read_book(_read_json(args.book))
    left = (args.time_limit - (time.monotonic() - started)
            - WRITE_SECONDS_PER_BID * len(book.bids))
    params = SolveParams(time_limit=max(left, MIN_CLEAR_SECONDS), workers=args.workers,
                         seed=args.seed)
    print(dumps(result_to_doc(clear(book, params))))
    if getattr(args, "whole_process", False):
        # Tearing down the clearing's objects at exit (hundreds of thousands: 0.7 s at
        # 10,000 bids on a slow machine) would come after the limit: the process leaves now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Check a result against its book; print every violation."""
    from gpux.clearing.check import check_result
    from gpux.domain.bookjson import read_book

    book = read_book(_read_json(args.book))
    result = _read_json(args.result)
    problems = check_result(book, result)
    for line in problems:
        print(line)
    if problems:
        print(f"{len(problems)} violation(s)", file=sys.stderr)
        return EXIT_VIOLATIONS
    print("ok: the result meets every rule of gpu-auction/1")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Write a generated book to stdout or a file."""
    from gpux.entrypoints.jsonio import dumps

    if args.kind == "market":
        from gpux.marketgen.market import generate_market

        doc = generate_market(args.bids, args.seed, slots=args.slots)
    else:
        from gpux.marketgen.cats import generate_cats_arbitrary

        doc = generate_cats_arbitrary(args.goods, args.bids, args.seed)
    text = dumps(doc, indent=None)
    if args.out:
        try:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        except OSError as err:
            raise UsageError(f"{args.out}: cannot write: {err.strerror}") from err
    else:
        print(text)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Print a human summary of a result."""
    from gpux.clearing.check import check_result
    from gpux.domain.bookjson import read_book
    from gpux.entrypoints.report import report

    book = read_book(_read_json(args.book))
    result = _read_json(args.result)
    # The summary trusts the result's rows, so a result that breaks the rules is refused.
    problems = check_result(book, result)
    if problems:
        raise UsageError(f"{args.result}: not a valid result for this book, "
                         f"{len(problems)} violation(s) (see gpux check), first: {problems[0]}")
    print(report(book, result))
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    top = argparse.ArgumentParser(prog="gpux", description="GPU compute exchange")
    sub = top.add_subparsers(dest="command", required=True)

    clear = sub.add_parser("clear", help="clear an auction book, print the result (JSON)")
    clear.add_argument("book", help="book file in gpu-auction/1 format, or - for stdin")
    clear.add_argument("--time-limit", type=_positive(float), default=30.0,
                       help="wall-clock seconds for the whole command: reading the book, "
                            "clearing, writing the result (default 30)")
    clear.add_argument("--workers", type=_positive(int), default=2,
                       help="CP-SAT worker threads (default 2)")
    clear.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    clear.set_defaults(run=cmd_clear)

    check = sub.add_parser("check", help="check a result against its book, every rule")
    check.add_argument("book")
    check.add_argument("result")
    check.set_defaults(run=cmd_check)

    rep = sub.add_parser("report", help="summarise a result: volume, prices, fills")
    rep.add_argument("book")
    rep.add_argument("result")
    rep.set_defaults(run=cmd_report)

    gen = sub.add_parser("generate", help="generate a book")
    gen.add_argument("kind", choices=["market", "cats"],
                     help="market: a realistic GPU market; cats: CATS 'arbitrary'")
    gen.add_argument("--bids", type=_positive(int), required=True)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--slots", type=_positive(int), default=168,
                     help="hourly slots in the horizon (market only, default 168)")
    gen.add_argument("--goods", type=_positive(int), default=100, help="goods (cats only)")
    gen.add_argument("--out", help="write to this file instead of stdout")
    gen.set_defaults(run=cmd_generate)

    from gpux.entrypoints import (
        account_cmd,
        funds_cmd,
        market_cmd,
        outage_cmd,
        parse_cmd,
        service_cmd,
        trade_cmd,
    )

    service_cmd.register(sub, _positive)
    parse_cmd.register(sub)
    trade_cmd.register(sub)
    account_cmd.register(sub)
    market_cmd.register(sub)
    funds_cmd.register(sub)
    outage_cmd.register(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    started = time.monotonic()  # building the parser loads every command's module
    args = parser().parse_args(argv)
    args.started = started
    # run as the process itself (not called in-process with arguments, as by tests)
    args.whole_process = argv is None
    try:
        return int(args.run(args))
    except UsageError as err:
        print(f"gpux {args.command}: {err}", file=sys.stderr)
        return EXIT_USAGE
    except ExchangeError as err:
        print(f"gpux {args.command}: {err}", file=sys.stderr)
        return EXIT_USAGE
    except ValidationError as err:  # settings from the environment (GPUX_*), or a value
        for e in err.errors():
            where = ".".join(str(part) for part in e["loc"]) or err.title.lower()
            value = e.get("input")
            shown = f", was {value!r}" if isinstance(value, str | int | float) else ""
            print(f"gpux {args.command}: {where}: {e['msg']}{shown}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
