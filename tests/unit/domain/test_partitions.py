"""The partition map: every region in one partition, and the one partition a bid trades in."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gpux.domain.catalog import REGIONS
from gpux.domain.errors import InvalidValue, SpansPartitions
from gpux.domain.orders import BidAlternative, BidLeg, BidOrder
from gpux.domain.partitions import PartitionMap

THREE = ("americas:us-east,us-west,us-central;europe:eu-west,eu-central;"
         "asia:ap-northeast,ap-southeast")
T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _bid(*alternatives: tuple[BidLeg, ...]) -> BidOrder:
    return BidOrder("b-1", tuple(BidAlternative(T0, T0.replace(day=2), legs, Decimal(10))
                                 for legs in alternatives))


def test_the_default_map_puts_every_region_in_one_partition_and_reads_no_pools() -> None:
    one = PartitionMap.single("main")
    assert {one.of_region(r) for r in REGIONS} == {"main"}
    bid = _bid((BidLeg(1, 1, pools=("p1",)),))
    assert one.pools_named(bid) == set()
    assert one.of_bid(bid, {}) == "main"


def test_a_map_places_each_region_in_its_group() -> None:
    m = PartitionMap.parse(THREE)
    assert m.names == ("americas", "europe", "asia")
    assert [m.of_region(r) for r in ("us-west", "eu-central", "ap-southeast")] == [
        "americas", "europe", "asia"]


@pytest.mark.parametrize(("text", "value"), [
    ("americas:us-east", "us-west, us-central, eu-west, eu-central, ap-northeast, "
     "ap-southeast"),
    (THREE + ";mars:mars-1", "mars-1"),
    (THREE.replace("europe:eu-west", "europe:us-east,eu-west"), "us-east"),
    (THREE + ";europe:x", "europe"),
    ("americas us-east", "americas us-east"),
    (THREE.replace("asia:", "Asia:"), "Asia"),
])
def test_a_map_that_misses_repeats_or_misspells_a_region_is_refused_naming_it(
        text: str, value: str) -> None:
    with pytest.raises(InvalidValue) as err:
        PartitionMap.parse(text)
    assert err.value.problem.path == "partition_regions"
    assert err.value.problem.value == value


def test_a_bid_joins_the_partition_of_its_regions_or_of_the_pools_it_names() -> None:
    m = PartitionMap.parse(THREE)
    pools = {"us-1": ("us-east", "americas"), "eu-1": ("eu-west", "europe")}
    assert m.of_bid(_bid((BidLeg(1, 1, regions=("eu-west", "eu-central")),),
                         (BidLeg(2, 1, regions=("eu-west",)),)), pools) == "europe"
    assert m.of_bid(_bid((BidLeg(1, 1, pools=("us-1", "nowhere")),)), pools) == "americas"
    # A named pool outside the leg's regions can never serve it.
    assert m.of_bid(_bid((BidLeg(1, 1, pools=("us-1", "eu-1"), regions=("eu-west",)),)),
                    pools) == "europe"
    # Pools not registered yet: the leg's regions say where it trades...
    assert m.of_bid(_bid((BidLeg(1, 1, pools=("eu-9",), regions=("eu-west",)),)),
                    pools) == "europe"
    # ...and without regions nothing does: refused, naming the pools.
    with pytest.raises(SpansPartitions) as err:
        m.of_bid(_bid((BidLeg(1, 1, pools=("nowhere",)),)), pools)
    assert (err.value.problem.path, err.value.problem.value) == (
        "alternatives[0].legs[0].pools", ["nowhere"])


@pytest.mark.parametrize(("bid", "field"), [
    (_bid((BidLeg(1, 1),)), "alternatives[0].legs[0].regions"),
    (_bid((BidLeg(1, 1, regions=("us-east",)),), (BidLeg(1, 1, regions=("ap-northeast",)),)),
     "alternatives[1].legs[0].regions"),
    (_bid((BidLeg(1, 1, regions=("us-east",)), BidLeg(1, 1, pools=("eu-1",)))),
     "alternatives[0].legs[1].pools"),
])
def test_a_bid_that_could_trade_in_two_partitions_is_refused_naming_the_leg(
        bid: BidOrder, field: str) -> None:
    m = PartitionMap.parse(THREE)
    with pytest.raises(SpansPartitions) as err:
        m.of_bid(bid, {"eu-1": ("eu-west", "europe")})
    assert err.value.code == "spans_partitions"
    assert err.value.problem.path == field
