"""The kill switches: halting an account (by itself or an admin) or the whole market (admin).

A halt is stored in PostgreSQL, so it survives a restart. It cancels the open orders it
catches, releasing their holds, and refuses new orders until resumed; orders a round is
solving are cancelled when that round commits, unless they filled. A bid racing the halt is
stopped by the balance row's fence (see `gpux.adapters.postgres.entry`): the halt sweeps open
orders, sets the fence (waiting for bids that hold the row), then sweeps again.
"""

from __future__ import annotations

from gpux.domain.accounts import Account
from gpux.domain.errors import NotFound
from gpux.service.accounts import require_admin
from gpux.service.funds import may_act_for
from gpux.service.halt_ports import Cancelled
from gpux.service.ports import UnitOfWork, UnitOfWorkFactory
from gpux.service.settlement import release_holds


async def _sweep(uow: UnitOfWork, account_id: str | None) -> Cancelled:
    first = await uow.halts.cancel_open(account_id)
    await uow.ledger.refresh_halted(account_id)
    second = await uow.halts.cancel_open(account_id)
    now = (*first.now, *second.now)
    await release_holds(uow.ledger, now)
    return Cancelled(now, (*first.pending, *second.pending))


class HaltService:
    """Halting and resuming accounts and the market."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def halt_account(self, caller: Account, account_id: str) -> Cancelled:
        """Halt an account: cancel its open orders and refuse new ones."""
        may_act_for(caller, account_id)
        async with self._uow() as uow:
            if not await uow.halts.set_account(account_id, True):
                raise NotFound("no such account", "account_id", account_id)
            cancelled = await _sweep(uow, account_id)
            await uow.commit()
        return cancelled

    async def resume_account(self, caller: Account, account_id: str) -> None:
        """An admin lets a halted account trade again."""
        require_admin(caller)
        async with self._uow() as uow:
            if not await uow.halts.set_account(account_id, False):
                raise NotFound("no such account", "account_id", account_id)
            await uow.ledger.refresh_halted(account_id)
            await uow.commit()

    async def halt_market(self, caller: Account) -> Cancelled:
        """Halt the whole market: cancel every open order; no orders, no rounds."""
        require_admin(caller)
        async with self._uow() as uow:
            await uow.halts.set_market(True, caller.id)
            cancelled = await _sweep(uow, None)
            await uow.commit()
        return cancelled

    async def resume_market(self, caller: Account) -> None:
        """Let the market trade and clear again."""
        require_admin(caller)
        async with self._uow() as uow:
            await uow.halts.set_market(False, caller.id)
            await uow.ledger.refresh_halted(None)
            await uow.commit()

    async def market_halted(self) -> bool:
        """Whether the market is halted."""
        async with self._uow() as uow:
            return await uow.halts.market_halted()
