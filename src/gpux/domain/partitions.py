"""Market partitions by region group: which book and auction a pool, an ask and a bid join.

Every region of the catalog belongs to exactly one partition. A pool joins its region's
partition and an ask its pool's. A bid joins the one partition where its legs can be filled:
the partitions of the regions its legs accept (all regions when a leg names none), narrowed
by the pools a leg names. A bid that could be filled in two partitions is refused rather
than silently narrowed: one auction clears it, and the buyer says which (docs/scaling.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from gpux.domain.catalog import REGIONS
from gpux.domain.errors import InvalidValue, SpansPartitions
from gpux.domain.orders import BidLeg, BidOrder

_NAME = re.compile(r"^[a-z0-9-]{1,40}$")


@dataclass(frozen=True, slots=True)
class PartitionMap:
    """Partitions in order, each with the regions it holds; every region in exactly one."""

    groups: tuple[tuple[str, tuple[str, ...]], ...]

    def __post_init__(self) -> None:
        if not self.groups:
            raise InvalidValue("partition_regions", "must name at least one partition", "")
        seen: dict[str, str] = {}
        names: set[str] = set()
        for name, regions in self.groups:
            if not _NAME.match(name):
                raise InvalidValue("partition_regions", "a partition name is 1-40 of a-z, "
                                   "0-9 and -", name)
            if name in names:
                raise InvalidValue("partition_regions", "names a partition twice", name)
            names.add(name)
            if not regions:
                raise InvalidValue("partition_regions", f"partition {name} holds no region",
                                   name)
            for region in regions:
                if region not in REGIONS:
                    raise InvalidValue("partition_regions", "is not a region of the catalog ("
                                       + ", ".join(REGIONS) + ")", region)
                if region in seen:
                    raise InvalidValue("partition_regions", f"region is in both {seen[region]} "
                                       f"and {name}", region)
                seen[region] = name
        missing = [r for r in REGIONS if r not in seen]
        if missing:
            raise InvalidValue("partition_regions", "every region must belong to a partition; "
                               "missing", ", ".join(missing))

    @classmethod
    def single(cls, name: str) -> PartitionMap:
        """One partition holding every region (the default market)."""
        return cls(((name, REGIONS),))

    @classmethod
    def parse(cls, text: str) -> PartitionMap:
        """`americas:us-east,us-west,us-central;europe:eu-west,eu-central;...`."""
        groups = []
        for part in text.split(";"):
            name, sep, regions = part.strip().partition(":")
            if not sep:
                raise InvalidValue("partition_regions", "each partition is written "
                                   "name:region,region,...", part)
            groups.append((name.strip(), tuple(r.strip() for r in regions.split(",")
                                               if r.strip())))
        return cls(tuple(groups))

    @property
    def names(self) -> tuple[str, ...]:
        """The partitions, in the order given."""
        return tuple(name for name, _ in self.groups)

    def of_region(self, region: str) -> str:
        """The partition a region trades in."""
        for name, regions in self.groups:
            if region in regions:
                return name
        raise InvalidValue("region", "is not a region of the catalog", region)

    def pools_named(self, bid: BidOrder) -> set[str]:
        """Pool ids the bid's legs name, which `of_bid` needs (none with one partition)."""
        if len(self.groups) == 1:
            return set()
        return {p for alt in bid.alternatives for leg in alt.legs for p in leg.pools or ()}

    def of_bid(self, bid: BidOrder, pools: Mapping[str, tuple[str, str]]) -> str:
        """The one partition where the bid can be filled; `pools`: id -> (region, partition)
        of every existing pool its legs name. Raises `SpansPartitions` naming the leg."""
        if len(self.groups) == 1:
            return self.groups[0][0]
        first: tuple[str, str] | None = None  # (leg path, partition)
        for i, alt in enumerate(bid.alternatives):
            for j, leg in enumerate(alt.legs):
                path = f"alternatives[{i}].legs[{j}]"
                reach = self._reach(leg, pools)
                field = f"{path}.pools" if leg.pools else f"{path}.regions"
                value = list(leg.pools or leg.regions or ())
                if len(reach) > 1:
                    raise SpansPartitions(
                        field, "this leg could be filled in partitions "
                        + ", ".join(sorted(reach)) + ", but a bid trades in one partition: "
                        "name regions (or pools) of one of " + self.describe(), value)
                if not reach:
                    raise SpansPartitions(
                        field, "none of these pools exists (yet), so the partition the leg "
                        "trades in is not known: name its regions too; " + self.describe(),
                        value)
                (part,) = reach
                if first is None:
                    first = (path, part)
                elif part != first[1]:
                    raise SpansPartitions(
                        field, f"this leg trades in partition {part} but {first[0]} trades "
                        f"in {first[1]}; a bid trades in one partition: "
                        + self.describe(), value)
        return first[1] if first is not None else self.groups[0][0]

    def _reach(self, leg: BidLeg, pools: Mapping[str, tuple[str, str]]) -> set[str]:
        if leg.pools:
            found = {pools[p][1] for p in leg.pools if p in pools
                     and (leg.regions is None or pools[p][0] in leg.regions)}
            # Named pools not registered yet: the leg's regions, if it names any, still say
            # where it can trade (a pool registered later in them joins that partition).
            if found or leg.regions is None:
                return found
        return {self.of_region(r) for r in (leg.regions or REGIONS)}

    def describe(self) -> str:
        """`americas = us-east, us-west; europe = eu-west`: for messages."""
        return "; ".join(f"{name} = {', '.join(regions)}" for name, regions in self.groups)
