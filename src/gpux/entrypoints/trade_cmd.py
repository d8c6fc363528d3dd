"""Placing orders from the terminal in plain English: `gpux bid TEXT`, `gpux ask TEXT`.

The text goes to the exchange's `POST /orders/parse`; the order it understood is shown, and it
is placed (with the request the exchange returned) only when the user confirms, or at once
with `--yes`. The API address and key come from `--url` / `--key` or `GPUX_API_URL` /
`GPUX_API_KEY`.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000"


class TradeError(Exception):
    """A refusal to go on: bad input, or an answer of the exchange that is not a success."""


def _client(args: argparse.Namespace) -> Any:
    import httpx

    key = args.key or os.environ.get("GPUX_API_KEY")
    if not key:
        raise TradeError("no API key: pass --key or set GPUX_API_KEY")
    url = args.url or os.environ.get("GPUX_API_URL") or DEFAULT_URL
    return httpx.Client(base_url=url, timeout=30.0,
                        headers={"Authorization": f"Bearer {key}",
                                 "content-type": "application/json"})


def _call(http: Any, method: str, path: str, body: Any) -> Any:
    import httpx

    from gpux.domain.jsonio import dumps, loads

    try:
        resp = http.request(method, path, content=dumps(body, indent=None))
    except httpx.HTTPError as err:
        raise TradeError(f"cannot reach the exchange at {http.base_url}: {err}") from err
    doc = loads(resp.text) if resp.text else {}
    if resp.status_code >= 400:
        detail = doc.get("detail", resp.text) if isinstance(doc, dict) else resp.text
        raise TradeError(f"{resp.status_code} {doc.get('code', '')}: {detail}")
    return doc


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


def cmd_place_text(args: argparse.Namespace) -> int:
    """Parse TEXT on the exchange, show the order, place it once confirmed."""
    from gpux.domain.jsonio import dumps

    want = "buy" if args.command == "bid" else "sell"
    body: dict[str, Any] = {"text": args.text}
    if args.now:
        body["now"] = args.now
    try:
        with _client(args) as http:
            parsed = _call(http, "POST", "/orders/parse", body)
            order, place = parsed["order"], parsed["place"]
            if order["side"] != want:
                raise TradeError(f"the text reads as a {order['side']} order; use "
                                 f"`gpux {'bid' if order['side'] == 'buy' else 'ask'}`")
            print(dumps(order) if args.json else describe(order))
            if not args.yes and not _confirm("Place this order? [y/N] "):
                print("not placed")
                return 1
            placed = _call(http, place["method"], place["path"], place["body"])
    except TradeError as err:
        print(f"gpux {args.command}: {err}", file=sys.stderr)
        return 2
    print(dumps(placed) if args.json else
          f"placed: order {placed['id']} ({placed['status']}), "
          f"client order id {placed['client_order_id']}")
    return 0


def register(sub: Any) -> None:
    """Add `gpux bid` and `gpux ask` to the `gpux` parser."""
    for name, what in (("bid", "buy"), ("ask", "sell")):
        p = sub.add_parser(name, help=f"{what} GPU time, described in plain English",
                           description=f"Parse TEXT on the exchange, show the {what} order it "
                           "understood, and place it once you confirm.")
        p.add_argument("text", help='e.g. "16 H100 for 48h next week in us-east, $2.40/GPU-h"')
        p.add_argument("--yes", action="store_true", help="place without asking (scripts)")
        p.add_argument("--json", action="store_true", help="print JSON, not prose")
        p.add_argument("--now", help="reference time for relative dates (ISO 8601)")
        p.add_argument("--url", help=f"API address (default $GPUX_API_URL or {DEFAULT_URL})")
        p.add_argument("--key", help="API key (default $GPUX_API_KEY)")
        p.set_defaults(run=cmd_place_text)
