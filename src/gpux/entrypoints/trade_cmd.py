"""Placing orders from the terminal: `gpux bid` and `gpux ask`, in plain English or with flags,
and `gpux resell` (offering a contract you hold back into the auction).

Plain English (`gpux bid "16 H100 for 48h next week in us-east, $2.40/GPU-h"`): the text goes
to the exchange's `POST /orders/parse`; the order it understood is shown, and it is placed
(with the request the exchange returned) only when the user confirms, or at once with `--yes`.
With flags (`gpux bid --gpus 16 --gpu H100 --hours 48 --between 2026-12-01T00:00Z
2026-12-08T00:00Z --limit-per-gpu-hour 2.40 --region us-east`) the order is placed as given.
Address, key and exit statuses: see `gpux.entrypoints.apicmd`.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

from gpux.entrypoints.apicmd import (
    EXIT_REFUSED,
    InputError,
    add_api_flags,
    api_command,
    client_of,
    parse_time,
    print_json,
    print_table,
    short,
)


def describe(order: dict[str, Any]) -> str:
    """The parsed order as a person reads it."""
    if order["side"] == "sell":
        return (f"SELL {order['gpus']} GPUs of pool {order['pool']} from {order['start']} to "
                f"{order['end']} at no less than ${order['price']} per GPU-hour")
    lines = []
    for i, alt in enumerate(order["alternatives"]):
        head = "BUY" if i == 0 else "OR "
        lines.append(f"{head} for at most ${alt['value']} in total, between "
                     f"{alt['earliest_start']} and {alt['latest_end']}:")
        for leg in alt["legs"]:
            where = ", ".join(leg.get("regions", ["any region"]))
            tier = f", uptime >= {leg['min_uptime']}%" if "min_uptime" in leg else ""
            lines.append(f"      {leg['gpus']} x {'/'.join(leg.get('gpu', ['any GPU']))} for "
                         f"{leg['duration_hours']} h (starting +{leg['offset_hours']} h) in "
                         f"{where}{tier}")
    for w in order.get("warnings", []):
        lines.append(f"  note: {w}")
    return "\n".join(lines)


def _confirm(question: str) -> bool:
    print(question, end="", flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _money(field: str, text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.lstrip("$"))
    except InvalidOperation:
        raise InputError(field, f"must be a decimal amount, was {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise InputError(field, f"must be positive, was {text!r}")
    return value


def _structured(args: argparse.Namespace) -> bool:
    flags = ("gpus", "gpu", "hours", "between", "limit_per_gpu_hour", "value", "region",
             "min_uptime", "pool", "price")
    return any(getattr(args, f, None) is not None for f in flags)


def _required(args: argparse.Namespace, *names: str) -> None:
    for name in names:
        if getattr(args, name, None) is None:
            raise InputError(f"--{name.replace('_', '-')}", "required (or give the order as "
                             "TEXT in plain English)")


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _bid_body(args: argparse.Namespace) -> dict[str, Any]:
    from gpux.client import alternative

    _required(args, "gpus", "hours", "between")
    limit = _money("--limit-per-gpu-hour", args.limit_per_gpu_hour)
    value = _money("--value", args.value)
    if (limit is None) == (value is None):
        raise InputError("--limit-per-gpu-hour", "give a limit per GPU-hour or a --value "
                         "(the most paid in total), one of the two")
    start, end = (parse_time("--between", t) for t in args.between)
    return alternative(gpus=args.gpus, hours=args.hours, earliest_start=start,
                       latest_end=end, gpu=_split(args.gpu), regions=_split(args.region),
                       limit_per_gpu_hour=limit, value=value,
                       min_uptime=_money("--min-uptime", args.min_uptime))


@api_command
def cmd_place(args: argparse.Namespace) -> int:
    """Place a bid or an ask: from flags as given, or from TEXT once confirmed."""
    if args.text is not None and _structured(args):
        raise InputError("text", "give the order as TEXT or as flags, not both")
    if args.text is None and not _structured(args):
        raise InputError("text", "describe the order in plain English, or use the flags "
                         "(see --help)")
    with client_of(args) as gx:
        if args.text is not None:
            placed = _place_text(gx, args)
            if placed is None:
                return EXIT_REFUSED
        elif args.command == "bid":
            placed = gx.bid([_bid_body(args)], args.client_order_id)
        else:
            _required(args, "pool", "gpus", "between", "price")
            start, end = (parse_time("--between", t) for t in args.between)
            price = _money("--price", args.price)
            assert price is not None
            placed = gx.ask(args.pool, args.gpus, start, end, price, args.client_order_id)
    if args.json:
        print_json(placed)
    else:
        again = " (already placed: the same client order id)" if placed.replayed else ""
        print(f"placed: order {placed.id} ({placed.status}), "
              f"client order id {placed.client_order_id}{again}")
    return 0


@api_command
def cmd_resell(args: argparse.Namespace) -> int:
    """Offer all or part of a contract you hold back into the auction."""
    if args.gpus is None or args.gpus <= 0:
        raise InputError("--gpus", f"must be a positive number of GPUs, was {args.gpus}")
    start, end = parse_time("--from", args.start), parse_time("--to", args.end)
    reserve = _money("--reserve", args.reserve)
    assert reserve is not None
    with client_of(args) as gx:
        placed = gx.resell(args.contract, args.gpus, start, end, reserve, args.client_order_id)
    if args.json:
        print_json(placed)
    else:
        again = " (already placed: the same client order id)" if placed.replayed else ""
        print(f"offered: order {placed.id} ({placed.status}) resells {placed.gpus} GPUs of "
              f"contract {args.contract} at ${placed.price}/GPU-hour, client order id "
              f"{placed.client_order_id}{again}")
    return 0


@api_command
def cmd_contracts(args: argparse.Namespace) -> int:
    """List the contracts you hold or provide: live ones (with --all, split ones too)."""
    with client_of(args) as gx:
        page = gx.contracts(limit=args.limit, superseded=True if args.all else None)
    if args.json:
        print_json(page)
        return 0
    print_table("contracts", ["id", "holder", "provider", "pool", "GPUs", "from", "to", "price",
                              "status"],
                [[c.id, c.holder_id, c.provider_id, c.pool, c.gpus, short(c.starts_at),
                  short(c.ends_at), c.price,
                  f"offered (order {c.offer_id})" if c.offered else c.status]
                 for c in page.items])
    return 0


def _place_text(gx: Any, args: argparse.Namespace) -> Any:
    from gpux.domain.jsonio import dumps

    want = "buy" if args.command == "bid" else "sell"
    parsed = gx.parse(args.text, args.now)
    if parsed.order["side"] != want:
        raise InputError("text", f"the text reads as a {parsed.order['side']} order; use "
                         f"`gpux {'bid' if parsed.order['side'] == 'buy' else 'ask'}`")
    print(dumps(parsed.order) if args.json else describe(parsed.order))
    if not args.yes and not _confirm("Place this order? [y/N] "):
        print("not placed")
        return None
    body = dict(parsed.body)
    if args.client_order_id:
        body["client_order_id"] = args.client_order_id
    if parsed.path == "/bids":
        return gx.bid(body["alternatives"], body.get("client_order_id"))
    return gx.ask(body["pool"], body["gpus"], body["starts_at"], body["ends_at"],
                  body["price"], body.get("client_order_id"))


_BID_EXAMPLE = """examples:
  gpux bid "16 H100 for 48h next week in us-east, up to $2.40 per GPU-hour"
  gpux bid --gpus 16 --gpu H100 --hours 48 --between 2026-12-01T00:00Z 2026-12-08T00:00Z \\
           --limit-per-gpu-hour 2.40 --region us-east
"""
_ASK_EXAMPLE = """examples:
  gpux ask "sell 64 GPUs of pool acme-h100 next week at $1.85 per GPU-hour"
  gpux ask --pool acme-h100 --gpus 64 --between 2026-12-01T00:00Z 2026-12-08T00:00Z \\
           --price 1.85
"""


_RESELL_EXAMPLE = """examples:
  gpux resell 17 --gpus 8 --from 2026-12-03T00:00Z --to 2026-12-04T00:00Z --reserve 2.10
  gpux contracts            # your contracts; `offered` marks what is on offer
  gpux cancel ORDER         # withdraw the offer (its GPU-hours are yours to use again)
"""


def _register_resell(sub: Any) -> None:
    p = sub.add_parser(
        "resell", help="offer a contract you hold (or part of it) in the next auctions",
        description="Offer GPUs of a contract you hold, over hours that have not started, "
        "as an ask on its pool at your reserve. Until sold, cancelled or its first hour "
        "starts, the offered GPU-hours are marked and cannot be used or offered again; what "
        "sells goes to its buyer, you are paid less the exchange fee, and the provider's "
        "obligation is unchanged. Exit 0 placed, 1 refused, 2 bad input.",
        epilog=_RESELL_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("contract", type=int, help="the contract id (gpux contracts)")
    p.add_argument("--gpus", type=int, required=True, help="GPUs offered in every hour")
    p.add_argument("--from", dest="start", required=True,
                   help="first hour offered, UTC, e.g. 2026-12-03T00:00Z")
    p.add_argument("--to", dest="end", required=True, help="end of the last hour offered")
    p.add_argument("--reserve", required=True, help="the least accepted per GPU-hour")
    p.add_argument("--client-order-id",
                   help="your id for the offer; a retry with it never places a second "
                   "(default: a fresh one)")
    add_api_flags(p)
    p.set_defaults(run=cmd_resell)
    c = sub.add_parser("contracts", help="contracts you hold or provide (and what is offered)",
                       description="List your contracts, newest first: live ones, with those "
                       "on offer for resale marked. Exit 0 listed, 1 refused.")
    c.add_argument("--all", action="store_true", help="also contracts split by a resale")
    c.add_argument("--limit", type=int, default=100, help="how many (default 100)")
    add_api_flags(c)
    c.set_defaults(run=cmd_contracts)


def register(sub: Any) -> None:
    """Add `gpux bid`, `gpux ask` and `gpux resell` to the `gpux` parser."""
    _register_resell(sub)
    for name, what, example in (("bid", "buy", _BID_EXAMPLE), ("ask", "sell", _ASK_EXAMPLE)):
        p = sub.add_parser(
            name, help=f"{what} GPU time: in plain English, or with flags",
            description=f"Place a {what} order. Given TEXT, the exchange parses it, the order "
            "it understood is shown and placed once you confirm. Given flags, it is placed "
            "as given. Exit 0 placed, 1 refused or not confirmed, 2 bad input.",
            epilog=example, formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("text", nargs="?",
                       help='the order in plain English, e.g. "16 H100 for 48h next week"')
        p.add_argument("--gpus", type=int, help="GPUs (in every hour of the window)")
        p.add_argument("--between", nargs=2, metavar=("START", "END"),
                       help="the window, UTC on whole hours, e.g. 2026-12-01T00:00Z")
        if name == "bid":
            p.add_argument("--gpu", action="append",
                           help="GPU model(s) accepted, e.g. H100 (repeat or comma-separate)")
            p.add_argument("--hours", type=int, help="contiguous hours wanted in the window")
            p.add_argument("--limit-per-gpu-hour", help="the most paid per GPU-hour")
            p.add_argument("--value", help="or: the most paid for the whole order")
            p.add_argument("--region", action="append", help="region(s) accepted")
            p.add_argument("--min-uptime", help="lowest uptime tier accepted, e.g. 99.9")
        else:
            p.add_argument("--pool", help="your pool the GPUs come from")
            p.add_argument("--price", help="the least accepted per GPU-hour")
        p.add_argument("--client-order-id",
                       help="your id for the order; a retry with it never places a second "
                       "(default: a fresh one)")
        p.add_argument("--yes", action="store_true", help="TEXT: place without asking")
        p.add_argument("--now", help="TEXT: reference time for relative dates (ISO 8601)")
        add_api_flags(p)
        p.set_defaults(run=cmd_place)
