"""The incumbent allocation, kept current pool by pool for the neighbourhood search.

Cheapest supply and pricing floors are per pool and slot, so a change that touches a few
pools is evaluated by recomputing those pools alone: demand, supply, floors and supply cost.
A move is tried in place and undone unless it raises the surplus; priceability is repaired
locally with the same rule as `supply.repair` (drop the least valuable unpriceable
placement until none is left), since only placements in a changed pool can become
unpriceable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from gpux.clearing.instance import Instance, IntArray
from gpux.clearing.supply import pool_floor, pool_supply


@dataclass(slots=True)
class _PoolState:
    demand: IntArray
    own: dict[str, IntArray]
    supply: list[IntArray]
    floor: IntArray
    cost: int
    at: set[int]


class State:
    """Chosen candidates with per-pool demand, cheapest supply, floors and supply cost."""

    def __init__(self, instance: Instance, chosen: Iterable[int]) -> None:
        self.instance = instance
        slots = instance.slots
        self.chosen: set[int] = set()
        self.by_bid: dict[int, int] = {}
        self.pools = [_PoolState(np.zeros(slots, dtype=np.int64), {}, [],
                                 np.zeros(slots, dtype=np.int64), 0, set())
                      for _ in instance.pool_ids]
        self.value = 0
        self.cost = 0
        # every chosen placement is priceable (known after `repair`; kept by `try_move`)
        self.clean = False
        for c in chosen:
            self._place(c, 1)
        for p in range(len(self.pools)):
            self._refresh(p)

    @property
    def surplus(self) -> int:
        """Values of the chosen placements less the reserves of their cheapest supply."""
        return self.value - self.cost

    def floors(self) -> list[IntArray]:
        """The pricing floor of every pool and slot under the current supply."""
        return [ps.floor for ps in self.pools]

    def supply_at(self, p: int) -> list[IntArray]:
        """GPUs each supply group of pool `p` delivers per slot."""
        return self.pools[p].supply

    def pool_cost(self, p: int) -> int:
        """Reserves paid for the current supply of pool `p`."""
        return self.pools[p].cost

    def chosen_at(self, p: int) -> set[int]:
        """Chosen candidates with a leg in pool `p`."""
        return self.pools[p].at

    def _place(self, c: int, sign: int) -> None:
        inst = self.instance
        cand = inst.candidates[c]
        buyer = inst.buyer(cand.bid)
        if sign > 0:
            self.chosen.add(c)
            self.by_bid[cand.bid] = c
        else:
            self.chosen.discard(c)
            del self.by_bid[cand.bid]
        self.value += sign * cand.value
        for leg in cand.legs:
            ps = self.pools[leg.pool]
            ps.demand[leg.start:leg.end] += sign * leg.gpus
            if buyer in inst.sellers_by_pool[leg.pool]:
                own = ps.own.setdefault(buyer, np.zeros(inst.slots, dtype=np.int64))
                own[leg.start:leg.end] += sign * leg.gpus
            if sign > 0:
                ps.at.add(c)
            else:
                ps.at.discard(c)

    def _refresh(self, p: int) -> None:
        ps = self.pools[p]
        groups = self.instance.groups[p]
        ps.supply = pool_supply(self.instance, p, ps.demand, ps.own)
        ps.floor = pool_floor(groups, ps.supply, self.instance.slots)
        new_cost = sum(g.reserve * int(take.sum())
                       for g, take in zip(groups, ps.supply, strict=True))
        self.cost += new_cost - ps.cost
        ps.cost = new_cost

    def _priceable(self, c: int) -> bool:
        cand = self.instance.candidates[c]
        pay = sum(leg.gpus * int(self.pools[leg.pool].floor[leg.start:leg.end].sum())
                  for leg in cand.legs)
        return pay <= cand.value

    def _save(self, saved: dict[int, _PoolState], pools: Iterable[int]) -> None:
        for p in pools:
            if p not in saved:
                ps = self.pools[p]
                saved[p] = _PoolState(ps.demand.copy(), {k: v.copy() for k, v in ps.own.items()},
                                      ps.supply, ps.floor, ps.cost, set(ps.at))

    def _pools_of(self, cands: Iterable[int]) -> set[int]:
        return {leg.pool for c in cands for leg in self.instance.candidates[c].legs}

    def try_move(self, removed: Iterable[int], added: Iterable[int]) -> bool:
        """Swap `removed` for `added`, repair locally; keep it only if surplus rises."""
        removed, added = list(removed), list(added)
        pools = self._pools_of(removed + added)
        saved: dict[int, _PoolState] = {}
        self._save(saved, pools)
        value, cost = self.value, self.cost
        for c in removed:
            self._place(c, -1)
        for c in added:
            self._place(c, 1)
        dropped = self._repair(pools, saved, added)
        if self.surplus > value - cost:
            return True
        # Undo: bookkeeping of chosen and by_bid by replaying in reverse, pools from saves.
        for c in dropped:
            self._place(c, 1)
        for c in added:
            self._place(c, -1)
        for c in removed:
            self._place(c, 1)
        for p, ps in saved.items():
            self.pools[p] = ps
        self.value, self.cost = value, cost
        return False

    def repair(self) -> list[int]:
        """Drop unpriceable placements anywhere, least margin first, as `supply.repair` does.

        Returns the dropped placements. After each drop only the placements sharing a pool
        with it are checked again: no other floor moved.
        """
        cands = self.instance.candidates
        bad = {c for c in self.chosen if not self._priceable(c)}
        dropped: list[int] = []
        while bad:
            worst = min(bad, key=lambda c: (cands[c].margin, c))
            mine = self._pools_of([worst])
            before = {p: self.pools[p].floor for p in mine}
            self._place(worst, -1)
            dropped.append(worst)
            affected: set[int] = set()
            risen: set[int] = set()
            for p in mine:
                self._refresh(p)
                affected |= self.pools[p].at
                risen |= self._under_rise(p, before[p])
            # Every placement outside `bad` was priceable, and stays so unless a floor under
            # it rose (a floor depends on its own slot's supply alone); those in `bad` that
            # share a pool with the dropped one may have become priceable.
            bad = {c for c in bad if c != worst and (c not in affected or not self._priceable(c))}
            bad |= {c for c in risen if not self._priceable(c)}
        self.clean = True
        return dropped

    def _repair(self, pools: set[int], saved: dict[int, _PoolState],
                added: list[int]) -> list[int]:
        """Recompute `pools` and drop unpriceable placements there, least margin first.

        In a clean state only the placements `added` and those under a floor that rose can
        have become unpriceable: a floor depends on its own slot's supply alone."""
        for p in pools:
            self._refresh(p)
        dropped: list[int] = []
        if self.clean:
            suspects = set(added) & self.chosen
            for p in pools:
                suspects |= self._under_rise(p, saved[p].floor)
        else:
            suspects = {c for p in pools for c in self.pools[p].at}
        bad = {c for c in suspects if not self._priceable(c)}
        while bad:
            worst = min(bad, key=lambda c: (self.instance.candidates[c].margin, c))
            mine = self._pools_of([worst])
            self._save(saved, mine)
            self._place(worst, -1)
            dropped.append(worst)
            affected: set[int] = set()
            for p in mine:
                self._refresh(p)
                affected |= self.pools[p].at
            pools |= mine
            # only the floors of the dropped placement's pools moved
            bad = {c for c in bad if c != worst and c not in affected}
            bad |= {c for c in affected if not self._priceable(c)}
        return dropped

    def _under_rise(self, p: int, before: IntArray) -> set[int]:
        """Chosen placements with a leg in pool `p` over a slot whose floor rose."""
        rose = self.pools[p].floor > before
        if not rose.any():
            return set()
        risen = np.concatenate(([0], np.cumsum(rose))).tolist()
        cands = self.instance.candidates
        return {c for c in self.pools[p].at
                if any(leg.pool == p and risen[leg.end] > risen[leg.start]
                       for leg in cands[c].legs)}


def repaired(instance: Instance, chosen: Iterable[int]) -> State:
    """The state of `chosen` after the priceability repair."""
    state = State(instance, chosen)
    state.repair()
    return state
