"""Accounts and API keys: the admin creates accounts and issues keys; a key authenticates."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from gpux.domain.accounts import Account
from gpux.domain.errors import AlreadyExists, Forbidden, NotFound, Unauthenticated
from gpux.service.ports import UnitOfWorkFactory

KEY_PREFIX = "gpux_"
ADMIN_ACCOUNT_ID = "admin"


def hash_key(key: str) -> str:
    """The stored form of an API key: its sha256, in hex."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new API key: the secret is shown this once and never stored."""

    account_id: str
    key: str
    prefix: str


def require_admin(caller: Account) -> None:
    """Refuse unless the caller is an admin."""
    if caller.role != "admin":
        raise Forbidden("only an admin may do this", "role", caller.role)


class AccountService:
    """Creating accounts, issuing keys, authenticating keys."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def create(self, caller: Account, account: Account) -> Account:
        """An admin creates an account."""
        require_admin(caller)
        async with self._uow() as uow:
            if not await uow.accounts.add(account):
                raise AlreadyExists("an account with this id exists", "id", account.id)
            await uow.commit()
        return account

    async def issue_key(self, caller: Account, account_id: str) -> IssuedKey:
        """An admin issues a new API key for an account."""
        require_admin(caller)
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        async with self._uow() as uow:
            if await uow.accounts.get(account_id) is None:
                raise NotFound("no such account", "account_id", account_id)
            await uow.accounts.add_key(account_id, hash_key(key), key[:12])
            await uow.commit()
        return IssuedKey(account_id, key, key[:12])

    async def authenticate(self, key: str) -> Account:
        """The account a bearer key belongs to."""
        return await self.authenticate_hash(hash_key(key))

    async def authenticate_hash(self, key_hash: str) -> Account:
        """The account whose live key has this sha256."""
        async with self._uow() as uow:
            account = await uow.accounts.by_key_hash(key_hash)
        if account is None:
            raise Unauthenticated("unknown or revoked API key")
        return account

    async def bootstrap_admin(self, key: str) -> None:
        """Make sure the admin account exists and `key` authenticates as it."""
        async with self._uow() as uow:
            if await uow.accounts.by_key_hash(hash_key(key)) is not None:
                return
            await uow.accounts.add(Account(ADMIN_ACCOUNT_ID, "Exchange admin", "admin"))
            await uow.accounts.add_key(ADMIN_ACCOUNT_ID, hash_key(key), key[:12])
            await uow.commit()
