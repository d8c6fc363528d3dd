"""Price bands: a bid's or ask's price per GPU-hour must lie within a band around the latest
price index of the GPU model it trades.

The band is `band_pct` percent either side of the index: [index * (1 - b), index * (1 + b)].
A GPU model without an index yet (it never traded) has no band. A bid alternative's price per
GPU-hour is its value over its GPU-hours; it may name several models (or any, with no `gpu`),
and passes if it lies within the band of at least one model it accepts that has an index.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from gpux.domain.errors import PriceOutOfBand
from gpux.domain.orders import AskOrder, BidOrder

_HUNDRED = Decimal(100)


def band_of(index: Decimal, band_pct: Decimal) -> tuple[Decimal, Decimal]:
    """The lowest and highest price per GPU-hour the band allows around an index price."""
    width = index * band_pct / _HUNDRED
    return index - width, index + width


def _check(price: Decimal, models: list[str], index: Mapping[str, Decimal],
           band_pct: Decimal, field: str) -> None:
    banded = [m for m in models if m in index]
    if not banded:
        return
    bands = {m: band_of(index[m], band_pct) for m in banded}
    if any(lo <= price <= hi for lo, hi in bands.values()):
        return
    shown = ", ".join(f"{m} {lo.normalize()}..{hi.normalize()}" for m, (lo, hi) in bands.items())
    raise PriceOutOfBand(
        f"{price.normalize()} per GPU-hour is outside the price band ({shown}; "
        f"+/-{band_pct}% around the price index)", field, price)


def check_bid_band(bid: BidOrder, index: Mapping[str, Decimal], band_pct: Decimal) -> None:
    """Raise `PriceOutOfBand` if an alternative's price per GPU-hour is outside every band."""
    for k, alt in enumerate(bid.alternatives):
        models: list[str] = []
        for leg in alt.legs:
            models += list(leg.gpu) if leg.gpu else sorted(index)
        price = alt.total_value / alt.gpu_hours
        _check(price, sorted(set(models)), index, band_pct,
               f"alternatives[{k}].value" if alt.limit_per_gpu_hour is None
               else f"alternatives[{k}].limit_per_gpu_hour")


def check_ask_band(ask: AskOrder, gpu: str, index: Mapping[str, Decimal],
                   band_pct: Decimal) -> None:
    """Raise `PriceOutOfBand` if an ask's reserve is outside its pool's model's band."""
    _check(ask.price, [gpu], index, band_pct, "price")
