"""`gpux statement`: an account's balances and ledger entries, through the API."""

from __future__ import annotations

import argparse
from typing import Any

from gpux.entrypoints.apicmd import add_api_flags, api_command, client_of, print_json, print_table


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be positive, was {text}")
    return value


@api_command
def cmd_statement(args: argparse.Namespace) -> int:
    """Print an account's balances and its latest ledger entries."""
    from gpux.client.calls import Call

    with client_of(args) as gx:
        account_id = args.account or gx.me().id
        doc: dict[str, Any] = gx.send(Call(
            "GET", f"/accounts/{account_id}/statement", lambda d, _h: d,
            params={"limit": args.limit}, idempotent=True))
    if args.json:
        print_json(doc)
        return 0
    bal = doc["balance"]
    print(f"{account_id}: available {bal['available']}, held {bal['held']}")
    print_table(f"ledger entries of {account_id}, newest first",
                ["id", "tx", "kind", "bucket", "amount", "order", "auction", "at"],
                [[e["id"], e["tx_id"], e["kind"], e["bucket"], e["amount"],
                  e["order_id"] or "", e["auction_id"] or "", e["created_at"]]
                 for e in doc["items"]])
    return 0


def register(sub: Any) -> None:
    """Add `gpux statement`."""
    p = sub.add_parser("statement", help="your balances and ledger entries",
                       description="Balances (available, held) and ledger entries, newest "
                       "first: deposits, holds, releases, payments, revenue, fees, "
                       "withdrawals. An admin may name any account.")
    p.add_argument("account", nargs="?", help="the account (default: yours)")
    p.add_argument("--limit", type=_positive_int, default=50, help="at most this many (50)")
    add_api_flags(p)
    p.set_defaults(run=cmd_statement)
