"""The pure half of a clearing round: horizon, clipping, ask splitting, expiry, settling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from gpux.clearing.auction import clear
from gpux.clearing.solver import SolveParams
from gpux.domain.bookjson import read_book
from gpux.domain.errors import InvalidValue
from gpux.domain.orders import BidLeg
from gpux.domain.rounds import (
    EXTRA_KEY,
    Horizon,
    OpenAlternative,
    OpenAsk,
    OpenBid,
    OpenPool,
    SoldRange,
    freeze_round,
    horizon_of,
    order_of,
    settle,
)

H = timedelta(hours=1)
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
POOL = OpenPool("p1", "prov", "H100", "us-east", Decimal("99.9"))


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def bid(order_id: int, *windows: tuple[float, float], gpus: int = 2, hours: int = 3,
        value: str = "100", buyer: str = "buyer") -> OpenBid:
    return OpenBid(order_id, buyer, tuple(
        OpenAlternative(Decimal(value), at(lo), at(hi), (BidLeg(gpus, hours, 0, ("H100",)),))
        for lo, hi in windows))


def ask(order_id: int, lo: float, hi: float, gpus: int = 4, price: str = "1.5",
        sold: tuple[SoldRange, ...] = ()) -> OpenAsk:
    return OpenAsk(order_id, "prov", "p1", gpus, Decimal(price), at(lo), at(hi), sold)


def test_horizon_starts_at_the_first_whole_hour_strictly_after_the_cutoff() -> None:
    assert Horizon.after(T0, 24).start == T0 + H
    assert Horizon.after(T0 + timedelta(microseconds=1), 24).start == T0 + H
    assert Horizon.after(T0 + timedelta(minutes=59, seconds=59), 24).start == T0 + H
    assert Horizon.after(T0 - timedelta(microseconds=1), 24).start == T0


def test_horizon_reads_other_timezones_as_utc_and_refuses_naive_times() -> None:
    plus_two = datetime(2026, 3, 2, 12, 30, tzinfo=ZoneInfo("Etc/GMT-2"))
    assert Horizon.after(plus_two, 1).start == T0 + H
    with pytest.raises(InvalidValue):
        Horizon.after(datetime(2026, 3, 2, 10, 0), 1)


def test_horizon_slots_round_inward() -> None:
    h = Horizon(T0, 10)
    assert (h.slot_ceil(at(0.5)), h.slot_floor(at(0.5))) == (1, 0)
    assert (h.slot_ceil(at(2)), h.slot_floor(at(2))) == (2, 2)
    assert h.end == at(10) and h.at(3) == at(3)


def test_bid_alternatives_are_clipped_to_the_horizon() -> None:
    frozen = freeze_round(Horizon(T0, 24), [POOL], [bid(1, (-5, 6), (20, 40))], [])
    (doc,) = frozen.book["bids"]  # type: ignore[misc]
    assert doc["id"] == "b1" and doc["buyer"] == "buyer"
    assert [(a["earliest_start"], a["latest_end"]) for a in doc["alternatives"]] == [(0, 6),
                                                                                   (20, 24)]
    assert frozen.in_book == (1,)


def test_an_alternative_that_no_longer_fits_is_left_out_and_its_index_kept() -> None:
    frozen = freeze_round(Horizon(T0, 24), [POOL], [bid(1, (-5, 2), (4, 9))], [])
    (doc,) = frozen.book["bids"]  # type: ignore[misc]
    assert len(doc["alternatives"]) == 1
    assert frozen.book[EXTRA_KEY]["alternatives"] == {"b1": [1]}  # type: ignore[index]


def test_a_bid_whose_windows_have_ended_expires() -> None:
    frozen = freeze_round(Horizon(T0, 24), [POOL], [bid(1, (-10, -1), (-4, 2))], [])
    assert frozen.expired == (1,) and frozen.book["bids"] == []


def test_a_bid_beyond_the_horizon_waits() -> None:
    frozen = freeze_round(Horizon(T0, 24), [POOL], [bid(1, (30, 40)), bid(2, (20, 30, ),
                                                                         hours=8)], [])
    assert frozen.waiting == (1, 2) and frozen.expired == () and frozen.in_book == ()


def test_a_window_of_partial_hours_rounds_inward() -> None:
    frozen = freeze_round(Horizon(T0, 24), [POOL], [bid(1, (0.5, 3.5), hours=3)], [])
    assert frozen.waiting == () and frozen.expired == (1,)


def test_an_ask_offers_what_earlier_rounds_left_unsold_in_runs() -> None:
    sold = (SoldRange(at(2), at(4), 3), SoldRange(at(3), at(5), 1))
    frozen = freeze_round(Horizon(T0, 24), [POOL], [], [ask(7, -2, 8, gpus=4, sold=sold)])
    rows = [(a["id"], a["start"], a["end"], a["gpus"])  # type: ignore[index]
            for a in frozen.book["asks"]]  # type: ignore[attr-defined]
    # hour 2: 1 left, hour 3: 0 left, hour 4: 3 left
    assert rows == [("a7.0", 0, 2, 4), ("a7.1", 2, 3, 1), ("a7.2", 4, 5, 3), ("a7.3", 5, 8, 4)]
    assert all(order_of(r[0]) == 7 for r in rows)
    assert frozen.in_book == (7,)


def test_an_ask_in_one_run_keeps_its_plain_id_and_is_clipped() -> None:
    frozen = freeze_round(Horizon(T0, 10), [POOL], [], [ask(3, -4, 30)])
    (doc,) = frozen.book["asks"]  # type: ignore[misc]
    assert (doc["id"], doc["start"], doc["end"], doc["gpus"]) == ("a3", 0, 10, 4)


def test_asks_expire_when_their_hours_have_passed_and_wait_when_sold_or_later() -> None:
    sold_out = ask(2, 0, 4, gpus=2, sold=(SoldRange(at(0), at(4), 2),))
    frozen = freeze_round(Horizon(T0, 10), [POOL], [],
                          [ask(1, -5, 0.5), sold_out, ask(3, 12, 20)])
    assert frozen.expired == (1,) and frozen.waiting == (2, 3) and frozen.book["asks"] == []


def test_sold_out_counts_the_whole_window() -> None:
    a = ask(1, 0, 4, gpus=2)
    assert not a.sold_out([SoldRange(at(1), at(4), 2)])
    assert a.sold_out([SoldRange(at(0), at(2), 2), SoldRange(at(2), at(4), 2)])


def test_the_book_is_valid_gpu_auction_and_names_its_horizon() -> None:
    h = Horizon(T0, 24)
    frozen = freeze_round(h, [POOL], [bid(1, (0, 10))], [ask(2, 0, 24)])
    book = read_book(frozen.book)
    assert book.slots == 24 and len(book.bids) == 1 and len(book.asks) == 1
    assert horizon_of(frozen.book) == h


def test_settled_fills_balance_to_the_micro_dollar() -> None:
    h = Horizon(T0, 24)
    bids = [bid(10 + i, (i, 12 + i), gpus=1 + i % 3, hours=2 + i % 4,
                value=str(Decimal("7.3") * (i + 5)), buyer=f"u{i % 3}") for i in range(9)]
    asks = [ask(1, 0, 24, gpus=4, price="1.3333"), ask(2, 2, 20, gpus=3, price="0.777")]
    frozen = freeze_round(h, [POOL], bids, asks)
    result = clear(read_book(frozen.book), SolveParams(time_limit=5, workers=1))
    s = settle(frozen.book, result)
    assert result.accepted, "the market should trade"
    assert s.bid_amount == s.ask_amount
    assert s.bid_amount == sum((a.payment for a in result.accepted), Decimal(0))
    for acc in result.accepted:
        legs = [f for f in s.fills if f.side == "bid" and f.order_id == order_of(acc.bid)]
        assert sum((f.amount for f in legs), Decimal(0)) == acc.payment
    assert s.volume_gpu_hours == sum(f.gpu_hours for f in s.fills if f.side == "ask")
    (row,) = s.index
    assert row.gpu == "H100" and row.gpu_hours == s.volume_gpu_hours
    assert abs(row.price * row.gpu_hours - s.bid_amount) <= Decimal("0.000001") * row.gpu_hours
    for f in s.fills:
        assert h.start <= f.starts_at < f.ends_at <= h.end


def test_settling_maps_kept_alternatives_back_to_their_placed_index() -> None:
    frozen = freeze_round(Horizon(T0, 24), [POOL], [bid(1, (-5, 2), (4, 9), value="500")],
                          [ask(2, 0, 24, price="1")])
    result = clear(read_book(frozen.book), SolveParams(time_limit=5, workers=1))
    s = settle(frozen.book, result)
    (fill,) = [f for f in s.fills if f.side == "bid"]
    assert fill.alternative == 1 and fill.leg == 0
    assert s.filled_bids == (1,)
    assert s.sold[2][0].gpus == 2


def test_an_empty_round_is_a_valid_book() -> None:
    frozen = freeze_round(Horizon(T0, 168), [], [], [])
    result = clear(read_book(frozen.book), SolveParams(time_limit=2, workers=1))
    s = settle(frozen.book, result)
    assert s.fills == () and s.index == () and s.volume_gpu_hours == 0


def test_the_index_by_delivery_day_splits_each_fill_at_midnight_utc() -> None:
    # T0 is 10:00; a 10-hour job placed at slot 10 runs 20:00-06:00: 4 hours one day, 6 the
    # next. One ask at a flat 2.00 reserve sells it; a second bid buys hours of day two only.
    h = Horizon(T0, 48)
    bids = [bid(1, (10, 20), gpus=3, hours=10, value="900"),
            bid(2, (16, 20), gpus=1, hours=4, value="400")]
    frozen = freeze_round(h, [POOL], bids, [ask(9, 0, 48, gpus=4, price="2")])
    result = clear(read_book(frozen.book), SolveParams(time_limit=5, workers=1))
    s = settle(frozen.book, result)
    assert sorted(s.filled_bids) == [1, 2]
    rows = {(r.gpu, r.day.isoformat()): r for r in s.daily_index}
    assert set(rows) == {("H100", "2026-03-02"), ("H100", "2026-03-03")}
    assert rows["H100", "2026-03-02"].gpu_hours == 3 * 4
    assert rows["H100", "2026-03-03"].gpu_hours == 3 * 6 + 1 * 4
    assert sum(r.gpu_hours for r in s.daily_index) == s.index[0].gpu_hours
    # What the days carry adds up to what the bids pay (each day's mean is to the micro).
    paid = sum((r.price * r.gpu_hours for r in s.daily_index), Decimal(0))
    assert abs(paid - s.bid_amount) <= Decimal("0.000001") * s.volume_gpu_hours
    for r in s.daily_index:
        assert r.price >= Decimal("2")
