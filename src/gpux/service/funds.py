"""Funds: admin deposits and withdrawals, balances and statements.

Every movement is one balanced ledger transaction (`gpux.domain.ledger`); a withdrawal locks
the account's balance row and is refused, writing nothing, if its available balance is short.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from gpux.domain import ledger as rules
from gpux.domain.accounts import Account
from gpux.domain.errors import Forbidden, InsufficientFunds, NotFound, ReferenceReused
from gpux.service.accounts import require_admin
from gpux.service.ledger_ports import Balance, Entry
from gpux.service.orders import parse_cursor
from gpux.service.ports import Page, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Moved:
    """An account's balances after a deposit or withdrawal; `replayed` when its reference
    had been used by the same transfer before, so nothing moved this time."""

    balance: Balance
    replayed: bool


async def _earlier(uow: UnitOfWork, account_id: str, kind: str, reference: str | None,
                   amount: Decimal) -> bool:
    """Whether this transfer was made before under `reference` (else it is claimed now, in
    this transaction: a concurrent repeat waits for it); refused if the reference was used
    for another amount."""
    if reference is None:
        return False
    earlier = await uow.transfers.claim(account_id, kind, reference, amount)
    if earlier is None:
        return False
    if earlier.amount != amount:
        raise ReferenceReused(
            f"reference {reference!r} was used for a {kind} of {earlier.amount}, not {amount}",
            "reference", reference)
    return True


async def _existing(uow: UnitOfWork, account_id: str) -> None:
    if await uow.accounts.get(account_id) is None:
        raise NotFound("no such account", "account_id", account_id)


class FundsService:
    """Deposits, withdrawals, balances and statements."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def deposit(self, caller: Account, account_id: str, amount: Decimal,
                      reference: str | None = None) -> Moved:
        """An admin records money received for an account. Under a `reference` (the bank
        transfer's id) a repeat moves nothing and answers with the balances as they are, marked
        replayed."""
        return await self._move(caller, account_id, amount, reference, "deposit")

    async def withdraw(self, caller: Account, account_id: str, amount: Decimal,
                       reference: str | None = None) -> Moved:
        """An admin pays money out of an account's available balance; under a `reference`,
        a repeat moves nothing."""
        return await self._move(caller, account_id, amount, reference, "withdrawal")

    async def _move(self, caller: Account, account_id: str, amount: Decimal,
                    reference: str | None, kind: Literal["deposit", "withdrawal"]) -> Moved:
        require_admin(caller)
        amount = rules.positive_amount(amount)
        async with self._uow() as uow:
            await _existing(uow, account_id)
            if await _earlier(uow, account_id, kind, reference, amount):
                return Moved(await uow.ledger.balance(account_id), True)
            if kind == "deposit":
                postings = rules.deposit(account_id, amount)
            else:
                before = await uow.ledger.balance(account_id, for_update=True)
                if before.available < amount:
                    raise InsufficientFunds(
                        f"the account has {before.available} available, less than {amount}",
                        "amount", amount)
                postings = rules.withdrawal(account_id, amount)
            tx_id = await uow.ledger.post(postings)
            if reference is not None:
                await uow.transfers.posted(account_id, kind, reference, tx_id)
            balance = await uow.ledger.balance(account_id)
            await uow.commit()
        return Moved(balance, False)

    async def balance(self, caller: Account, account_id: str) -> Balance:
        """An account's balances (its own, or any for an admin)."""
        _may_read(caller, account_id)
        async with self._uow() as uow:
            await _existing(uow, account_id)
            return await uow.ledger.balance(account_id)

    async def statement(self, caller: Account, account_id: str, *, cursor: str | None = None,
                        limit: int = 100) -> tuple[Balance, Page[Entry]]:
        """An account's balances and ledger entries, newest first, a page at a time."""
        _may_read(caller, account_id)
        async with self._uow() as uow:
            await _existing(uow, account_id)
            balance = await uow.ledger.balance(account_id)
            entries = await uow.ledger.statement(
                account_id, before_id=parse_cursor(cursor), limit=limit + 1)
        items = entries[:limit]
        return balance, Page(items, str(items[-1].id) if len(entries) > limit else None)


def _may_read(caller: Account, account_id: str) -> None:
    if caller.role != "admin" and caller.id != account_id:
        # Another account's statement is not found, as its orders are not.
        raise NotFound("no such account", "account_id", account_id)


def may_act_for(caller: Account, account_id: str) -> None:
    """Refuse unless the caller is the account itself or an admin."""
    if caller.role != "admin" and caller.id != account_id:
        raise Forbidden("only the account itself or an admin may do this", "account_id",
                        account_id)
