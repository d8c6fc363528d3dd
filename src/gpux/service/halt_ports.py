"""The kill-switch port: the market's and accounts' halt flags, and sweeping open orders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Cancelled:
    """Orders a halt cancelled at once, and those a round is solving (cancelled at commit)."""

    now: tuple[int, ...]
    pending: tuple[int, ...]


class HaltRepository(Protocol):
    """Where halts are stored (they survive a restart)."""

    async def market_halted(self, *, lock: bool = False) -> bool:
        """Whether the market is halted; `lock` holds a share lock on the flag till commit."""
        ...

    async def set_market(self, halted: bool, by: str) -> None:
        """Halt or resume the market (locks the flag)."""
        ...

    async def set_account(self, account_id: str, halted: bool) -> bool:
        """Halt or resume an account (locks its row); False if there is no such account."""
        ...

    async def cancel_open(self, account_id: str | None) -> Cancelled:
        """Cancel an account's (or, with None, every) open order."""
        ...
