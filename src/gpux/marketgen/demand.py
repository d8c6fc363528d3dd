"""The buy side of a generated market: training jobs, small flexible jobs and multi-leg packages.

Every leg is anchored on one existing pool and its filters are widened from there, so each
leg's filters match at least one pool by construction. Windows and filters are kept as narrow
as real buyers write them, which holds the naive placement count to a few dozen per bid.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from gpux.domain.catalog import REFERENCE_PRICE, REGIONS, UPTIME_TIERS
from gpux.marketgen.supply import PoolSpec, money

GROUPS: tuple[tuple[str, ...], ...] = (REGIONS[:3], REGIONS[3:5], REGIONS[5:])
_GROUP_OF = {region: group for group in GROUPS for region in group}

# The next-best hardware a buyer of the first would also accept for the same job.
_SUBSTITUTE = {
    "B200": "H200",
    "H200": "H100",
    "H100": "H200",
    "MI300X": "H100",
    "A100-80GB": "H100",
    "A100-40GB": "A100-80GB",
    "L40S": "L4",
    "L4": "L40S",
}
_TRAINING = {"B200": 2, "H200": 3, "H100": 5, "MI300X": 1}
_FINETUNE = {"H100": 4, "H200": 2, "A100-80GB": 3, "B200": 1}
_SERVING = {"L4": 3, "L40S": 3, "A100-40GB": 1}
_SMALL = {"L4": 4, "L40S": 3, "A100-40GB": 2, "A100-80GB": 2, "H100": 1}

Leg = tuple[int, int, int, PoolSpec]  # gpus, duration, offset, anchor pool


@dataclass
class Demand:
    """Generated bids with the figures the sell side is sized from."""

    bids: list[dict[str, object]] = field(default_factory=list)
    gpu_hours: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    # (buyer, pool, earliest_start, latest_end) of each bid's first leg: where resellers sit.
    holdings: list[tuple[str, PoolSpec, int, int]] = field(default_factory=list)


class BidMaker:
    """Draws bids against a fixed set of pools for a horizon of `slots` hours."""

    def __init__(self, rng: random.Random, pools: Sequence[PoolSpec], slots: int) -> None:
        self.rng, self.slots, self.scale = rng, slots, min(1.0, slots / 168)
        self.by_model: dict[str, list[PoolSpec]] = defaultdict(list)
        self.top_uptime: dict[tuple[str, str], Decimal] = {}
        self.siblings: dict[tuple[str, str], list[str]] = defaultdict(list)
        for pool in pools:
            self.by_model[pool.gpu].append(pool)
            key = (pool.gpu, pool.region)
            self.top_uptime[key] = max(pool.uptime, self.top_uptime.get(key, pool.uptime))
            self.siblings[(pool.provider, pool.gpu)].append(pool.id)
        self.demand = Demand()

    def make(self, count: int) -> Demand:
        """Generate `count` bids: about 10% training, 60% small jobs, 30% packages."""
        n_buyers = max(2, count // 5)
        for i in range(count):
            # Squaring skews bids towards a few heavy buyers, as on a real exchange.
            buyer = f"u{int(n_buyers * self.rng.random() ** 2) + 1:05d}"
            roll = self.rng.random()
            kind = self._training if roll < 0.1 else self._small if roll < 0.7 else self._package
            alternatives = kind(buyer)
            self.demand.bids.append(
                {"id": f"b{i + 1:05d}", "buyer": buyer, "alternatives": alternatives}
            )
        return self.demand

    def _hours(self, h: float) -> int:
        return max(1, round(h * self.scale))

    def _window(self, span: int, slack_hours: float) -> tuple[int, int]:
        slack = min(self.slots - span, round(slack_hours * self.scale))
        start = self.rng.randrange(self.slots - span - slack + 1)
        return start, start + span + slack

    def _anchor(self, weights: dict[str, int]) -> PoolSpec:
        models = [m for m in weights if m in self.by_model] or sorted(self.by_model)
        model = self.rng.choices(models, [weights.get(m, 1) for m in models])[0]
        return self.rng.choice(self.by_model[model])

    def _matches(self, models: Sequence[str], regions: Sequence[str], uptime: Decimal) -> bool:
        return any(
            self.top_uptime.get((m, r), Decimal(-1)) >= uptime for m in models for r in regions
        )

    def _filters(self, pool: PoolSpec, spread: str, p_sub: float) -> dict[str, object]:
        rng = self.rng
        gpu = [pool.gpu]
        if rng.random() < p_sub and _SUBSTITUTE[pool.gpu] in self.by_model:
            gpu.append(_SUBSTITUTE[pool.gpu])
        filters: dict[str, object] = {"gpu": gpu}
        if spread == "group":
            filters["regions"] = list(_GROUP_OF[pool.region])
        elif spread == "several":
            extra = rng.sample([r for r in REGIONS if r != pool.region], rng.randint(1, 2))
            filters["regions"] = [r for r in REGIONS if r == pool.region or r in extra]
        elif spread == "single":
            filters["regions"] = [pool.region]
        if rng.random() < 0.8:
            # Hardly any job needs five nines, so buyers ask for at most four.
            tiers = [t for t in UPTIME_TIERS[1:] if t <= pool.uptime] or [pool.uptime]
            filters["min_uptime"] = rng.choice(tiers)
        if rng.random() < 0.04:
            # A buyer tied to one provider names its pools outright.
            filters["pools"] = list(self.siblings[(pool.provider, pool.gpu)])
        return filters

    def _alternative(
        self,
        legs: Sequence[Leg],
        window: tuple[int, int],
        filters: Sequence[dict[str, object]],
        premium: float,
        primary: bool,
        buyer: str = "",
    ) -> dict[str, object]:
        value = 0.0
        out = []
        for (gpus, duration, offset, pool), leg_filters in zip(legs, filters, strict=True):
            models = leg_filters["gpu"]
            assert isinstance(models, list)
            price = sum(float(REFERENCE_PRICE[m]) for m in models) / len(models)
            value += price * gpus * duration
            # Fresh lists, so that no two legs of the book share a mutable filter.
            copied = {k: list(v) if isinstance(v, list) else v for k, v in leg_filters.items()}
            out.append({"gpus": gpus, "duration": duration, "offset": offset, **copied})
            if primary:
                self.demand.gpu_hours[pool.gpu] += gpus * duration
        if primary:
            self.demand.holdings.append((buyer, legs[0][3], *window))
        return {
            "value": max(money(value * premium), Decimal("0.01")),
            "earliest_start": window[0],
            "latest_end": window[1],
            "legs": out,
        }

    def _premium(self, mu: float) -> float:
        # Log-normal around the reference price: most bids above supply, a tail below it.
        return self.rng.lognormvariate(mu, 0.45)

    def _training(self, buyer: str) -> list[dict[str, object]]:
        rng, slots = self.rng, self.slots
        gpus = rng.choices((32, 64, 128, 256, 512), (45, 30, 14, 7, 4))[0]
        duration = min(slots, self._hours(rng.triangular(24, 96, 36)))
        window = self._window(duration, rng.randint(0, 8))
        pool = self._anchor(_TRAINING)
        spread = rng.choices(("group", "single"), (50, 50))[0]
        filters = self._filters(pool, spread, 0.35)
        premium = self._premium(0.15)
        leg: Leg = (gpus, duration, 0, pool)
        alternatives = [self._alternative([leg], window, [filters], premium, True, buyer)]
        regions = filters.get("regions", REGIONS)
        uptime = filters.get("min_uptime", Decimal(0))
        assert isinstance(regions, Sequence) and isinstance(uptime, Decimal)
        if rng.random() < 0.6 and self._matches(["A100-80GB"], regions, uptime):
            # Slower hardware, so the job takes longer and is worth less to the buyer.
            slow = min(slots, math.ceil(duration * 1.6))
            slack = window[1] - window[0] - duration
            start = min(window[0], slots - slow)
            end = min(slots, start + slow + slack)
            sub = {**filters, "gpu": ["A100-80GB"]}
            sub.pop("pools", None)
            alternatives.append(
                self._alternative(
                    [(gpus, slow, 0, pool)], (start, end), [sub], 0.6 * premium, False
                )
            )
        far = [g for g in GROUPS if pool.region not in g]
        other = rng.choice(far)
        if rng.random() < 0.2 and self._matches([pool.gpu], other, uptime):
            moved = {**filters, "gpu": [pool.gpu], "regions": list(other)}
            moved.pop("pools", None)
            alternatives.append(self._alternative([leg], window, [moved], 0.85 * premium, False))
        return alternatives

    def _small(self, buyer: str) -> list[dict[str, object]]:
        rng = self.rng
        gpus = rng.choices((1, 2, 4, 8), (35, 30, 20, 15))[0]
        duration = min(self.slots, self._hours(rng.triangular(2, 24, 4)))
        window = self._window(duration, rng.triangular(0, 16, 0))
        pool = self._anchor(_SMALL)
        spread = rng.choices(("several", "group", "single", "any"), (35, 30, 32, 3))[0]
        filters = self._filters(pool, spread, 0.3)
        leg: Leg = (gpus, duration, 0, pool)
        return [self._alternative([leg], window, [filters], self._premium(0.2), True, buyer)]

    def _package(self, buyer: str) -> list[dict[str, object]]:
        rng, slots = self.rng, self.slots
        train = self._anchor(_FINETUNE)
        serve = self._anchor(_SERVING) if rng.random() < 0.6 else train
        if rng.random() < 0.6 or slots < 2:
            # Train and serve side by side: the serving fleet runs the previous checkpoint.
            d1 = min(slots, self._hours(rng.randint(12, 48)))
            legs = [
                (rng.choices((8, 16, 32, 64, 128), (30, 30, 20, 12, 8))[0], d1, 0, train),
                (rng.choice((2, 4, 8, 16)), max(1, d1 - self._hours(rng.randint(0, 8))), 0, serve),
            ]
        else:
            # Fine-tune, then serve the result: the second leg starts where the first ends.
            d1 = min(slots - 1, self._hours(rng.randint(6, 24)))
            d2 = min(slots - d1, self._hours(rng.randint(12, 48)))
            legs = [
                (rng.choice((8, 16, 32, 64)), d1, 0, train),
                (rng.choice((2, 4, 8, 16)), d2, d1, serve),
            ]
        span = max(offset + duration for _, duration, offset, _ in legs)
        window = self._window(span, rng.randint(0, 6))
        spread = rng.choices(("single", "group", "several"), (55, 35, 10))[0]
        filters = [self._filters(pool, spread, 0.3) for *_, pool in legs]
        premium = self._premium(0.2)
        alternatives = [self._alternative(legs, window, filters, premium, True, buyer)]
        delay = self._hours(rng.randint(12, 36))
        if rng.random() < 0.25 and window[1] + delay <= slots:
            # The same package later in the week is worth less: the deadline gets closer.
            later = (window[0] + delay, window[1] + delay)
            alternatives.append(
                self._alternative(legs, later, filters, premium * rng.uniform(0.8, 0.95), False)
            )
        return alternatives
