"""Preparing an instance: candidates best margin first, and the per-bid cap on large books."""

from __future__ import annotations

from gpux.clearing.instance import prepare
from gpux.domain.bookjson import read_book
from gpux.marketgen.market import generate_market


def test_each_bids_candidates_are_numbered_best_margin_first() -> None:
    instance = prepare(read_book(generate_market(300, 5, slots=48)))
    for b, cands in enumerate(instance.by_bid):
        margins = [instance.candidates[c].margin for c in cands]
        assert margins == sorted(margins, reverse=True)
        assert all(instance.candidates[c].bid == b for c in cands)


def test_the_per_bid_cap_applies_only_to_large_books_and_keeps_each_bids_best_margin() -> None:
    book = read_book(generate_market(300, 5, slots=48))
    full = prepare(book)
    capped = prepare(book, max_per_bid=3, large_book=0)
    assert full.stats["pruned_per_bid_cap"] == 0
    assert capped.stats["pruned_per_bid_cap"] == len(full.candidates) - len(capped.candidates)
    for mine, theirs in zip(capped.by_bid, full.by_bid, strict=True):
        assert len(mine) == min(3, len(theirs))
        if mine:
            assert capped.candidates[mine[0]].margin == full.candidates[theirs[0]].margin
