"""Funds and kill switches in the SDK: balances, statements, deposits and withdrawals (admin),
halting and resuming an account or the whole market.

A deposit or withdrawal given a `reference` (the bank transfer's id) is safe to retry: the
exchange moves the money once and answers a repeat with the balances as they are then.
Without one it is never retried after a lost answer (sending it twice would move the money
twice). Halts and resumes are safe to repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from gpux.client.calls import Call
from gpux.client.models import _dec, _dt


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's money: `available` to bid with or withdraw, `held` for open bids."""

    account_id: str
    available: Decimal
    held: Decimal

    @classmethod
    def of(cls, d: dict[str, Any]) -> Balance:
        return cls(d["account_id"], _dec(d["available"]), _dec(d["held"]))


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One posting of the double-entry ledger (its transaction's postings sum to zero)."""

    id: int
    tx_id: int
    bucket: str
    kind: str
    amount: Decimal
    order_id: int | None
    auction_id: int | None
    created_at: datetime

    @classmethod
    def of(cls, d: dict[str, Any]) -> LedgerEntry:
        return cls(int(d["id"]), int(d["tx_id"]), d["bucket"], d["kind"], _dec(d["amount"]),
                   d.get("order_id"), d.get("auction_id"), _dt(d["created_at"]))


@dataclass(frozen=True, slots=True)
class Statement:
    """An account's balances and one page of its ledger entries, newest first."""

    balance: Balance
    items: list[LedgerEntry]
    next_cursor: str | None

    @classmethod
    def of(cls, d: dict[str, Any]) -> Statement:
        return cls(Balance.of(d["balance"]), [LedgerEntry.of(x) for x in d["items"]],
                   d.get("next_cursor"))


@dataclass(frozen=True, slots=True)
class Halt:
    """What a halt did: orders cancelled now, and those cancelled when their round commits."""

    halted: bool
    cancelled: list[int]
    cancel_pending: list[int]

    @classmethod
    def of(cls, d: dict[str, Any]) -> Halt:
        return cls(bool(d["halted"]), [int(x) for x in d.get("cancelled", [])],
                   [int(x) for x in d.get("cancel_pending", [])])


def _transfer(kind: str, account_id: str, amount: Decimal | str,
              reference: str | None) -> Call[Balance]:
    body = {"amount": str(amount)}
    if reference is not None:
        body["reference"] = reference
    return Call("POST", f"/accounts/{account_id}/{kind}", lambda doc, _h: Balance.of(doc),
                body=body, idempotent=reference is not None)


def deposit(account_id: str, amount: Decimal | str,
            reference: str | None = None) -> Call[Balance]:
    return _transfer("deposits", account_id, amount, reference)


def withdraw(account_id: str, amount: Decimal | str,
             reference: str | None = None) -> Call[Balance]:
    return _transfer("withdrawals", account_id, amount, reference)


def statement(account_id: str, cursor: str | None = None,
              limit: int | None = None) -> Call[Statement]:
    params = {k: v for k, v in (("cursor", cursor), ("limit", limit)) if v is not None}
    return Call("GET", f"/accounts/{account_id}/statement", lambda doc, _h: Statement.of(doc),
                params, idempotent=True)


def halt_account(account_id: str) -> Call[Halt]:
    return Call("POST", f"/accounts/{account_id}/halt", lambda doc, _h: Halt.of(doc),
                idempotent=True)


def resume_account(account_id: str) -> Call[Halt]:
    return Call("POST", f"/accounts/{account_id}/resume", lambda doc, _h: Halt.of(doc),
                idempotent=True)


def market_halted() -> Call[bool]:
    return Call("GET", "/market", lambda doc, _h: bool(doc["halted"]), idempotent=True)


def halt_market() -> Call[Halt]:
    return Call("POST", "/market/halt", lambda doc, _h: Halt.of(doc), idempotent=True)


def resume_market() -> Call[Halt]:
    return Call("POST", "/market/resume", lambda doc, _h: Halt.of(doc), idempotent=True)
