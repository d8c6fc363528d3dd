"""Supply for a set of accepted placements: cheapest asks first, no self-trade.

In one pool and slot, a buyer's GPUs must come from other sellers' asks. With demand D
and buyer s demanding d_s, that caps what s's own asks may deliver at D - d_s; these caps
fall on disjoint sets of asks, so taking the cheapest supply first under them is optimal,
and it also needs the lowest dearest reserve, which makes the pricing floor least.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from gpux.clearing.instance import Instance, IntArray, SupplyGroup


def demand_by_buyer(instance: Instance, chosen: Iterable[int]
                    ) -> tuple[list[IntArray], dict[tuple[str, int], IntArray]]:
    """GPUs taken per pool and slot, in all and by buyers who also sell in that pool."""
    total = [np.zeros(instance.slots, dtype=np.int64) for _ in instance.pool_ids]
    own: dict[tuple[str, int], IntArray] = {}
    for c in chosen:
        cand = instance.candidates[c]
        buyer = instance.buyer(cand.bid)
        for leg in cand.legs:
            total[leg.pool][leg.start:leg.end] += leg.gpus
            if buyer in instance.sellers_by_pool[leg.pool]:
                key = (buyer, leg.pool)
                if key not in own:
                    own[key] = np.zeros(instance.slots, dtype=np.int64)
                own[key][leg.start:leg.end] += leg.gpus
    return total, own


def pool_supply(instance: Instance, p: int, total: IntArray, own: dict[str, IntArray]
                ) -> list[IntArray]:
    """GPUs each supply group of pool `p` delivers per slot for demand `total`.

    `own` holds, per buyer who also sells in the pool, the GPUs that buyer takes.
    """
    remaining = total.copy()
    # own asks of seller s may deliver at most D - d_s in each slot
    seller_room = {s: total - d for s, d in own.items()}
    rows = []
    for g in instance.groups[p]:
        take = np.minimum(g.cap, remaining)
        if g.seller is not None and g.seller in seller_room:
            take = np.minimum(take, seller_room[g.seller])
            seller_room[g.seller] = seller_room[g.seller] - take
        remaining -= take
        rows.append(take)
    if remaining.any():
        raise ValueError(f"pool {instance.pool_ids[p]} cannot supply its accepted legs")
    return rows


def cheapest_supply(instance: Instance, chosen: Iterable[int]) -> list[list[IntArray]]:
    """GPUs each supply group delivers per slot (`supply[pool][group][slot]`)."""
    total, own = demand_by_buyer(instance, chosen)
    own_by_pool: dict[int, dict[str, IntArray]] = defaultdict(dict)
    for (buyer, p), arr in own.items():
        own_by_pool[p][buyer] = arr
    return [pool_supply(instance, p, total[p], own_by_pool[p])
            for p in range(len(instance.groups))]


def pool_floor(groups: list[SupplyGroup], rows: list[IntArray], slots: int) -> IntArray:
    """The dearest reserve among a pool's supplying groups per slot (0 where none supplies)."""
    floor = np.zeros(slots, dtype=np.int64)
    for g, take in zip(groups, rows, strict=True):
        floor = np.where(take > 0, np.maximum(floor, g.reserve), floor)
    return floor


def floor_prices(instance: Instance, supply: list[list[IntArray]]) -> list[IntArray]:
    """Per pool and slot, the dearest reserve among supplying groups (0 where none supplies)."""
    return [pool_floor(groups, rows, instance.slots)
            for groups, rows in zip(instance.groups, supply, strict=True)]


def payment_at(instance: Instance, c: int, floors: list[IntArray]) -> int:
    """What candidate `c` would pay at the given per-slot prices."""
    cand = instance.candidates[c]
    return sum(leg.gpus * int(floors[leg.pool][leg.start:leg.end].sum()) for leg in cand.legs)


def unpriceable(instance: Instance, chosen: Iterable[int], floors: list[IntArray]) -> list[int]:
    """Chosen candidates whose value is below their payment at the floor prices."""
    return [c for c in chosen if payment_at(instance, c, floors) > instance.candidates[c].value]


def repair(instance: Instance, chosen: list[int]) -> tuple[list[int], list[list[IntArray]]]:
    """Drop the least valuable unpriceable placements until clearing prices exist."""
    chosen = list(chosen)
    while True:
        supply = cheapest_supply(instance, chosen)
        bad = unpriceable(instance, chosen, floor_prices(instance, supply))
        if not bad:
            return chosen, supply
        worst = min(bad, key=lambda c: instance.candidates[c].margin)
        chosen.remove(worst)


def surplus_of(instance: Instance, chosen: Iterable[int], supply: list[list[IntArray]]) -> int:
    """Values of the chosen placements less the reserves of the supply, in micros."""
    value = sum(instance.candidates[c].value for c in chosen)
    cost = sum(g.reserve * int(take.sum())
               for groups, rows in zip(instance.groups, supply, strict=True)
               for g, take in zip(groups, rows, strict=True))
    return value - cost


def supply_by_ask(instance: Instance, chosen: Iterable[int]) -> dict[int, dict[int, int]]:
    """The cheapest supply split over each group's asks: GPUs per ask index and slot."""
    book = instance.book
    out: dict[int, dict[int, int]] = {}
    for groups, rows in zip(instance.groups, cheapest_supply(instance, chosen), strict=True):
        for g, take in zip(groups, rows, strict=True):
            for t in take.nonzero()[0].tolist():
                left = int(take[t])
                for i in g.asks:
                    if left == 0:
                        break
                    ask = book.asks[i]
                    if ask.start <= t < ask.end:
                        got = min(ask.gpus, left)
                        out.setdefault(i, {})[t] = got
                        left -= got
    return out
