"""The double-entry ledger's rules: accounts, postings, the fee, and settling a round.

Every movement of money is a ledger transaction of postings that sum to zero. A posting moves
an amount into (positive) or out of (negative) one bucket of one ledger account: `available`
(free to bid or withdraw) or `held` (reserved for an open bid). Besides the exchange's
accounts there are two system accounts: the exchange's fee account and the external bank,
whose balance is minus the money deposited and not withdrawn (so every balance of the whole
ledger sums to zero, and no other balance is ever negative).

Fees are charged to sellers: `fee = floor(revenue * fee_bps / 10_000)` to the micro-dollar,
rounded down, so a seller is never charged more than the rate and the split is exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from gpux.domain.errors import InvalidValue

EXCHANGE_FEES = "exchange:fees"
EXTERNAL_BANK = "external:bank"
SYSTEM_ACCOUNTS = (EXCHANGE_FEES, EXTERNAL_BANK)
MICRO = Decimal("0.000001")
MAX_FEE_BPS = 10_000

Bucket = Literal["available", "held"]
Kind = Literal["deposit", "withdrawal", "hold", "release", "payment", "revenue", "fee",
               "credit"]


class UnbalancedLedger(AssertionError):
    """A ledger transaction whose postings do not sum to zero: a bug, never written."""


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of a ledger transaction: `amount` into (or, negative, out of) a bucket."""

    account_id: str
    bucket: Bucket
    kind: Kind
    amount: Decimal
    order_id: int | None = None

    def __post_init__(self) -> None:
        if self.amount != self.amount.quantize(MICRO):
            raise InvalidValue("amount", "must be whole micro-dollars", self.amount)


@dataclass(frozen=True, slots=True)
class Hold:
    """What is held for one open bid."""

    order_id: int
    account_id: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Proceeds:
    """What one ask's deliveries earned in a round."""

    order_id: int
    account_id: str
    revenue: Decimal


def positive_amount(amount: Decimal, field: str = "amount") -> Decimal:
    """A deposit or withdrawal amount: positive, whole micro-dollars."""
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(MICRO):
        raise InvalidValue(field, "must be a positive amount in whole micro-dollars", amount)
    return amount


def fee_of(revenue: Decimal, fee_bps: int) -> Decimal:
    """The exchange's fee on a seller's revenue: `fee_bps` basis points, rounded down."""
    if not 0 <= fee_bps <= MAX_FEE_BPS:
        raise InvalidValue("fee_bps", f"must be 0 to {MAX_FEE_BPS}", fee_bps)
    return (revenue * fee_bps / MAX_FEE_BPS).quantize(MICRO, rounding=ROUND_DOWN)


def check_balanced(postings: Sequence[Posting]) -> None:
    """Raise `UnbalancedLedger` unless the postings sum to zero."""
    total = sum((p.amount for p in postings), Decimal(0))
    if total != 0:
        raise UnbalancedLedger(f"ledger transaction sums to {total}, not 0: {postings!r}")


def deposit(account_id: str, amount: Decimal) -> list[Posting]:
    """Money arrives from the bank into an account's available balance."""
    return [Posting(EXTERNAL_BANK, "available", "deposit", -amount),
            Posting(account_id, "available", "deposit", amount)]


def withdrawal(account_id: str, amount: Decimal) -> list[Posting]:
    """Money leaves an account's available balance for the bank."""
    return [Posting(account_id, "available", "withdrawal", -amount),
            Posting(EXTERNAL_BANK, "available", "withdrawal", amount)]


def hold(account_id: str, order_id: int, amount: Decimal) -> list[Posting]:
    """Reserve a bid's largest alternative value."""
    return [Posting(account_id, "available", "hold", -amount, order_id),
            Posting(account_id, "held", "hold", amount, order_id)]


def release(holds: Iterable[Hold]) -> list[Posting]:
    """Return what is held for bids that left the book unfilled."""
    out: list[Posting] = []
    for h in holds:
        if h.amount:
            out += [Posting(h.account_id, "held", "release", -h.amount, h.order_id),
                    Posting(h.account_id, "available", "release", h.amount, h.order_id)]
    return out


def settle_round(holds: Mapping[int, Hold], payments: Mapping[int, Decimal],
                 proceeds: Sequence[Proceeds], fee_bps: int) -> list[Posting]:
    """The postings of a cleared round: each filled bid pays from its hold and gets the rest
    back; each seller is credited its revenue less the fee; the fees go to the exchange.

    Money in equals money out: what the bids pay equals what the asks earn, to the
    micro-dollar, or this raises `UnbalancedLedger` and nothing is written.
    """
    paid = sum(payments.values(), Decimal(0))
    earned = sum((p.revenue for p in proceeds), Decimal(0))
    if paid != earned:
        raise UnbalancedLedger(f"bids pay {paid} but asks earn {earned}")
    out: list[Posting] = []
    for order_id, payment in sorted(payments.items()):
        h = holds.get(order_id)
        if h is None or h.amount < payment:
            raise UnbalancedLedger(
                f"bid {order_id} pays {payment} but holds {h.amount if h else 0}")
        out.append(Posting(h.account_id, "held", "payment", -payment, order_id))
        out += release([Hold(order_id, h.account_id, h.amount - payment)])
    fees = Decimal(0)
    for p in proceeds:
        fee = fee_of(p.revenue, fee_bps)
        fees += fee
        out.append(Posting(p.account_id, "available", "revenue", p.revenue, p.order_id))
        if fee:
            out.append(Posting(p.account_id, "available", "fee", -fee, p.order_id))
    if fees:
        out.append(Posting(EXCHANGE_FEES, "available", "fee", fees))
    check_balanced(out)
    return out


def net_by_bucket(postings: Iterable[Posting]) -> dict[tuple[str, Bucket], Decimal]:
    """The net change of each (account, bucket) a transaction touches."""
    net: dict[tuple[str, Bucket], Decimal] = defaultdict(Decimal)
    for p in postings:
        net[p.account_id, p.bucket] += p.amount
    return dict(net)
