"""Moving money when orders leave the book: holds released on cancel and expiry, and a
cleared round settled from its fills. Each runs inside the transaction that changes the
orders' statuses (the caller holds their row locks), so it happens exactly once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from gpux.domain import ledger as rules
from gpux.domain.rounds import Fill
from gpux.service.ledger_ports import Ledger


async def release_holds(ledger: Ledger, order_ids: Iterable[int]) -> None:
    """Return to their buyers what is held for these orders (now cancelled or expired)."""
    holds = await ledger.holds(sorted(set(order_ids)))
    if holds:
        await ledger.post(rules.release(holds[k] for k in sorted(holds)))


async def settle_round(ledger: Ledger, auction_id: int, fills: Sequence[Fill],
                       released: Iterable[int], fee_bps: int) -> None:
    """Settle a cleared round in its commit transaction: filled bids pay their clearing
    payment from their holds (the rest returns), sellers get their revenue less the fee, the
    exchange the fees; the holds of `released` bids (cancelled at commit) return whole."""
    payments: dict[int, Decimal] = defaultdict(Decimal)
    revenue: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for f in fills:
        if f.side == "bid":
            payments[f.order_id] += f.amount
        else:
            revenue[f.order_id, f.account_id] += f.amount
    holds = await ledger.holds(sorted(set(payments) | set(released)))
    proceeds = [rules.Proceeds(order_id, account, amount)
                for (order_id, account), amount in sorted(revenue.items())]
    postings = rules.settle_round(holds, payments, proceeds, fee_bps)
    postings += rules.release(holds[k] for k in sorted(holds) if k not in payments)
    if postings:
        await ledger.post(postings, auction_id=auction_id)
