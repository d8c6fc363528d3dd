"""Service credits: the tier schedule, lost GPU-hours pro rata, exact rounding, collateral."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpux.domain import credits as cr
from gpux.domain.errors import InvalidOutage, InvalidValue
from gpux.domain.ledger import check_balanced, net_by_bucket

H = timedelta(hours=1)
T0 = datetime(2026, 12, 1, 10, tzinfo=UTC)


def _c(cid: int, holder: str, gpus: int, start: int, end: int, price: str
       ) -> cr.HeldContract:
    return cr.HeldContract(cid, holder, gpus, T0 + start * H, T0 + end * H, Decimal(price))


def test_the_default_schedule_credits_more_the_higher_the_tier() -> None:
    sched = cr.CreditSchedule.of()
    pcts = [sched.percent(Decimal(t)) for t in ("99.999", "99.99", "99.9", "99.0")]
    assert pcts == [Decimal(100), Decimal(50), Decimal(25), Decimal(10)]
    assert sched.percent(Decimal("99.900")) == Decimal(25)
    assert [cr.tier_name(Decimal(t)) for t in ("99.900", "99.000")] == ["99.9", "99.0"]


def test_a_schedule_must_cover_every_tier_stay_within_100_and_rise_with_the_tier() -> None:
    with pytest.raises(InvalidValue, match="each uptime tier"):
        cr.CreditSchedule.of({Decimal("99.9"): Decimal(10)})
    base = dict(cr.DEFAULT_CREDIT_PERCENT)
    with pytest.raises(InvalidValue, match="0 to 100"):
        cr.CreditSchedule.of({**base, Decimal("99.999"): Decimal(101)})
    with pytest.raises(InvalidValue, match="lower tier"):
        cr.CreditSchedule.of({**base, Decimal("99.99"): Decimal(5)})


def test_an_outage_report_needs_whole_hours_in_order_and_positive_gpus() -> None:
    with pytest.raises(InvalidOutage) as err:
        cr.OutageSpec(T0, T0)
    assert err.value.problem.path == "ends_at"
    with pytest.raises(InvalidOutage) as err:
        cr.OutageSpec(T0 + timedelta(minutes=30), T0 + 2 * H)
    assert err.value.problem.path == "starts_at"
    with pytest.raises(InvalidOutage) as err:
        cr.OutageSpec(T0.replace(tzinfo=None), T0.replace(tzinfo=None) + H)
    assert err.value.problem.path == "starts_at"
    # A whole hour at +05:30 is half past in UTC: not an hour of the market.
    india = timezone(timedelta(hours=5, minutes=30))
    with pytest.raises(InvalidOutage) as err:
        cr.OutageSpec(datetime(2026, 12, 1, 10, tzinfo=india), T0 + 20 * H)
    assert err.value.problem.path == "starts_at"
    assert cr.OutageSpec(datetime(2026, 12, 1, 10, tzinfo=timezone(timedelta(hours=2))),
                         T0 + 20 * H).starts_at.astimezone(UTC).minute == 0
    with pytest.raises(InvalidOutage) as err:
        cr.OutageSpec(T0, T0 + H, gpus=0)
    assert err.value.problem.path == "gpus"
    with pytest.raises(InvalidOutage) as err:
        cr.OutageSpec(T0, T0 + (cr.MAX_OUTAGE_HOURS + 1) * H)
    assert err.value.problem.path == "ends_at"
    with pytest.raises(InvalidOutage) as err:
        cr.OutageSpec(T0, T0 + H, reason="x" * 501)
    assert err.value.problem.path == "reason"
    with pytest.raises(InvalidOutage) as err:
        cr.OutageSpec(T0, T0 + H, gpus=9).affected_gpus(8)
    assert (err.value.problem.path, err.value.problem.value) == ("gpus", 9)


def test_an_outage_credits_the_tier_percent_of_the_lost_hours_price_rounded_down() -> None:
    # 4 GPUs for 10 hours for 100.00: 2.50 per GPU-hour. Down 3 of its hours: 12 GPU-hours,
    # worth 30.00; a 99.99 pool credits 50 %: 15.00.
    contract = _c(1, "lab", 4, 0, 10, "100")
    spec = cr.OutageSpec(T0 + 2 * H, T0 + 5 * H)
    [credit] = cr.assess([contract], 8, spec, Decimal(50), Decimal("1000"))
    assert (credit.gpu_hours, credit.owed, credit.paid) == (12, Decimal("15"), Decimal("15"))
    # 1/3 of a cent per GPU-hour: 100/3 * 1 h ... rounded down to the micro-dollar.
    odd = _c(2, "lab", 3, 0, 1, "0.01")
    [credit] = cr.assess([odd], 3, cr.OutageSpec(T0, T0 + H), Decimal(100), Decimal(1))
    assert credit.owed == Decimal("0.01")
    odd = _c(3, "lab", 3, 0, 1, "0.01")
    [credit] = cr.assess([odd], 3, cr.OutageSpec(T0, T0 + H, gpus=1), Decimal(100), Decimal(1))
    assert credit.owed == Decimal("0.003333")


def test_a_curtailment_only_costs_holders_what_was_sold_beyond_the_gpus_still_up() -> None:
    # Pool of 8; hour 0: 6 sold (a 4, b 2); hour 1: 2 sold (a). Curtail 4 GPUs for both.
    a = _c(1, "a", 4, 0, 2, "80")
    b = _c(2, "b", 2, 0, 1, "20")
    c = _c(3, "c", 2, 1, 2, "20")
    spec = cr.OutageSpec(T0, T0 + 2 * H, gpus=4)
    lost = cr.lost_gpu_hours([a, b, c], 8, 4, spec.starts_at, spec.ends_at)
    # hour 0: 6 sold, 4 up -> 2 lost: a 4/6 * 2, b 2/6 * 2; hour 1: a+c = 6 sold -> 2 lost.
    assert lost == {1: Fraction(4, 3) + Fraction(4, 3), 2: Fraction(2, 3), 3: Fraction(2, 3)}
    only_two = _c(4, "d", 2, 0, 2, "20")
    assert cr.lost_gpu_hours([only_two], 8, 4, spec.starts_at, spec.ends_at) == {}


def test_credits_beyond_the_providers_balance_are_paid_pro_rata_and_never_exceed_it() -> None:
    owed = {1: Decimal("30"), 2: Decimal("10")}
    assert cr.pay_from(owed, Decimal("40")) == owed
    assert cr.pay_from(owed, Decimal("20")) == {1: Decimal("15"), 2: Decimal("5")}
    assert cr.pay_from(owed, Decimal("0.000001")) == {1: Decimal(0), 2: Decimal(0)}
    assert cr.pay_from(owed, Decimal(0)) == {1: Decimal(0), 2: Decimal(0)}


def test_credit_postings_move_money_from_the_provider_to_the_holders_and_sum_to_zero() -> None:
    credits = [cr.Credit(1, "a", Fraction(1), Decimal("1.5"), Decimal("1.5")),
               cr.Credit(2, "b", Fraction(1), Decimal("2"), Decimal("0")),
               cr.Credit(3, "a", Fraction(1), Decimal("0.25"), Decimal("0.25"))]
    postings = cr.credit_postings("acme", credits)
    check_balanced(postings)
    assert {p.kind for p in postings} == {"credit"}
    assert net_by_bucket(postings) == {("a", "available"): Decimal("1.75"),
                                       ("acme", "available"): Decimal("-1.75")}
    assert cr.credit_postings("acme", []) == []


_contract = st.builds(
    lambda cid, gpus, start, length, cents: _c(cid, f"h{cid % 3}", gpus, start,
                                               start + length, str(Decimal(cents) / 100)),
    st.integers(1, 10_000), st.integers(1, 4), st.integers(0, 6), st.integers(1, 6),
    st.integers(1, 100_000))


@given(contracts=st.lists(_contract, max_size=6, unique_by=lambda c: c.id),
       start=st.integers(0, 8), length=st.integers(1, 6), down=st.integers(1, 24),
       pct=st.sampled_from([Decimal(0), Decimal(10), Decimal("33.3"), Decimal(100)]),
       available=st.integers(0, 10**9).map(lambda m: Decimal(m) / 1_000_000))
def test_credits_are_exact_bounded_and_sum_to_what_the_provider_pays(
        contracts: list[cr.HeldContract], start: int, length: int, down: int,
        pct: Decimal, available: Decimal) -> None:
    pool = 24
    spec = cr.OutageSpec(T0 + start * H, T0 + (start + length) * H, gpus=min(down, pool))
    credits = cr.assess(contracts, pool, spec, pct, available)
    by_id = {c.id: c for c in contracts}
    for credit in credits:
        c = by_id[credit.contract_id]
        assert 0 < credit.gpu_hours <= c.gpu_hours
        exact = Fraction(pct) / 100 * Fraction(c.price) * credit.gpu_hours / c.gpu_hours
        assert Fraction(credit.owed) <= exact < Fraction(credit.owed) + Fraction(1, 10**6)
        assert 0 <= credit.paid <= credit.owed
        assert credit.paid == credit.paid.quantize(Decimal("0.000001"))
    assert sum((c.paid for c in credits), Decimal(0)) <= max(available, Decimal(0))
    if sum((c.owed for c in credits), Decimal(0)) <= available:
        assert all(c.paid == c.owed for c in credits)
    check_balanced(cr.credit_postings("acme", credits))
