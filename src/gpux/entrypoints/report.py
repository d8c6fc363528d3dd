"""A human summary of one cleared auction: volume, surplus, prices per GPU model, fills."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from gpux.domain.book import Book


def report(book: Book, result: dict[str, Any], fills: int = 5) -> str:
    """Text summary of a result document against its book."""
    pools = book.pool_by_id
    volume: dict[str, int] = defaultdict(int)
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for acc in result["accepted"]:
        for leg in acc["legs"]:
            gpu_hours = leg["gpus"] * (leg["end"] - leg["start"])
            volume[pools[leg["pool"]].gpu] += gpu_hours
    for acc in result["accepted"]:
        share = sum(g["gpus"] * (g["end"] - g["start"]) for g in acc["legs"])
        for leg in acc["legs"]:
            part = leg["gpus"] * (leg["end"] - leg["start"])
            paid[pools[leg["pool"]].gpu] += Decimal(acc["payment"]) * part / share
    total_hours = sum(volume.values())
    stats = result.get("stats", {})
    lines = [
        f"auction: {len(book.bids)} bids, {len(book.asks)} asks, {len(book.pools)} pools, "
        f"{book.slots} hourly slots",
        f"status {result['status']}: surplus ${Decimal(result['surplus']):,.2f} "
        f"(proven bound ${Decimal(result['bound']):,.2f}, gap {stats.get('gap', '?')})",
        f"accepted {len(result['accepted'])} of {len(book.bids)} bids; "
        f"{total_hours:,} GPU-hours cleared; solve {stats.get('solve_seconds', '?')} s, "
        f"pricing {stats.get('pricing_seconds', '?')} s",
        f"pricing errors: envy ${stats.get('pricing_envy', '?')}, "
        f"unsold above reserve ${stats.get('pricing_overprice', '?')}",
        "",
        f"{'GPU model':<12}{'GPU-hours':>12}{'avg $/GPU-h':>14}",
    ]
    for gpu in sorted(volume, key=lambda g: -volume[g]):
        avg = paid[gpu] / volume[gpu] if volume[gpu] else Decimal(0)
        lines.append(f"{gpu:<12}{volume[gpu]:>12,}{avg:>14.4f}")
    lines.append("")
    lines.append("some fills:")
    for acc in sorted(result["accepted"], key=lambda a: -Decimal(a["payment"]))[:fills]:
        legs = ", ".join(f"{g['gpus']}x {pools[g['pool']].gpu} in {g['pool']} "
                         f"[{g['start']},{g['end']})" for g in acc["legs"])
        lines.append(f"  {acc['bid']}: {legs} for ${Decimal(acc['payment']):,.2f}")
    return "\n".join(lines)
