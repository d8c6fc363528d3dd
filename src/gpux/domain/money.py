"""Exact money: Decimal at the edges, integer micro-dollars inside the solver."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

MICROS_PER_UNIT = 1_000_000
_QUANTUM = Decimal(1) / MICROS_PER_UNIT


def to_micros(amount: Decimal) -> int:
    """Convert a currency amount to integer micro-units, rounding half to even."""
    return int((amount * MICROS_PER_UNIT).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_micros(micros: int) -> Decimal:
    """Convert integer micro-units back to an exact Decimal amount."""
    return (Decimal(micros) / MICROS_PER_UNIT).quantize(_QUANTUM)


def is_micro_exact(amount: Decimal) -> bool:
    """Tell whether an amount has no digits below one micro-unit."""
    return amount == amount.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)
