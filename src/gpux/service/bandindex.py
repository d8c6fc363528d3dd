"""The price index order entry checks price bands against, read at most every few seconds
(it changes once a round), so the hot path does not pay a query per order."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal

from gpux.service.ports import Clock, UnitOfWorkFactory


class BandIndex:
    """The latest price per GPU model and the band width, cached for `ttl`."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, band_pct: Decimal,
                 ttl: timedelta = timedelta(seconds=2)) -> None:
        self._uow = uow
        self._clock = clock
        self._band_pct = band_pct
        self._ttl = ttl
        self._index: dict[str, Decimal] = {}
        self._read_at: datetime | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> tuple[dict[str, Decimal], Decimal]:
        """(price index by GPU model, band percent)."""
        now = self._clock.now()
        if self._read_at is None or now - self._read_at >= self._ttl:
            async with self._lock:
                if self._read_at is None or now - self._read_at >= self._ttl:
                    async with self._uow() as uow:
                        entries = await uow.market.price_index()
                    self._index = {e.gpu: e.price for e in entries}
                    self._read_at = now
        return self._index, self._band_pct
