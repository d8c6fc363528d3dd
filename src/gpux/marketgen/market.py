"""A realistic one-week GPU market as a `gpu-auction/1` book, from a seed.

Hyperscalers, neoclouds and small datacenters sell pools of one GPU model, region and uptime
tier as rising supply curves; labs and app builders bid for training jobs, small flexible
jobs and train-and-serve packages. Pools are sized after the bids are drawn, so that for
every GPU model the demanded GPU-hours are about 1.7-2.3 times the offered ones, counting
each bid's first (preferred) alternative. A few buyers also resell capacity in a pool where
their own bids may land, so the no-self-trade rule is exercised.

Everything is drawn from one `random.Random(seed)`: the same arguments give an identical
dict. Money is `Decimal` to the cent; slots, GPU counts and durations are `int`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from gpux.marketgen.demand import BidMaker, Demand
from gpux.marketgen.supply import (
    PoolSpec,
    generate_asks,
    generate_pools,
    money,
    pool_count,
    reserve_base,
    size_pools,
)

FORMAT = "gpu-auction/1"
WEEK = 168


def generate_market(bids: int, seed: int, slots: int = WEEK) -> dict[str, object]:
    """Generate a market book with `bids` bids over `slots` hourly slots."""
    if bids < 0:
        raise ValueError(f"bids must not be negative, was {bids}")
    if slots < 1:
        raise ValueError(f"slots must be positive, was {slots}")
    rng = random.Random(seed)
    pools = generate_pools(rng, pool_count(bids))
    demand = BidMaker(rng, pools, slots).make(bids)
    pools, sizes = size_pools(rng, pools, demand.gpu_hours, slots)
    asks = generate_asks(rng, pools, sizes, slots)
    asks += _resale_asks(rng, demand, sizes, pools, slots, first=len(asks))
    return {
        "format": FORMAT,
        "slots": slots,
        "pools": [
            {
                "id": p.id,
                "provider": p.provider,
                "gpu": p.gpu,
                "region": p.region,
                "uptime": p.uptime,
            }
            for p in pools
        ],
        "asks": asks,
        "bids": demand.bids,
    }


def _resale_asks(
    rng: random.Random,
    demand: Demand,
    sizes: Sequence[int],
    pools: Sequence[PoolSpec],
    slots: int,
    first: int,
) -> list[dict[str, object]]:
    # Buyers ids run u00001..u{n}; resellers that do not bid get ids beyond every bidder's.
    bidders = max(2, len(demand.bids) // 5)
    size_of = {pool.id: size for pool, size in zip(pools, sizes, strict=True)}
    asks: list[dict[str, object]] = []
    if not demand.holdings:
        return asks
    for k in range(max(2, len(demand.bids) // 400)):
        buyer, pool, start, end = rng.choice(demand.holdings)
        # Two resellers in three also bid, in the very pool and hours they resell.
        seller = buyer if rng.random() < 2 / 3 else f"u{bidders + k + 1:05d}"
        gpus = 8 * rng.randint(1, max(1, min(8, size_of[pool.id] // 16)))
        margin = max(1, slots // 8)
        start = max(0, start - rng.randint(0, margin))
        end = min(slots, end + rng.randint(0, margin))
        price = reserve_base(pool) * rng.uniform(0.8, 1.3)
        asks.append(
            {
                "id": f"a{first + k + 1:05d}",
                "seller": seller,
                "pool": pool.id,
                "gpus": gpus,
                "start": start,
                "end": end,
                "price": money(price),
            }
        )
    return asks
