"""Bearer keys to accounts, remembered briefly so a request hashes its key once and most
requests skip the database lookup; a revoked key stops working within `ttl` seconds.

Whether an account is halted is not taken from here: placing an order reads it afresh.
Entries expire at jittered times, so the keys of a busy minute do not all go back to the
database at once (a latency spike every `ttl`).
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict

from gpux.domain.accounts import Account
from gpux.service.accounts import AccountService, hash_key


class KeyCache:
    """An LRU of key hash -> account, each entry trusted for `ttl` seconds."""

    def __init__(self, accounts: AccountService, size: int = 4096, ttl: float = 30.0) -> None:
        self._accounts = accounts
        self._size = size
        self._ttl = ttl
        self._entries: OrderedDict[str, tuple[Account, float]] = OrderedDict()

    async def account(self, key: str) -> Account:
        """The account of a bearer key (raises `Unauthenticated` if none)."""
        digest = hash_key(key)
        hit = self._entries.get(digest)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            self._entries.move_to_end(digest)
            return hit[0]
        account = await self._accounts.authenticate_hash(digest)
        self._entries[digest] = (account, now + self._ttl * random.uniform(0.5, 1.0))
        self._entries.move_to_end(digest)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return account

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()
