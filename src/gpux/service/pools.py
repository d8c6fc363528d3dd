"""Pools: a provider registers its blocks of GPUs; anyone may list them."""

from __future__ import annotations

from gpux.domain.accounts import Account, PoolSpec
from gpux.domain.errors import AlreadyExists, Forbidden
from gpux.service.ports import Page, Pool, UnitOfWorkFactory


class PoolService:
    """Registering and listing pools."""

    def __init__(self, uow: UnitOfWorkFactory, partition: str) -> None:
        self._uow = uow
        self._partition = partition

    async def register(self, caller: Account, pool: PoolSpec) -> Pool:
        """A provider (or admin) registers a pool of its own."""
        if not caller.may_ask():
            raise Forbidden("only providers register pools", "role", caller.role)
        async with self._uow() as uow:
            stored = await uow.pools.add(caller.id, pool, self._partition)
            if stored is None:
                raise AlreadyExists("a pool with this id exists", "id", pool.id)
            await uow.commit()
        return stored

    async def list(self, *, gpu: str | None = None, region: str | None = None,
                   provider_id: str | None = None, cursor: str | None = None,
                   limit: int = 100) -> Page[Pool]:
        """Pools in id order, a page at a time."""
        async with self._uow() as uow:
            pools = await uow.pools.find(gpu=gpu, region=region, provider_id=provider_id,
                                         after_id=cursor, limit=limit + 1)
        more = len(pools) > limit
        items = pools[:limit]
        return Page(items, items[-1].id if more else None)
