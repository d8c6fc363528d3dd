"""The port resale offers talk to: contracts, locked and split, and the offers' ask rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from gpux.domain.resale import HeldContract, NewContract, ResaleOffer
from gpux.service.ports import Order


class ContractRepository(Protocol):
    """Contracts as offers see them, in the unit of work's transaction."""

    async def lock(self, contract_id: int) -> HeldContract | None:
        """Lock one contract's row; it, whether superseded, and the open order offering it."""
        ...

    async def add_offer(self, account_id: str, offer: ResaleOffer, pool_id: str,
                        partition: str, request: dict[str, Any]) -> Order | None:
        """Insert the offer's ask row; None if the client order id is taken already."""
        ...

    async def mark(self, contract_id: int, offer_id: int) -> None:
        """Mark a whole contract as offered by the order `offer_id`."""
        ...

    async def split(self, contract_id: int, pieces: Sequence[NewContract]) -> None:
        """Supersede a contract by its pieces."""
        ...
