"""Resale in the domain: offers split contracts, rounds split sold pieces, every GPU-hour
stays with exactly one piece, and no buyer is served from its own offer."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpux.domain.errors import (
    ContractNotHeld,
    ContractSuperseded,
    OfferExceedsContract,
    OfferOutsideContract,
)
from gpux.domain.resale import HeldContract, NewContract, Piece, check_offer, offer_pieces, prorate
from gpux.domain.resale_round import assign, round_contracts
from gpux.domain.rounds import Fill, PriceRow

H = timedelta(hours=1)
T0 = datetime(2026, 12, 1, 8, tzinfo=UTC)
NOW = T0 - 5 * H


def _piece(**kw: object) -> Piece:
    base: dict[str, object] = {"id": 7, "holder_id": "lab", "provider_id": "acme",
                               "pool_id": "p1", "gpus": 4, "starts_at": T0,
                               "ends_at": T0 + 8 * H, "price": Decimal("64")}
    return Piece(**{**base, **kw})  # type: ignore[arg-type]


def _gpu_hours(pieces: list[NewContract]) -> dict[datetime, int]:
    per_hour: dict[datetime, int] = defaultdict(int)
    for p in pieces:
        t = p.starts_at
        while t < p.ends_at:
            per_hour[t] += p.gpus
            t += H
    return dict(per_hour)


def test_offering_part_of_a_contract_splits_it_into_pieces_covering_it_exactly() -> None:
    pieces = offer_pieces(_piece(), 3, T0 + 2 * H, T0 + 5 * H, offer_id=99)
    assert [(p.gpus, p.starts_at - T0, p.ends_at - T0, p.offer_id) for p in pieces] == [
        (3, 2 * H, 5 * H, 99), (1, 2 * H, 5 * H, None), (4, 0 * H, 2 * H, None),
        (4, 5 * H, 8 * H, None)]
    assert _gpu_hours(list(pieces)) == {T0 + k * H: 4 for k in range(8)}
    assert sum(p.price for p in pieces) == Decimal("64")
    assert {(p.parent_id, p.holder_id, p.provider_id) for p in pieces} == {(7, "lab", "acme")}


def test_offering_all_of_a_contract_splits_nothing() -> None:
    assert offer_pieces(_piece(), 4, T0, T0 + 8 * H, offer_id=99) == ()


def test_prorating_shares_a_price_to_the_micro_dollar_exactly() -> None:
    shares = prorate(Decimal("10"), [1, 1, 1])
    assert shares == [Decimal("3.333334"), Decimal("3.333333"), Decimal("3.333333")]
    assert sum(shares) == Decimal("10")


@pytest.mark.parametrize(("held", "caller", "gpus", "start", "end", "error", "field"), [
    (HeldContract(_piece(), False, None), "other", 1, 1, 2, ContractNotHeld, "contract_id"),
    (HeldContract(_piece(), True, None), "lab", 1, 1, 2, ContractSuperseded, "contract_id"),
    (HeldContract(_piece(starts_at=NOW - H), False, None), "lab", 1, -6, 2,
     OfferOutsideContract, "starts_at"),
    (HeldContract(_piece(), False, None), "lab", 1, -1, 2, OfferOutsideContract, "starts_at"),
    (HeldContract(_piece(), False, None), "lab", 1, 1, 9, OfferOutsideContract, "ends_at"),
    (HeldContract(_piece(), False, None), "lab", 5, 1, 2, OfferExceedsContract, "gpus"),
    (HeldContract(_piece(), False, 12), "lab", 1, 1, 2, OfferExceedsContract, "gpus"),
])
def test_an_offer_is_refused_naming_the_field_when_it_breaks_a_rule(
        held: HeldContract, caller: str, gpus: int, start: int, end: int,
        error: type[Exception], field: str) -> None:
    with pytest.raises(error) as info:
        check_offer(held, caller, gpus, T0 + start * H, T0 + end * H, NOW)
    assert info.value.problems[0].path == field  # type: ignore[attr-defined]


def _fill(order: int, who: str, side: str, gpus: int, start: int, end: int,
          amount: str) -> Fill:
    return Fill(order, who, side, "p1", T0 + start * H, T0 + end * H, gpus,  # type: ignore[arg-type]
                Decimal(amount))


def test_a_round_splits_the_offered_piece_between_its_buyer_and_its_holder() -> None:
    offered = _piece(id=20, gpus=3, starts_at=T0 + 2 * H, ends_at=T0 + 5 * H,
                     price=Decimal("24"), offer_id=50)
    fills = [
        (1, _fill(60, "bob", "bid", 2, 3, 5, "8")),   # 2 GPUs x 2 h at 2/GPU-h
        (2, _fill(61, "lab", "bid", 1, 3, 4, "2")),   # the reseller's own bid: not its offer
        (3, _fill(50, "lab", "ask", 2, 3, 5, "8")),
        (4, _fill(70, "acme", "ask", 1, 3, 4, "2")),
    ]
    split = round_contracts(fills, {"p1": "acme"}, {50: [offered]},
                            [PriceRow("p1", T0, T0 + 8 * H, Decimal(2))])
    assert split.superseded == (20,)
    got = sorted((c.holder_id, c.gpus, c.starts_at - T0, c.ends_at - T0, c.fill_id,
                  c.parent_id, c.offer_id, c.price) for c in split.contracts)
    assert got == [
        ("bob", 2, 3 * H, 5 * H, 1, 20, None, Decimal(8)),
        ("lab", 1, 3 * H, 4 * H, 2, None, None, Decimal(2)),
        # The kept GPU-hours (2 and 3 of the piece's 9) keep their share of its 24: the
        # share of the 4 sold left with them.
        ("lab", 1, 3 * H, 5 * H, None, 20, 50, Decimal("5.333333")),
        ("lab", 3, 2 * H, 3 * H, None, 20, 50, Decimal("8")),
    ]
    assert _gpu_hours([c for c in split.contracts if c.parent_id == 20]) == {
        T0 + k * H: 3 for k in (2, 3, 4)}
    assert all(c.provider_id == "acme" for c in split.contracts)


def test_bid_fills_in_a_pool_without_resale_become_one_contract_each() -> None:
    fills = [(1, _fill(60, "bob", "bid", 2, 3, 5, "8")), (2, _fill(70, "acme", "ask", 2, 3, 5,
                                                                   "8"))]
    split = round_contracts(fills, {"p1": "acme"}, {}, [])
    assert split.superseded == ()
    assert split.contracts == (NewContract("bob", "acme", "p1", 2, T0 + 3 * H, T0 + 5 * H,
                                           Decimal(8), fill_id=1),)


_accounts = st.sampled_from(["a", "b", "c", "d"])


@st.composite
def _hour_of_a_pool(draw: st.DrawFn) -> tuple[list[tuple[int, str, int]],
                                              list[tuple[int | None, str, int]]]:
    """Sellers, then buyers each served by other accounts, as the solver guarantees."""
    supply: list[tuple[int | None, str, int]] = [
        (k, draw(_accounts), draw(st.integers(1, 5))) for k in range(draw(st.integers(1, 4)))]
    total = sum(g for _, _, g in supply)
    demand: list[tuple[int, str, int]] = []
    left = total
    while left:
        g = draw(st.integers(1, left))
        demand.append((len(demand), draw(_accounts), g))
        left -= g
    need: dict[str, int] = defaultdict(int)
    for _, buyer, g in demand:
        need[buyer] += g
    own = {b: sum(g for _, s, g in supply if s == b) for b in need}
    if any(need[b] > total - own[b] for b in need):
        demand = [(i, "z", g) for i, _, g in demand]  # an account that sells nothing
    return demand, supply


@given(_hour_of_a_pool())
def test_every_buyer_is_served_in_full_and_never_from_its_own_account(
        case: tuple[list[tuple[int, str, int]], list[tuple[int | None, str, int]]]) -> None:
    demand, supply = case
    seller_of = {source: seller for source, seller, _ in supply}
    buyer_of = {fill: buyer for fill, buyer, _ in demand}
    got: dict[int, int] = defaultdict(int)
    sold: dict[int | None, int] = defaultdict(int)
    for fill, source, gpus in assign(demand, supply):
        assert gpus > 0 and buyer_of[fill] != seller_of[source]
        got[fill] += gpus
        sold[source] += gpus
    assert dict(got) == {fill: g for fill, _, g in demand}
    assert dict(sold) == {source: g for source, _, g in supply}


def test_a_resale_ask_expires_once_its_first_hour_is_before_the_horizon() -> None:
    from gpux.domain.rounds import Horizon, OpenAsk, OpenPool, freeze_round

    pools = [OpenPool("p1", "acme", "H100", "us-east", Decimal("99.9"))]
    resale = OpenAsk(1, "lab", "p1", 2, Decimal(1), T0, T0 + 4 * H, contract_id=9)
    provider = OpenAsk(2, "acme", "p1", 2, Decimal(1), T0, T0 + 4 * H)
    before = freeze_round(Horizon(T0, 24), pools, [], [resale, provider])
    assert (before.in_book, before.expired) == ((1, 2), ())
    after = freeze_round(Horizon(T0 + H, 24), pools, [], [resale, provider])
    assert (after.in_book, after.expired) == ((2,), (1,))


@st.composite
def _resale_round(draw: st.DrawFn) -> tuple[list[tuple[int, Fill]], dict[int, list[Piece]]]:
    """One pool over hours 0-5: offered pieces of three holders (two offers each at most),
    what each offer and the provider sold, and one-hour bid fills taking exactly that."""
    pieces: dict[int, list[Piece]] = defaultdict(list)
    fills: list[tuple[int, Fill]] = []
    supply: dict[int, list[tuple[str, int]]] = defaultdict(list)
    next_id = iter(range(1, 10_000))
    for holder in ("a", "b", "c"):
        offer_id = 100 + len(pieces)
        for _ in range(draw(st.integers(0, 2))):
            start = draw(st.integers(0, 4))
            end = draw(st.integers(start + 1, 5))
            piece = Piece(next(next_id), holder, "acme", "p1", draw(st.integers(1, 4)),
                          T0 + start * H, T0 + end * H, Decimal(10), offer_id)
            pieces[offer_id].append(piece)
        # What the offer sold: per hour at most its pieces' GPUs, as one-hour ask fills.
        for t in range(6):
            room = sum(p.gpus for p in pieces.get(offer_id, []) if p.starts_at <= T0 + t * H
                       < p.ends_at)
            sold = draw(st.integers(0, room))
            if sold:
                fills.append((next(next_id), _fill(offer_id, holder, "ask", sold, t, t + 1,
                                                   str(sold))))
                supply[t].append((holder, sold))
    for t in range(6):
        fresh = draw(st.integers(0, 3))
        if fresh:
            fills.append((next(next_id), _fill(1, "acme", "ask", fresh, t, t + 1, str(fresh))))
            supply[t].append(("acme", fresh))
        total = sum(g for _, g in supply[t])
        while total:
            g = draw(st.integers(1, total))
            buyer = draw(st.sampled_from(["a", "b", "c", "z"]))
            own = sum(s for who, s in supply[t] if who == buyer)
            taken = sum(f.gpus for _, f in fills if f.side == "bid" and f.account_id == buyer
                        and f.starts_at == T0 + t * H)
            if taken + g > sum(s for _, s in supply[t]) - own:
                buyer = "z"  # sells nothing: never a self-trade
            fills.append((next(next_id), _fill(500 + t, buyer, "bid", g, t, t + 1, str(g))))
            total -= g
    return fills, dict(pieces)


@given(_resale_round())
def test_a_round_moves_every_sold_gpu_hour_to_its_buyer_and_keeps_the_rest_offered(
        case: tuple[list[tuple[int, Fill]], dict[int, list[Piece]]]) -> None:
    fills, offers = case
    split = round_contracts(fills, {"p1": "acme"}, offers,
                            [PriceRow("p1", T0, T0 + 6 * H, Decimal(1))])
    by_id = {p.id: p for ps in offers.values() for p in ps}
    assert set(split.superseded) <= set(by_id)
    for pid in split.superseded:
        children = [c for c in split.contracts if c.parent_id == pid]
        piece = by_id[pid]
        assert _gpu_hours(children) == {t: piece.gpus for t in _hours(piece)}
        for c in children:
            assert c.provider_id == "acme"
            if c.fill_id is None:
                assert (c.holder_id, c.offer_id) == (piece.holder_id, piece.offer_id)
            else:
                assert c.holder_id != piece.holder_id and c.offer_id is None
        # What the holder keeps keeps its share of the piece's price by GPU-hours (to the
        # micro-dollar, rounded down): the share of what sold left with it.
        kept = [c for c in children if c.fill_id is None]
        whole = piece.gpus * len(_hours(piece))
        kept_hours = sum(c.gpus * int((c.ends_at - c.starts_at) / H) for c in kept)
        exact = piece.price * kept_hours / whole
        assert exact - Decimal("0.000001") * len(kept) <= sum(c.price for c in kept) <= exact
    bought = [c for c in split.contracts if c.fill_id is not None]
    for fill_id, f in fills:
        if f.side == "bid":
            mine = [c for c in bought if c.fill_id == fill_id]
            assert {c.holder_id for c in mine} == {f.account_id}
            assert _gpu_hours(mine) == {f.starts_at: f.gpus}
            assert sum(c.price for c in mine) == f.amount
    sold_by_offer: dict[int, int] = defaultdict(int)
    for _, f in fills:
        if f.side == "ask" and f.order_id in offers:
            sold_by_offer[f.order_id] += f.gpus
    moved: dict[int | None, int] = defaultdict(int)
    for c in bought:
        if c.parent_id is not None:
            moved[by_id[c.parent_id].offer_id] += c.gpus * int((c.ends_at - c.starts_at) / H)
    assert dict(moved) == {k: v for k, v in sold_by_offer.items() if v}


def _hours(p: Piece) -> list[datetime]:
    return [p.starts_at + k * H for k in range(int((p.ends_at - p.starts_at) / H))]
