"""Pools: a provider registers its blocks of GPUs; anyone may list them.

A pool joins the market partition of its region (`gpux.domain.partitions`), and so do the
asks on it; `bid_partition` finds the one partition a bid can be filled in.
"""

from __future__ import annotations

from gpux.domain.accounts import Account, PoolSpec
from gpux.domain.errors import AlreadyExists, Forbidden
from gpux.domain.orders import BidOrder
from gpux.domain.partitions import PartitionMap
from gpux.service.ports import Page, Pool, UnitOfWorkFactory


async def bid_partition(uow: UnitOfWorkFactory, partitions: PartitionMap,
                        bid: BidOrder) -> str:
    """The partition a bid trades in; reads the pools its legs name (only when the market
    has several partitions). Raises `SpansPartitions` if it could trade in two."""
    named = partitions.pools_named(bid)
    found: dict[str, tuple[str, str]] = {}
    if named:
        async with uow() as tx:
            for pool_id in sorted(named):
                pool = await tx.pools.get(pool_id)
                if pool is not None:
                    found[pool_id] = (pool.region, pool.partition)
    return partitions.of_bid(bid, found)


class PoolService:
    """Registering and listing pools."""

    def __init__(self, uow: UnitOfWorkFactory, partitions: PartitionMap) -> None:
        self._uow = uow
        self._partitions = partitions

    async def register(self, caller: Account, pool: PoolSpec) -> Pool:
        """A provider (or admin) registers a pool of its own."""
        if not caller.may_ask():
            raise Forbidden("only providers register pools", "role", caller.role)
        async with self._uow() as uow:
            stored = await uow.pools.add(caller.id, pool,
                                         self._partitions.of_region(pool.region))
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
