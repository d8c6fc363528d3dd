"""`gpux login`, `gpux orders` and `gpux cancel`: your session and your orders."""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from gpux.entrypoints.apicmd import (
    DEFAULT_URL,
    InputError,
    add_api_flags,
    api_command,
    client_of,
    print_json,
    print_table,
    save_credentials,
    short,
)


@api_command
def cmd_login(args: argparse.Namespace) -> int:
    """Check the key on the exchange, then store the address and key for later commands."""
    from gpux.client import Client

    url = args.url or DEFAULT_URL
    key = args.key or getpass.getpass("API key: ").strip()
    if not key:
        raise InputError("key", "an API key is needed (the admin issues them)")
    with Client(url, key) as gx:
        me = gx.me()
    path = save_credentials(url, key, me.id)
    if args.json:
        print_json({"account_id": me.id, "role": me.role, "url": url, "saved": str(path)})
    else:
        print(f"logged in to {url} as {me.id} ({me.role}); saved to {path}")
    return 0


@api_command
def cmd_orders(args: argparse.Namespace) -> int:
    """List your orders, newest first."""
    with client_of(args) as gx:
        page = gx.orders(side=args.side, status=args.status, limit=args.limit)
    if args.json:
        print_json(page)
        return 0
    rows = []
    for o in page.items:
        if o.side == "ask":
            what = f"{o.gpus} GPUs of {o.pool} at >= {o.price}/GPU-h"
        else:
            alt = (o.alternatives or [None])[0]
            legs = alt.legs if alt is not None else []
            what = "; ".join(f"{g.gpus} x {'/'.join(g.gpu or ['any'])} for {g.duration_hours} h"
                             for g in legs)
            if alt is not None:
                what += f" for <= {alt.value}"
        status = o.status + (" (cancel pending)" if o.cancel_pending else "")
        rows.append([o.id, o.side, status, o.client_order_id, what, short(o.starts_at),
                     short(o.ends_at)])
    print_table("orders", ["id", "side", "status", "client order id", "what", "from", "to"],
                rows)
    if page.next_cursor:
        print(f"more: gpux orders --limit {args.limit} (next cursor {page.next_cursor})")
    return 0


@api_command
def cmd_cancel(args: argparse.Namespace) -> int:
    """Cancel one of your open orders."""
    with client_of(args) as gx:
        order = gx.cancel(args.order_id)
    if args.json:
        print_json(order)
    elif order.cancel_pending:
        print(f"order {order.id}: cancel pending (a round is clearing it now; it is cancelled "
              "when the round commits, unless it filled)")
    else:
        print(f"order {order.id}: {order.status}")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, was {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, was {text!r}")
    return value


def register(sub: Any) -> None:
    """Add `gpux login`, `gpux orders`, `gpux cancel`."""
    p = sub.add_parser("login", help="store the exchange address and your API key",
                       description="Check the API key on the exchange (GET /me) and store the "
                       "address and key in ~/.config/gpux/credentials.json (mode 0600); the "
                       "trading commands use them when no --url/--key or GPUX_API_URL/"
                       "GPUX_API_KEY is given.")
    p.add_argument("--url", help=f"API address (default {DEFAULT_URL})")
    p.add_argument("--key", help="API key (asked for when not given)")
    p.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    p.set_defaults(run=cmd_login)

    p = sub.add_parser("orders", help="list your orders",
                       description="Your orders, newest first, with their status.")
    p.add_argument("--side", choices=["bid", "ask"])
    p.add_argument("--status", choices=["open", "filled", "cancelled", "expired"])
    p.add_argument("--limit", type=_positive_int, default=50, help="at most this many (50)")
    add_api_flags(p)
    p.set_defaults(run=cmd_orders)

    p = sub.add_parser("cancel", help="cancel one of your open orders",
                       description="Cancel an open order. One a round is clearing right now "
                       "is cancelled when the round commits, unless it filled.")
    p.add_argument("order_id", type=_positive_int, metavar="ID", help="the order's id")
    add_api_flags(p)
    p.set_defaults(run=cmd_cancel)
