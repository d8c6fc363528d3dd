"""The cheapest structurally feasible placement of each bid at posted prices.

A placement is an alternative, a start in its window and, for each leg, one pool that matches
the leg's filters and whose asks by sellers other than the bidder hold at least the leg's GPUs
in every slot of the leg (feasible on an empty market). Legs are priced one by one, each in its
cheapest pool. The search is laid out once as flat arrays, so that pricing it anew is a few
vectorised gathers and reductions: legs with the same pools, duration, GPUs and excluded seller
share a "class", and each (class, first slot) is a "group" whose cost is a minimum over pools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gpux.clearing.pricing_instance import BoolArray, IntArray, LegUse, PricingInstance
from gpux.domain.book import Bid, Leg
from gpux.domain.money import to_micros

Prices = npt.NDArray[np.int64] | npt.NDArray[np.float64] | npt.NDArray[np.object_]
_ClassKey = tuple[tuple[int, ...], int, int, str | None]


@dataclass(frozen=True, slots=True)
class Route:
    """One placement of a bid: which alternative, its start, and where each leg runs."""

    alternative: int
    start: int
    legs: tuple[LegUse, ...]


def _cat(parts: list[IntArray]) -> IntArray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


class PlacementSearch:
    """Finds, for each of some bids, its placement of most value minus cost at given prices."""

    def __init__(self, inst: PricingInstance, bids: Sequence[Bid]) -> None:
        self.bids = tuple(bids)
        self.width = inst.slots + 1
        self._capacity(inst)
        self._matching: dict[tuple[object, ...], tuple[int, ...]] = {}
        classes: dict[_ClassKey, list[int]] = {}  # key -> [index, lowest first, highest first]
        leg_class: list[list[list[int]]] = []
        for bid in self.bids:
            per_alt = []
            for alt in bid.alternatives:
                starts = alt.starts()
                ids = []
                for leg in alt.legs:
                    key = self._class_key(bid.buyer, leg)
                    lo, hi = starts.start + leg.offset, starts.stop - 1 + leg.offset
                    entry = classes.setdefault(key, [len(classes), lo, hi])
                    entry[1], entry[2] = min(entry[1], lo), max(entry[2], hi)
                    ids.append(entry[0])
                per_alt.append(ids)
            leg_class.append(per_alt)
        self._groups(classes)
        self._placements(leg_class)

    def _capacity(self, inst: PricingInstance) -> None:
        index = inst.pool_index
        self._cap = np.zeros((len(inst.pool_ids), inst.slots), dtype=np.int64)
        self._own: dict[tuple[str, int], IntArray] = {}
        for ask in inst.book.asks:
            p = index[ask.pool]
            self._cap[p, ask.start : ask.end] += ask.gpus
            own = self._own.setdefault((ask.seller, p), np.zeros(inst.slots, dtype=np.int64))
            own[ask.start : ask.end] += ask.gpus
        self._pools = [inst.book.pool_by_id[p] for p in inst.pool_ids]

    def _class_key(self, buyer: str, leg: Leg) -> _ClassKey:
        filters = (leg.gpu, leg.regions, leg.min_uptime, leg.pools)
        pools = self._matching.get(filters)
        if pools is None:
            pools = tuple(p for p, pool in enumerate(self._pools) if leg.matches(pool))
            self._matching[filters] = pools
        sells = any((buyer, p) in self._own for p in pools)
        return pools, leg.duration, leg.gpus, buyer if sells else None

    def _feasible_firsts(self, p: int, duration: int, gpus: int, buyer: str | None) -> BoolArray:
        cap = self._cap[p]
        if buyer is not None and (buyer, p) in self._own:
            cap = cap - self._own[buyer, p]
        ok = np.concatenate([[0], np.cumsum(cap >= gpus)])
        return np.asarray(ok[duration:] - ok[:-duration] == duration)

    def _groups(self, classes: dict[_ClassKey, list[int]]) -> None:
        self._gid_maps: list[tuple[int, IntArray]] = []
        lows, highs, ent_gids, group_gpus, group_durations = [], [], [], [], []
        n_groups = 0
        for (pools, duration, gpus, buyer), (_, lo, hi) in classes.items():
            firsts = np.zeros((len(pools), hi - lo + 1), dtype=np.bool_)
            for row, p in enumerate(pools):
                firsts[row] = self._feasible_firsts(p, duration, gpus, buyer)[lo : hi + 1]
            has = firsts.any(axis=0)
            count = int(has.sum())
            gid_map = np.full(hi - lo + 1, -1, dtype=np.int64)
            gid_map[has] = np.arange(n_groups, n_groups + count)
            self._gid_maps.append((lo, gid_map))
            # Entries in order of first slot, then pool: each group's entries are contiguous.
            a_rel, k = np.nonzero(firsts.T)
            ent_lo = np.asarray(pools, dtype=np.int64).reshape(-1)[k] * self.width + lo + a_rel
            lows.append(ent_lo)
            highs.append(ent_lo + duration)
            ent_gids.append(gid_map[a_rel])
            group_gpus.append(np.full(count, gpus, dtype=np.int64))
            group_durations.append(np.full(count, duration, dtype=np.int64))
            n_groups += count
        self._ent_lo, self._ent_hi = _cat(lows), _cat(highs)
        ent_gid = _cat(ent_gids)
        self._group_gpus = _cat(group_gpus)
        self._group_duration = _cat(group_durations)
        change = np.ones(len(ent_gid), dtype=np.bool_)
        change[1:] = ent_gid[1:] != ent_gid[:-1]
        self._group_starts = np.flatnonzero(change).astype(np.int64)

    def _placements(self, leg_class: list[list[list[int]]]) -> None:
        values, alts, starts, n_legs, gids, owners = [], [], [], [], [], []
        for i, (bid, per_alt) in enumerate(zip(self.bids, leg_class, strict=True)):
            for k, (alt, ids) in enumerate(zip(bid.alternatives, per_alt, strict=True)):
                s = np.arange(alt.starts().start, alt.starts().stop, dtype=np.int64)
                rows = []
                for leg, c in zip(alt.legs, ids, strict=True):
                    lo, gid_map = self._gid_maps[c]
                    rows.append(gid_map[s + leg.offset - lo])
                g = np.stack(rows)
                valid = (g >= 0).all(axis=0)
                n = int(valid.sum())
                if n == 0:
                    continue
                values.append(np.full(n, to_micros(alt.value), dtype=np.int64))
                alts.append(np.full(n, k, dtype=np.int64))
                starts.append(s[valid])
                n_legs.append(np.full(n, len(alt.legs), dtype=np.int64))
                gids.append(g[:, valid].T.ravel())
                owners.append(np.full(n, i, dtype=np.int64))
        self._value = _cat(values)
        self._value_dollars = self._value / 1e6
        self._alt, self._start, self._leg_gid = _cat(alts), _cat(starts), _cat(gids)
        legs = _cat(n_legs)
        self._leg_starts = np.concatenate([[0], np.cumsum(legs)[:-1]]).astype(np.int64)
        owner = _cat(owners)
        first = np.ones(len(owner), dtype=np.bool_)
        first[1:] = owner[1:] != owner[:-1]
        self._bid_starts = np.flatnonzero(first).astype(np.int64)
        self.placed = owner[self._bid_starts]

    def evaluate(self, prefix: Prices) -> Evaluation:
        """Best value minus cost per placed bid, at prices given as flat per-pool prefix sums."""
        return Evaluation(self, prefix)


class Evaluation:
    """One pricing of a search: the best surplus of each placed bid and how to reach it."""

    def __init__(self, search: PlacementSearch, prefix: Prices) -> None:
        self._s = s = search
        if len(s.placed) == 0:
            self.best: Prices = np.zeros(0, dtype=np.int64)
            return
        self._w = prefix[s._ent_hi] - prefix[s._ent_lo]
        cheapest = np.minimum.reduceat(self._w, s._group_starts) * s._group_gpus
        cost = np.add.reduceat(cheapest[s._leg_gid], s._leg_starts)
        value = s._value_dollars if prefix.dtype == np.float64 else s._value
        self._surplus = value - cost
        self.best = np.maximum.reduceat(self._surplus, s._bid_starts)

    def route(self, k: int) -> Route:
        """The best placement of placed bid `k` (an index into `placed`)."""
        s = self._s
        lo = int(s._bid_starts[k])
        hi = int(s._bid_starts[k + 1]) if k + 1 < len(s._bid_starts) else len(s._value)
        j = lo + int(np.argmax(self._surplus[lo:hi]))
        first_leg = int(s._leg_starts[j])
        n_legs = len(s.bids[int(s.placed[k])].alternatives[int(s._alt[j])].legs)
        legs = []
        for g in s._leg_gid[first_leg : first_leg + n_legs].tolist():
            a = int(s._group_starts[g])
            b = int(s._group_starts[g + 1]) if g + 1 < len(s._group_starts) else len(self._w)
            e = a + int(np.argmin(self._w[a:b]))
            p, first = divmod(int(s._ent_lo[e]), s.width)
            legs.append(LegUse(p, first, first + int(s._group_duration[g]), int(s._group_gpus[g])))
        return Route(int(s._alt[j]), int(s._start[j]), tuple(legs))
