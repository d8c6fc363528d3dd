"""`gpux outage`: report an outage or a curtailment of your pool, through the API.

Every contract held in those hours is credited by the pool's uptime tier from the provider's
account, once (docs/settlement.md); repeating the same report changes nothing.
"""

from __future__ import annotations

import argparse
from typing import Any

from gpux.entrypoints.apicmd import (
    InputError,
    add_api_flags,
    api_command,
    client_of,
    parse_time,
    print_json,
    print_table,
    short,
)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, was {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be positive, was {text}")
    return value


@api_command
def cmd_outage(args: argparse.Namespace) -> int:
    """Report an outage (or curtailment) and print the credits it paid."""
    starts, ends = parse_time("--from", args.starts, whole_hour=True), parse_time(
        "--to", args.ends, whole_hour=True)
    if ends <= starts:
        raise InputError("--to", f"must be after --from ({args.starts}), was {args.ends!r}")
    with client_of(args) as gx:
        outage = gx.report_outage(args.pool, starts, ends, args.gpus, args.reason or "")
    if args.json:
        print_json(outage)
        return 0
    what = "outage" if outage.kind == "outage" else f"curtailment of {outage.gpus} GPUs"
    print(f"{what} #{outage.id} of pool {outage.pool}, {short(outage.starts_at)} to "
          f"{short(outage.ends_at)}: {outage.contracts} contract(s) credited {outage.paid} "
          f"(owed {outage.owed})")
    rows: list[list[Any]] = [[c.contract_id, c.holder_id, c.gpu_hours, c.owed, c.paid,
                              c.shortfall] for c in outage.credits or []]
    if rows:
        print_table("credits", ["contract", "holder", "GPU-hours lost", "owed", "paid",
                                "shortfall"], rows)
    return 0


def register(sub: Any) -> None:
    """Add `gpux outage`."""
    p = sub.add_parser(
        "outage", help="report an outage or curtailment of your pool (credits its holders)",
        description="Record that POOL was (or will be) down from --from to --to (whole UTC "
        "hours, --to exclusive): all of it, or --gpus of its GPUs (a curtailment). Every "
        "contract held in those hours is credited by the pool's uptime tier from your "
        "account, once; the same report repeated changes nothing. Providers report their "
        "own pools; an admin any.")
    p.add_argument("pool", help="the pool's id")
    p.add_argument("--from", dest="starts", required=True, metavar="TIME",
                   help="the first hour down, e.g. 2026-12-01T10:00Z")
    p.add_argument("--to", dest="ends", required=True, metavar="TIME",
                   help="the hour it is back up (exclusive)")
    p.add_argument("--gpus", type=_positive_int,
                   help="GPUs down (a curtailment); omit for the whole pool")
    p.add_argument("--reason", help="free text, at most 500 characters")
    add_api_flags(p)
    p.set_defaults(run=cmd_outage)
