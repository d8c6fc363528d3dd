"""Benchmark instances by name: `market-<bids>-s<seed>` and `cats-<goods>x<bids>-s<seed>`.

A name is all a child process needs to rebuild the very same book, so every method of a
run sees an identical book without passing it around.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpux.domain.book import Book
from gpux.domain.bookjson import read_book
from gpux.marketgen.cats import generate_cats_arbitrary
from gpux.marketgen.market import generate_market

_MARKET = re.compile(r"market-(\d+)-s(\d+)")
_CATS = re.compile(r"cats-(\d+)x(\d+)-s(\d+)")


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    """What to generate: a market of `bids` bids, or CATS with `goods` goods and `bids` bundles."""

    kind: str
    bids: int
    seed: int
    goods: int = 0

    @property
    def name(self) -> str:
        """The instance's name, which `parse` reads back."""
        if self.kind == "cats":
            return f"cats-{self.goods}x{self.bids}-s{self.seed}"
        return f"market-{self.bids}-s{self.seed}"


def parse(name: str) -> InstanceSpec:
    """The spec of an instance name."""
    if m := _MARKET.fullmatch(name):
        return InstanceSpec("market", int(m[1]), int(m[2]))
    if m := _CATS.fullmatch(name):
        return InstanceSpec("cats", int(m[2]), int(m[3]), goods=int(m[1]))
    raise ValueError(f"instance name must be market-N-sS or cats-GxB-sS, was {name!r}")


def make_book(spec: InstanceSpec) -> Book:
    """Generate the instance's book."""
    if spec.kind == "cats":
        return read_book(generate_cats_arbitrary(spec.goods, spec.bids, spec.seed))
    return read_book(generate_market(spec.bids, spec.seed))
