"""Load a generated market (`gpu-auction/1` book) as accounts, pools and open orders, fast.

For the demo, the round benchmark and tests: slot `s` of the book becomes the hour
`horizon_start + s`; every pool's provider and every ask's seller becomes a provider account,
every other party a buyer. Rows go in with COPY; order ids are drawn from the table's sequence
first so alternatives and legs can name them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from gpux.adapters.postgres.engine import driver_in_transaction
from gpux.adapters.postgres.ledger import PgLedger
from gpux.domain import ledger

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Seeded:
    """How many rows a seed wrote."""

    accounts: int
    pools: int
    bids: int
    asks: int


def _list(value: object) -> list[Any] | None:
    return list(value) if isinstance(value, list | tuple) and value else None


def _alt_request(alt: Mapping[str, Any], at: Callable[[int], datetime]) -> dict[str, object]:
    return {"value": str(alt["value"]), "earliest_start": at(alt["earliest_start"]).isoformat(),
            "latest_end": at(alt["latest_end"]).isoformat(),
            "legs": [{k: (str(v) if isinstance(v, Decimal) else v) for k, v in leg.items()}
                     for leg in alt["legs"]]}


async def seed_market(conn: AsyncConnection, book: Mapping[str, Any], horizon_start: datetime,
                      *, partition: str = "main", prefix: str = "",
                      created_at: datetime | None = None) -> Seeded:
    """Insert the book's parties, pools, bids and asks as open orders (in `conn`'s transaction)."""
    def at(slot: int) -> datetime:
        return horizon_start + slot * HOUR

    created = created_at or horizon_start - 2 * HOUR
    pools: Sequence[Mapping[str, Any]] = book["pools"]
    asks: Sequence[Mapping[str, Any]] = book["asks"]
    bids: Sequence[Mapping[str, Any]] = book["bids"]
    providers = {p["provider"] for p in pools} | {a["seller"] for a in asks}
    buyers = {b["buyer"] for b in bids} - providers
    pg = await driver_in_transaction(conn)
    await pg.copy_records_to_table("accounts", columns=["id", "name", "role"], records=[
        (prefix + a, a, role) for role, names in (("provider", providers), ("buyer", buyers))
        for a in sorted(names)])
    await pg.copy_records_to_table(
        "pools", columns=["id", "provider_id", "gpu", "region", "uptime", "gpus", "partition"],
        records=[(prefix + p["id"], prefix + p["provider"], p["gpu"], p["region"],
                  Decimal(p["uptime"]), _pool_size(p["id"], asks), partition) for p in pools])
    n = len(asks) + len(bids)
    ids = [r[0] for r in (await conn.execute(text(
        "SELECT nextval(pg_get_serial_sequence('orders', 'id')) FROM generate_series(1, :n)"),
        {"n": n})).all()]
    order_rows: list[tuple[object, ...]] = []
    alt_rows: list[tuple[object, ...]] = []
    leg_rows: list[tuple[object, ...]] = []
    for oid, a in zip(ids, asks, strict=False):
        order_rows.append((oid, prefix + a["seller"], "ask", f"seed-{a['id']}", partition,
                           at(a["start"]), at(a["end"]), prefix + a["pool"], a["gpus"],
                           Decimal(a["price"]), None, "{}", created))
    for oid, b in zip(ids[len(asks):], bids, strict=True):
        alts = b["alternatives"]
        request = {"alternatives": [_alt_request(alt, at) for alt in alts]}
        order_rows.append((oid, prefix + b["buyer"], "bid", f"seed-{b['id']}", partition,
                           at(min(x["earliest_start"] for x in alts)),
                           at(max(x["latest_end"] for x in alts)), None, None, None,
                           max(Decimal(x["value"]) for x in alts),
                           _json(request), created))
        for k, alt in enumerate(alts):
            alt_rows.append((oid, k, Decimal(alt["value"]), at(alt["earliest_start"]),
                             at(alt["latest_end"])))
            for j, leg in enumerate(alt["legs"]):
                pools_filter = _list(leg.get("pools"))
                leg_rows.append((oid, k, j, leg["gpus"], leg["duration"], leg.get("offset", 0),
                                 _list(leg.get("gpu")), _list(leg.get("regions")),
                                 None if leg.get("min_uptime") is None
                                 else Decimal(leg["min_uptime"]),
                                 [prefix + p for p in pools_filter] if pools_filter else None))
    await pg.copy_records_to_table("orders", columns=[
        "id", "account_id", "side", "client_order_id", "partition", "starts_at", "ends_at",
        "pool_id", "gpus", "price", "max_value", "request", "created_at"], records=order_rows)
    await pg.copy_records_to_table("bid_alternatives", columns=[
        "order_id", "idx", "value", "earliest_start", "latest_end"], records=alt_rows)
    await pg.copy_records_to_table("bid_legs", columns=[
        "order_id", "alt_idx", "idx", "gpus", "duration_hours", "offset_hours", "gpu",
        "regions", "min_uptime", "pools"], records=leg_rows)
    # Each bid enters funded, as through order entry: its largest value deposited and held.
    postings = []
    for row in order_rows:
        if row[2] == "bid":
            order_id, buyer, max_value = int(str(row[0])), str(row[1]), Decimal(str(row[10]))
            postings += [*ledger.deposit(buyer, max_value),
                         *ledger.hold(buyer, order_id, max_value)]
    await PgLedger(conn).post(postings)
    return Seeded(len(providers) + len(buyers), len(pools), len(bids), len(asks))


def _pool_size(pool_id: str, asks: Sequence[Mapping[str, Any]]) -> int:
    """A pool's size: the most GPUs its asks offer together in any slot (at least 1)."""
    load: dict[int, int] = {}
    for a in asks:
        if a["pool"] == pool_id:
            for t in range(a["start"], a["end"]):
                load[t] = load.get(t, 0) + a["gpus"]
    return max(load.values(), default=1)


def _json(doc: object) -> str:
    from gpux.domain.jsonio import dumps

    return dumps(doc, indent=None)
