"""The market's canonical product names: GPU models, regions, uptime tiers, reference prices.

Pools, filters, generators and the natural-language parser all spell products with these
names, so a filter written anywhere matches a pool listed anywhere.
"""

from __future__ import annotations

from decimal import Decimal

# Newest and fastest first; generators and the UI rely on this order.
GPU_MODELS: tuple[str, ...] = (
    "B200",
    "H200",
    "H100",
    "A100-80GB",
    "A100-40GB",
    "L40S",
    "L4",
    "MI300X",
)

REGIONS: tuple[str, ...] = (
    "us-east",
    "us-west",
    "us-central",
    "eu-west",
    "eu-central",
    "ap-northeast",
    "ap-southeast",
)

# Promised availability in percent, premium first: a pool of a higher tier may serve a leg
# that asks for a lower one.
UPTIME_TIERS: tuple[Decimal, ...] = (
    Decimal("99.999"),
    Decimal("99.99"),
    Decimal("99.9"),
    Decimal("99.0"),
)

# Typical price of one GPU for one hour (USD) on the open market; a yardstick for generated
# reserves and values, never a price the exchange enforces.
REFERENCE_PRICE: dict[str, Decimal] = {
    "B200": Decimal("4.50"),
    "H200": Decimal("3.20"),
    "H100": Decimal("2.40"),
    "A100-80GB": Decimal("1.50"),
    "A100-40GB": Decimal("1.10"),
    "L40S": Decimal("0.90"),
    "L4": Decimal("0.45"),
    "MI300X": Decimal("2.00"),
}
