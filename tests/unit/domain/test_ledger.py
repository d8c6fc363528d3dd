"""The ledger's rules: balanced postings, the fee rounded down, settling a round exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpux.domain import ledger as rules
from gpux.domain.bands import band_of, check_ask_band, check_bid_band
from gpux.domain.errors import InvalidValue, PriceOutOfBand
from gpux.domain.orders import AskOrder, BidAlternative, BidLeg, BidOrder

_micros = st.integers(0, 10**12).map(lambda m: Decimal(m) / 1_000_000)


def test_the_fee_is_rounded_down_to_the_micro_dollar() -> None:
    assert rules.fee_of(Decimal("10.000099"), 100) == Decimal("0.100000")
    assert rules.fee_of(Decimal("0.000099"), 100) == Decimal("0")
    assert rules.fee_of(Decimal("3"), 10_000) == Decimal("3")


@given(revenue=_micros, bps=st.integers(0, 10_000))
def test_the_fee_never_exceeds_the_rate_nor_falls_a_micro_dollar_short(
        revenue: Decimal, bps: int) -> None:
    fee = rules.fee_of(revenue, bps)
    exact = revenue * bps / 10_000
    assert fee <= exact < fee + Decimal("0.000001")


def test_amounts_must_be_positive_whole_micro_dollars() -> None:
    for bad in ("0", "-1", "0.0000001", "NaN"):
        with pytest.raises(InvalidValue):
            rules.positive_amount(Decimal(bad))


def test_a_round_settles_payments_revenue_and_fees_to_zero() -> None:
    holds = {1: rules.Hold(1, "alice", Decimal("100"))}
    postings = rules.settle_round(holds, {1: Decimal("40")},
                                  [rules.Proceeds(9, "acme", Decimal("40"))], 250)
    net = rules.net_by_bucket(postings)
    assert net == {("alice", "held"): Decimal("-100"), ("alice", "available"): Decimal("60"),
                   ("acme", "available"): Decimal("39"),
                   (rules.EXCHANGE_FEES, "available"): Decimal("1")}


def test_a_round_whose_bids_and_asks_do_not_balance_settles_nothing() -> None:
    holds = {1: rules.Hold(1, "alice", Decimal("100"))}
    with pytest.raises(rules.UnbalancedLedger):
        rules.settle_round(holds, {1: Decimal("40")},
                           [rules.Proceeds(9, "acme", Decimal("39.999999"))], 0)
    with pytest.raises(rules.UnbalancedLedger):
        rules.settle_round({}, {1: Decimal("40")}, [rules.Proceeds(9, "a", Decimal("40"))], 0)


def test_the_band_is_a_percentage_either_side_of_the_index() -> None:
    assert band_of(Decimal("2"), Decimal("20")) == (Decimal("1.6"), Decimal("2.4"))


def test_a_bid_passes_the_band_of_any_model_it_accepts_that_has_an_index() -> None:
    t = datetime(2030, 1, 1, tzinfo=UTC)
    leg = BidLeg(2, 5, gpu=("H100", "A100-80GB"))
    bid = BidOrder("b", (BidAlternative(t, t + timedelta(hours=10), (leg,),
                                        value=Decimal("15")),))  # 1.50 per GPU-hour
    index = {"H100": Decimal("2.00"), "A100-80GB": Decimal("1.40")}
    check_bid_band(bid, index, Decimal("10"))
    with pytest.raises(PriceOutOfBand) as err:
        check_bid_band(bid, {"H100": Decimal("2.00")}, Decimal("10"))
    assert err.value.problems[0].path == "alternatives[0].value"
    check_bid_band(bid, {}, Decimal("10"))
    ask = AskOrder("a", "p1", 4, t, t + timedelta(hours=4), Decimal("3"))
    with pytest.raises(PriceOutOfBand):
        check_ask_band(ask, "H100", index, Decimal("10"))
