"""The ledger port in memory: append-only entries, balances kept in step, no negative balance."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from gpux.domain.ledger import EXTERNAL_BANK, Hold, Posting, check_balanced
from gpux.service.ledger_ports import Balance, Entry, Ledger

ZERO = Decimal("0.000000")


class NegativeBalance(Exception):
    """What PostgreSQL's CHECK on `balances` refuses: a balance below zero."""


@dataclass
class LedgerBook:
    """The ledger's rows: entries, balances (available, held) and the order-entry fence."""

    entries: list[Entry] = field(default_factory=list)
    balances: dict[str, list[Decimal]] = field(default_factory=dict)
    fenced: set[str] = field(default_factory=set)
    halted_accounts: set[str] = field(default_factory=set)


class FakeLedger(Ledger):
    """`Ledger` on a `LedgerBook`, inside whichever fake transaction owns that book."""

    def __init__(self, book: LedgerBook, next_id: Callable[[str], int],
                 now: Callable[[], datetime], market_halted: Callable[[], bool]) -> None:
        self._book = book
        self._next_id = next_id
        self._now = now
        self._market_halted = market_halted

    async def post(self, postings: Sequence[Posting], *, auction_id: int | None = None) -> int:
        check_balanced(postings)
        tx_id = self._next_id("ledger_tx")
        net: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
        for p in postings:
            net[p.account_id][0 if p.bucket == "available" else 1] += p.amount
        for account, (avail, held) in net.items():
            row = self._book.balances.get(account, [ZERO, ZERO])
            after = [row[0] + avail, row[1] + held]
            if account != EXTERNAL_BANK and (after[0] < 0 or after[1] < 0):
                raise NegativeBalance(f"balance of {account} would be {after[0]}/{after[1]}")
        for p in postings:
            self._book.entries.append(Entry(
                self._next_id("ledger_entry"), tx_id, p.account_id, p.bucket, p.kind, p.amount,
                p.order_id, auction_id, self._now()))
        for account, (avail, held) in sorted(net.items()):
            if avail or held:
                row = self._book.balances.setdefault(account, [ZERO, ZERO])
                row[0] += avail
                row[1] += held
        return tx_id

    async def balance(self, account_id: str, *, for_update: bool = False) -> Balance:
        # One fake transaction runs at a time, so every read is already "for update".
        row = self._book.balances.get(account_id)
        if row is None:
            return Balance(account_id, ZERO, ZERO)
        return Balance(account_id, row[0], row[1])

    async def holds(self, order_ids: Sequence[int]) -> dict[int, Hold]:
        wanted = set(order_ids)
        held: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        for e in self._book.entries:
            if e.bucket == "held" and e.order_id in wanted:
                held[e.order_id, e.account_id] += e.amount
        return {order_id: Hold(order_id, account, amount)
                for (order_id, account), amount in held.items() if amount != 0}

    async def statement(self, account_id: str, *, before_id: int | None, limit: int
                        ) -> list[Entry]:
        mine = [e for e in self._book.entries if e.account_id == account_id
                and (before_id is None or e.id < before_id)]
        return sorted(mine, key=lambda e: e.id, reverse=True)[:limit]

    async def refresh_halted(self, account_id: str | None) -> None:
        accounts = self._book.balances if account_id is None else (
            [account_id] if account_id in self._book.balances else [])
        for account in accounts:
            if account in self._book.halted_accounts or self._market_halted():
                self._book.fenced.add(account)
            else:
                self._book.fenced.discard(account)
