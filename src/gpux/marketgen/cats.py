"""CATS "arbitrary relationships" instances as `gpu-auction/1` books.

The distribution is section 4.3 of Leyton-Brown, Pearson and Shoham (2000), "Towards a
universal test suite for combinatorial auction algorithms", with the parameters Gasse et al.
(2019) use to generate combinatorial auctions: values 1-100, value deviation 0.5, add-item
probability 0.65, at most 5 substitutable bundles per bidder, additivity 0.2, budget factor
1.5, resale factor 0.5, real (not integer) prices. Written from the paper's description, it
draws from the same distribution as the public generators but not the same numbers: those
use numpy's random stream, and they pick a bundle's next good by its compatibility with
goods 0 and 1 (they index the compatibility matrix with the 0/1 bundle mask) where the paper,
and this module, use its compatibility with the goods already in the bundle.

Mapping to the book:

- each good is a pool (provider "cats", H100, us-east, 99.99) with one ask of 1 GPU for
  slot 0 at a zero reserve, and the book has a single slot;
- each CATS bidder's set of bundles (its first bundle and the substitutes kept) is one bid
  whose alternatives are those bundles, first bundle first, then substitutes by falling value.
  Gasse's generator ties a set of three or more bundles together with a dummy good; XOR
  alternatives say the same directly. A set of two gets no dummy there, yet the two cannot
  both win either, since a substitute always shares a good with the first bundle;
- an alternative is a bundle: `earliest_start` 0, `latest_end` 1, and one leg per good,
  `{"gpus": 1, "duration": 1, "offset": 0, "pools": [that good's pool]}`;
- values are the CATS bundle prices, as Decimal rounded to 0.000001.

Counting: `bids` is the number of CATS bids, that is of bundles, as in the papers; it equals
the total number of alternatives in the book. The book's `bids` list is shorter: one entry
per bidder.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from decimal import Decimal
from itertools import accumulate

from gpux.domain.catalog import UPTIME_TIERS

MIN_VALUE = 1.0
MAX_VALUE = 100.0
VALUE_DEVIATION = 0.5
ADD_ITEM_PROB = 0.65
MAX_SUB_BIDS = 5
ADDITIVITY = 0.2
BUDGET_FACTOR = 1.5
RESALE_FACTOR = 0.5

MICRO = Decimal("0.000001")
Group = list[tuple[tuple[int, ...], Decimal]]  # one bidder's bundles of goods with their prices
_Stop = Callable[[int], bool]  # told the bundle's size, says whether to stop adding goods


def generate_cats_arbitrary(goods: int, bids: int, seed: int) -> dict[str, object]:
    """Generate a CATS arbitrary-relationships book with `goods` goods and `bids` bundles."""
    if goods < 1:
        raise ValueError(f"goods must be positive, was {goods}")
    if bids < 0:
        raise ValueError(f"bids must not be negative, was {bids}")
    groups = _Arbitrary(random.Random(seed), goods).groups(bids)
    pool_ids = [f"p{j + 1:04d}" for j in range(goods)]
    return {
        "format": "gpu-auction/1",
        "slots": 1,
        "pools": [
            {
                "id": pid,
                "provider": "cats",
                "gpu": "H100",
                "region": "us-east",
                "uptime": UPTIME_TIERS[1],
            }
            for pid in pool_ids
        ],
        "asks": [
            {
                "id": f"a{j + 1:05d}",
                "seller": "cats",
                "pool": pid,
                "gpus": 1,
                "start": 0,
                "end": 1,
                "price": Decimal(0),
            }
            for j, pid in enumerate(pool_ids)
        ],
        "bids": [
            {
                "id": f"b{k + 1:05d}",
                "buyer": f"u{k + 1:05d}",
                "alternatives": [_alternative(bundle, value, pool_ids) for bundle, value in group],
            }
            for k, group in enumerate(groups)
        ],
    }


def _alternative(
    bundle: Sequence[int], value: Decimal, pool_ids: Sequence[str]
) -> dict[str, object]:
    legs = [{"gpus": 1, "duration": 1, "offset": 0, "pools": [pool_ids[j]]} for j in bundle]
    return {"value": value, "earliest_start": 0, "latest_end": 1, "legs": legs}


class _Arbitrary:
    """The market-wide draws of one instance: common values and pairwise compatibilities."""

    def __init__(self, rng: random.Random, goods: int) -> None:
        self.rng, self.goods = rng, goods
        self.common = [MIN_VALUE + (MAX_VALUE - MIN_VALUE) * rng.random() for _ in range(goods)]
        compat = [[0.0] * goods for _ in range(goods)]
        for i in range(goods):
            for j in range(i + 1, goods):
                compat[i][j] = compat[j][i] = rng.random()
        # Scaled so that, for every good, its compatibilities with all the others sum to one.
        totals = [sum(row) or 1.0 for row in compat]
        self.compat = [[c / t for c, t in zip(row, totals, strict=True)] for row in compat]

    def groups(self, bids: int) -> list[Group]:
        made = 0
        groups: list[Group] = []
        while made < bids:
            group = self._bidder(bids - made)
            if group:
                groups.append(group)
                made += len(group)
        return groups

    def _bidder(self, room: int) -> Group:
        rng, goods = self.rng, self.goods
        interests = [rng.random() for _ in range(goods)]
        private = [
            v + MAX_VALUE * VALUE_DEVIATION * (2 * x - 1)
            for v, x in zip(self.common, interests, strict=True)
        ]
        first = rng.choices(range(goods), interests)[0]
        bundle = self._grow(first, interests, lambda size: rng.random() >= ADD_ITEM_PROB)
        price = self._price(bundle, private)
        if price <= 0:
            # A bundle worth nothing is no bid (and would break `value > 0` once rounded);
            # as in CATS, draw another bidder.
            return []
        group: dict[tuple[int, ...], Decimal] = {bundle: price}
        substitutes = []
        for good in bundle:
            # A substitute has as many goods as the first bundle and shares at least one.
            sub = self._grow(good, interests, lambda size: size >= len(bundle))
            substitutes.append((sub, self._price(sub, private)))
        budget = Decimal(BUDGET_FACTOR) * price
        min_resale = RESALE_FACTOR * sum(self.common[j] for j in bundle)
        for sub, sub_price in sorted(substitutes, key=lambda s: s[1], reverse=True):
            if len(group) > MAX_SUB_BIDS or len(group) >= room:
                break
            resale = sum(self.common[j] for j in sub)
            if sub_price <= 0 or sub_price > budget or resale < min_resale or sub in group:
                continue
            group[sub] = sub_price
        return list(group.items())

    def _grow(self, first: int, interests: Sequence[float], stop: _Stop) -> tuple[int, ...]:
        chosen = {first}
        # Summed rather than averaged compatibility: the draw below only needs proportions.
        affinity = list(self.compat[first])
        while not stop(len(chosen)) and len(chosen) < self.goods:
            weights = [
                0.0 if j in chosen else x * a
                for j, (x, a) in enumerate(zip(interests, affinity, strict=True))
            ]
            cumulative = list(accumulate(weights))
            if cumulative[-1] <= 0:
                # Only reachable through zero draws; fall back to any good not yet chosen.
                good = self.rng.choice([j for j in range(self.goods) if j not in chosen])
            else:
                good = self.rng.choices(range(self.goods), cum_weights=cumulative)[0]
            chosen.add(good)
            affinity = [a + c for a, c in zip(affinity, self.compat[good], strict=True)]
        return tuple(sorted(chosen))

    def _price(self, bundle: Sequence[int], private: Sequence[float]) -> Decimal:
        price = sum(private[j] for j in bundle) + len(bundle) ** (1 + ADDITIVITY)
        return Decimal(price).quantize(MICRO)
