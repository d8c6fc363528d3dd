"""The ledger port: posting balanced transactions, reading holds, balances and statements.

`gpux.adapters.postgres.ledger.PgLedger` implements it inside whichever transaction it is
given (a unit of work, or a clearing round's freeze or commit transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from gpux.domain.ledger import Hold, Posting


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's balances: free to bid or withdraw, and held for open bids."""

    account_id: str
    available: Decimal
    held: Decimal


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored ledger posting."""

    id: int
    tx_id: int
    account_id: str
    bucket: str
    kind: str
    amount: Decimal
    order_id: int | None
    auction_id: int | None
    created_at: datetime


class Ledger(Protocol):
    """The append-only double-entry ledger and the balances derived from it."""

    async def post(self, postings: Sequence[Posting], *, auction_id: int | None = None) -> int:
        """Append one balanced transaction and apply it to the balances; its id."""
        ...

    async def balance(self, account_id: str, *, for_update: bool = False) -> Balance:
        """An account's balances (zero if it never had money), locked when `for_update`."""
        ...

    async def holds(self, order_ids: Sequence[int]) -> dict[int, Hold]:
        """What is still held for each of these orders (orders holding nothing are left out)."""
        ...

    async def statement(self, account_id: str, *, before_id: int | None, limit: int
                        ) -> list[Entry]:
        """The account's ledger entries, newest first."""
        ...

    async def refresh_halted(self, account_id: str | None) -> None:
        """Lock the balances rows of an account (or all) and set their order-entry fence
        from the account's and the market's halt flags."""
        ...


@dataclass(frozen=True, slots=True)
class Transfer:
    """A deposit or withdrawal made under the caller's reference, and its ledger transaction."""

    account_id: str
    kind: str
    reference: str
    amount: Decimal
    tx_id: int | None
    created_at: datetime


class Transfers(Protocol):
    """Deposits and withdrawals by reference (what makes repeating one safe)."""

    async def claim(self, account_id: str, kind: str, reference: str,
                    amount: Decimal) -> Transfer | None:
        """Record a transfer under `reference` (None), or return the one recorded before.
        A concurrent claim of the same reference waits for this transaction to end."""
        ...

    async def posted(self, account_id: str, kind: str, reference: str, tx_id: int) -> None:
        """Name the ledger transaction a claimed transfer was posted as."""
        ...
