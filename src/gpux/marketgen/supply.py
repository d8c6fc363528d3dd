"""The sell side of a generated market: providers, their pools, and each pool's supply curve.

Pools are drawn first (which products exist where), bids are then anchored on them, and only
once demand is known are pool sizes set, so every GPU model faces about the intended
competition whatever the mix of bids.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from gpux.domain.catalog import GPU_MODELS, REFERENCE_PRICE, REGIONS, UPTIME_TIERS

CENTS = Decimal("0.01")
MIN_POOL_GPUS = 8
MAX_POOL_GPUS = 1024

TOP, PREMIUM, STANDARD, BASIC = UPTIME_TIERS

# How often a GPU model appears among pools; roughly today's installed base.
_MODEL_WEIGHT: Mapping[str, int] = {
    "B200": 8,
    "H200": 14,
    "H100": 22,
    "A100-80GB": 14,
    "A100-40GB": 8,
    "L40S": 12,
    "L4": 14,
    "MI300X": 8,
}

# Higher availability costs more to deliver; this is the markup over a 99.9% pool.
_TIER_MARKUP: Mapping[Decimal, float] = {TOP: 1.35, PREMIUM: 1.15, STANDARD: 1.0, BASIC: 0.8}


@dataclass(frozen=True, slots=True)
class ProviderKind:
    """What one class of provider sells, where, and at what size and price level."""

    name: str
    models: tuple[str, ...]
    tiers: tuple[Decimal, ...]  # its usual tier first, a cheaper one second
    regions: int  # how many regions one provider of this kind operates in
    size: float  # relative pool size
    markup: float  # price level relative to the reference price


HYPERSCALER = ProviderKind("hyper", GPU_MODELS[:7], (PREMIUM, STANDARD), len(REGIONS), 3.0, 1.15)
NEOCLOUD = ProviderKind(
    "neo", ("B200", "H200", "H100", "A100-80GB", "L40S", "MI300X"), (STANDARD, BASIC), 3, 2.0, 0.95
)
DATACENTER = ProviderKind(
    "dc", ("H100", "A100-80GB", "A100-40GB", "L40S", "L4"), (STANDARD, BASIC), 1, 0.6, 0.85
)


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """A pool before it has a size: one provider's GPUs of one model, region and tier."""

    id: str
    provider: str
    kind: ProviderKind
    gpu: str
    region: str
    uptime: Decimal
    weight: float  # share of its model's capacity this pool will get


def money(amount: float) -> Decimal:
    """Round a float amount to whole cents as an exact Decimal."""
    return Decimal(f"{amount:.2f}").quantize(CENTS)


def pool_count(bids: int) -> int:
    """Choose how many pools a market with this many bids has."""
    # Sublinear, so that the pools a filter matches, and with them the naive placement
    # count per bid, grow slowly with the market; size_pools adds pools where demand
    # outgrows this guess.
    return max(12, round(0.095 * math.pow(bids, 0.68)))


def generate_pools(rng: random.Random, n_pools: int) -> list[PoolSpec]:
    """Draw the providers of a market and their pools, about n_pools in all."""
    n_hyper = min(3, max(1, n_pools // 8))
    plan: list[tuple[ProviderKind, str, int]] = []
    hyper_pools = round(0.45 * n_pools)
    plan += [(HYPERSCALER, f"hyper-{i + 1}", hyper_pools // n_hyper) for i in range(n_hyper)]
    n_neo = max(1, round(0.35 * n_pools / 5))
    plan += [(NEOCLOUD, f"neo-{i + 1:02d}", rng.randint(3, 7)) for i in range(n_neo)]
    n_dc = max(1, round(0.2 * n_pools / 1.5))
    plan += [(DATACENTER, f"dc-{i + 1:03d}", rng.randint(1, 2)) for i in range(n_dc)]
    pools: list[PoolSpec] = []
    for kind, provider, count in plan:
        pools += _provider_pools(rng, kind, provider, count, len(pools))
    for model in GPU_MODELS:
        # Every model is on offer somewhere, so bids of every kind find their hardware.
        if not any(p.gpu == model for p in pools):
            pools += _expand(rng, pools, model, 1)
    return pools


def _provider_pools(
    rng: random.Random, kind: ProviderKind, provider: str, count: int, first: int
) -> list[PoolSpec]:
    regions = rng.sample(REGIONS, kind.regions)
    weights = [_MODEL_WEIGHT[m] for m in kind.models]
    # One hyperscaler in three also rents out AMD parts.
    models = kind.models + (("MI300X",) if kind is HYPERSCALER and rng.random() < 0.34 else ())
    weights += [_MODEL_WEIGHT["MI300X"]] * (len(models) - len(kind.models))
    cells: dict[tuple[str, str, Decimal], None] = {}
    for _ in range(count * 20):
        if len(cells) >= count:
            break
        model = rng.choices(models, weights)[0]
        region = rng.choice(regions)
        usual, cheaper = kind.tiers
        tier = usual if rng.random() < 0.65 else cheaper
        if kind is HYPERSCALER and rng.random() < 0.08:
            tier = TOP
        cells[(model, region, tier)] = None
        # A cheaper tier of the same hardware next door is what makes tiers a real choice.
        if tier != cheaper and rng.random() < 0.35:
            cells[(model, region, cheaper)] = None
    return [
        PoolSpec(
            f"p{first + i + 1:04d}",
            provider,
            kind,
            model,
            region,
            tier,
            kind.size * rng.uniform(0.5, 1.5),
        )
        for i, (model, region, tier) in enumerate(cells)
    ]


def size_pools(
    rng: random.Random, pools: Sequence[PoolSpec], demand: Mapping[str, float], slots: int
) -> tuple[list[PoolSpec], list[int]]:
    """Size pools so each model's demand is about twice its supply, adding pools if too few."""
    grown = list(pools)
    sizes: dict[str, int] = {}
    for model in GPU_MODELS:
        # Partial-horizon asks deliver a little less than a full week, hence 0.95.
        target = demand.get(model, 0.0) / (rng.uniform(1.7, 2.3) * slots * 0.95)
        # Providers add pools when demand outgrows them; at three quarters of the size cap
        # on average, the cap seldom binds and the intended ratio holds at any market size.
        need = math.ceil(target / (0.75 * MAX_POOL_GPUS))
        grown += _expand(rng, grown, model, need - sum(p.gpu == model for p in grown))
        members = [p for p in grown if p.gpu == model]
        for pool, gpus in zip(members, _fill(target, [p.weight for p in members]), strict=True):
            sizes[pool.id] = gpus
    return grown, [sizes[p.id] for p in grown]


def _expand(rng: random.Random, pools: list[PoolSpec], model: str, count: int) -> list[PoolSpec]:
    sellers: dict[str, list[PoolSpec]] = {}
    for pool in pools:
        if pool.kind is not DATACENTER and model in pool.kind.models:
            sellers.setdefault(pool.provider, []).append(pool)
    taken = {(p.provider, p.gpu, p.region, p.uptime) for p in pools}
    added: list[PoolSpec] = []
    if not sellers:
        return added
    for _ in range(20 * max(0, count)):
        if len(added) >= count:
            break
        own = sellers[rng.choice(list(sellers))]
        kind = own[0].kind
        # A neocloud grows where it already is; a hyperscaler anywhere.
        region = rng.choice(REGIONS if kind is HYPERSCALER else [p.region for p in own])
        cell = (own[0].provider, model, region, kind.tiers[0])
        if cell in taken:
            continue
        taken.add(cell)
        pool_id = f"p{len(pools) + len(added) + 1:04d}"
        weight = kind.size * rng.uniform(0.5, 1.5)
        added.append(PoolSpec(pool_id, cell[0], kind, model, region, cell[3], weight))
    return added


def _fill(target: float, weights: list[float]) -> list[int]:
    # Water-filling: a pool that hits the size cap passes its share to the others.
    shares = [0.0] * len(weights)
    open_ = list(range(len(weights)))
    left = target
    while open_ and left > 0:
        total = sum(weights[i] for i in open_)
        capped = [i for i in open_ if left * weights[i] / total >= MAX_POOL_GPUS]
        if not capped:
            for i in open_:
                shares[i] = left * weights[i] / total
            break
        for i in capped:
            shares[i] = MAX_POOL_GPUS
            left -= MAX_POOL_GPUS
            open_.remove(i)
    return [min(MAX_POOL_GPUS, max(MIN_POOL_GPUS, 8 * round(s / 8))) for s in shares]


def reserve_base(pool: PoolSpec) -> float:
    """The per-GPU-hour price at which a pool's provider would sell its cheapest block."""
    return float(REFERENCE_PRICE[pool.gpu]) * _TIER_MARKUP[pool.uptime] * pool.kind.markup


def generate_asks(
    rng: random.Random, pools: Sequence[PoolSpec], sizes: Sequence[int], slots: int
) -> list[dict[str, object]]:
    """Offer each pool's GPUs as a rising supply curve of one to four asks."""
    asks: list[dict[str, object]] = []

    def ask(pool: PoolSpec, gpus: int, start: int, end: int, price: float) -> None:
        asks.append(
            {
                "id": f"a{len(asks) + 1:05d}",
                "seller": pool.provider,
                "pool": pool.id,
                "gpus": gpus,
                "start": start,
                "end": end,
                "price": money(price),
            }
        )

    for pool, size in zip(pools, sizes, strict=True):
        blocks = _split(rng, size // 8)
        price = reserve_base(pool) * rng.uniform(0.55, 0.8)
        for k, eights in enumerate(blocks):
            if k:
                price *= rng.uniform(1.15, 1.35)
            start, end = 0, slots
            if k == 0 and slots >= 24 and rng.random() < 0.15:
                # A maintenance window: the cheap base block goes dark for a few hours.
                width = rng.randint(max(1, slots // 40), max(2, slots // 14))
                gap = rng.randint(1, slots - width - 1)
                ask(pool, 8 * eights, 0, gap, price)
                start = gap + width
            elif k == len(blocks) - 1 and k and slots >= 4 and rng.random() < 0.3:
                # Capacity that is installed mid-week, or taken back for a private customer.
                if rng.random() < 0.6:
                    start = rng.randint(slots // 4, slots // 2)
                else:
                    end = rng.randint(slots // 2, 3 * slots // 4)
            ask(pool, 8 * eights, start, end, price)
    return asks


def _split(rng: random.Random, eights: int) -> list[int]:
    # A cheap base block of 40-70% of the pool, then up to three dearer blocks.
    n_blocks = min(eights, rng.choices((1, 2, 3, 4), (20, 35, 30, 15))[0])
    if n_blocks == 1:
        return [eights]
    base = max(1, min(eights - n_blocks + 1, round(eights * rng.uniform(0.4, 0.7))))
    rest, extra = eights - base, n_blocks - 1
    return [base] + [rest // extra + (1 if i < rest % extra else 0) for i in range(extra)]
