"""`gpux auctions`, `gpux prices` and `gpux watch`: the public market, once or live."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from gpux.entrypoints.apicmd import (
    add_api_flags,
    api_command,
    client_of,
    print_json,
    print_table,
    resolve,
    short,
)


@api_command
def cmd_auctions(args: argparse.Namespace) -> int:
    """The last rounds: cutoff, status, volume and surplus."""
    with client_of(args, need_key=False) as gx:
        if args.id is not None:
            auction = gx.auction(args.id)
            if args.json:
                print_json(auction)
                return 0
            print_table(f"auction {auction.id} ({auction.status})",
                        ["pool", "from", "to", "price/GPU-h"],
                        [[p.pool, short(p.starts_at), short(p.ends_at), p.price]
                         for p in auction.prices or []])
            return 0
        page = gx.auctions(limit=args.limit)
    if args.json:
        print_json(page)
        return 0
    print_table("auctions", ["id", "cutoff", "status", "bids", "asks", "GPU-hours", "surplus",
                             "solve"],
                [[a.id, short(a.cutoff), a.status, a.bids, a.asks, a.volume_gpu_hours,
                  a.surplus, a.solve_status] for a in page.items])
    return 0


@api_command
def cmd_prices(args: argparse.Namespace) -> int:
    """The latest price index per GPU model."""
    with client_of(args, need_key=False) as gx:
        index = gx.price_index()
    if args.json:
        print_json(index)
        return 0
    print_table("price index (GPU-hour weighted clearing price)",
                ["GPU", "price/GPU-h", "GPU-hours", "auction", "cutoff"],
                [[p.gpu, p.price, p.gpu_hours, p.auction_id, short(p.cutoff)] for p in index])
    return 0


class WatchView:
    """What `gpux watch` shows: the price index and the last rounds, from feed messages."""

    def __init__(self, keep: int = 10) -> None:
        self.keep = keep
        self.rounds: list[dict[str, Any]] = []
        self.supply: list[dict[str, Any]] = []

    def apply(self, channel: str | None, kind: str, data: dict[str, Any]) -> bool:
        """Take in one message; True if it was a new round."""
        if channel == "auctions":
            new = data.get("rounds", []) if kind == "snapshot" else [data]
            self.rounds = (self.rounds + list(new))[-self.keep:]
            return kind == "update"
        if channel == "supply":
            self.supply = list(data.get("supply", []))
        return False

    def index(self) -> dict[str, dict[str, Any]]:
        latest: dict[str, dict[str, Any]] = {}
        for r in self.rounds:
            for row in r.get("price_index", []):
                latest[row["gpu"]] = {**row, "auction_id": r.get("auction_id")}
        return latest

    def render(self) -> Any:
        from rich.console import Group
        from rich.table import Table

        prices = Table(title="price index per GPU model (last round it traded)")
        for c in ("GPU", "price/GPU-h", "GPU-hours", "auction"):
            prices.add_column(c)
        for gpu, row in sorted(self.index().items()):
            prices.add_row(gpu, str(row["price"]), str(row["gpu_hours"]), str(row["auction_id"]))
        rounds = Table(title="last rounds")
        for c in ("auction", "cutoff", "status", "bids", "asks", "fills", "GPU-hours",
                  "surplus"):
            rounds.add_column(c)
        for r in reversed(self.rounds):
            rounds.add_row(*(str(r.get(k, "")) for k in (
                "auction_id", "cutoff", "status", "bids", "asks", "fills", "volume_gpu_hours",
                "surplus")))
        supply = Table(title="open supply and demand (GPU-hours)")
        for c in ("GPU", "region", "day", "supply", "demand"):
            supply.add_column(c)
        for s in self.supply[:20]:
            supply.add_row(str(s["gpu"]), str(s["region"]), str(s["day"]),
                           str(s["supply_gpu_hours"]), str(s["demand_gpu_hours"]))
        return Group(prices, rounds, supply)


async def _watch(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.live import Live

    from gpux.client import FeedClient
    from gpux.domain.jsonio import dumps

    url, key = resolve(args, need_key=False)
    feed = FeedClient(url, key, ["auctions", "supply"])
    view = WatchView()
    seen_rounds, snapshots = 0, 0
    console = Console()
    live = None if args.json else Live(view.render(), console=console, auto_refresh=False)
    try:
        if live is not None:
            live.start()
        async for msg in feed:
            if msg.type == "error":
                raise_from_feed(msg.raw)
            if msg.seq is None:  # control messages: welcome, subscribed, heartbeat
                continue
            if args.json:
                print(dumps(msg.raw, indent=None), flush=True)
            seen_rounds += view.apply(msg.channel, msg.type, msg.data)
            snapshots += msg.type == "snapshot"
            if live is not None:
                live.update(view.render(), refresh=True)
            if (args.once and snapshots >= 2) or (args.rounds and seen_rounds >= args.rounds):
                break
    finally:
        if live is not None:
            live.stop()
        await feed.close()
    return 0


def raise_from_feed(doc: dict[str, Any]) -> None:
    from gpux.client import GpuxError

    raise GpuxError(str(doc.get("detail")), code=str(doc.get("code")), field=doc.get("field"),
                    value=doc.get("value"))


@api_command
def cmd_watch(args: argparse.Namespace) -> int:
    """A live table of prices, the last rounds and open supply, from the WebSocket feed."""
    try:
        return asyncio.run(_watch(args))
    except KeyboardInterrupt:
        return 0


def register(sub: Any) -> None:
    """Add `gpux auctions`, `gpux prices`, `gpux watch`."""
    p = sub.add_parser("auctions", help="the last rounds, or one round's clearing prices",
                       description="Public: the last rounds (cutoff, status, volume, "
                       "surplus), or with ID the clearing price per pool and hours.")
    p.add_argument("id", nargs="?", type=int, help="one auction's id")
    p.add_argument("--limit", type=int, default=10, help="rounds to list (10)")
    add_api_flags(p)
    p.set_defaults(run=cmd_auctions)

    p = sub.add_parser("prices", help="the latest price index per GPU model",
                       description="Public: the GPU-hour weighted clearing price of each GPU "
                       "model in the last round it traded.")
    add_api_flags(p)
    p.set_defaults(run=cmd_prices)

    p = sub.add_parser("watch", help="a live table of prices and rounds (the WebSocket feed)",
                       description="Watch the market live: the price index, the last rounds "
                       "and open supply and demand, refreshed from the feed (/ws) as rounds "
                       "clear. Ctrl-C to stop.")
    p.add_argument("--rounds", type=int, help="stop after this many new rounds")
    p.add_argument("--once", action="store_true", help="show the current state and stop")
    add_api_flags(p)
    p.set_defaults(run=cmd_watch)
