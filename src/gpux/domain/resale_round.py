"""A round's contracts: bid fills become contracts, and resold pieces split.

When a round sells some of an offer, each offered piece it sold from splits: into the buyers'
pieces and the remainder, still on offer. In a pool a resale sold in, bids are served by the
provider's asks and the offers together, and the result says how much each ask delivered but
not to whom. `round_contracts` decides that hour by hour with a maximum flow from buyers to
sellers that never pairs an account with itself; one that serves every buyer exists because
the solver forbids self-trade (Hall's theorem, as in `clearing.check_sums.balance`).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from gpux.domain.errors import InvalidValue
from gpux.domain.money import from_micros, to_micros
from gpux.domain.orders import iso_hour
from gpux.domain.resale import NewContract, Piece, hours_between, prorate
from gpux.domain.rounds import Fill, PriceRow

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Split:
    """What a round writes for its bid fills: new contracts, and the pieces they supersede."""

    contracts: tuple[NewContract, ...]
    superseded: tuple[int, ...]


Source = int | None  # the resale order that delivered, or None: the pool's provider's asks


def round_contracts(fills: Sequence[tuple[int, Fill]], providers: Mapping[str, str],
                    offers: Mapping[int, Sequence[Piece]],
                    prices: Sequence[PriceRow]) -> Split:
    """The contracts a round's bid fills create. `fills` are (fill id, fill); `offers` are the
    live pieces of each resale order in the round. In a pool no offer sold from, each bid fill
    is one new contract; elsewhere bids get pieces of the offers they bought from (children
    of the offered pieces) and new contracts for the rest."""
    resale_pools = sorted({f.pool_id for _, f in fills
                           if f.side == "ask" and f.order_id in offers})
    out: list[NewContract] = []
    superseded: list[int] = []
    for fill_id, f in fills:
        if f.side == "bid" and f.pool_id not in resale_pools:
            out.append(NewContract(f.account_id, providers[f.pool_id], f.pool_id, f.gpus,
                                   f.starts_at, f.ends_at, f.amount, fill_id=fill_id))
    price_of = _hourly(prices)
    for pool in resale_pools:
        in_pool = [(i, f) for i, f in fills if f.pool_id == pool]
        split = _split_pool(pool, in_pool, providers[pool], offers, price_of)
        out += split.contracts
        superseded += split.superseded
    return Split(tuple(out), tuple(superseded))


def _split_pool(pool: str, fills: Sequence[tuple[int, Fill]], provider: str,
                offers: Mapping[int, Sequence[Piece]],
                price_of: Mapping[tuple[str, datetime], int]) -> Split:
    demand: dict[datetime, list[tuple[int, str, int]]] = defaultdict(list)
    supply: dict[datetime, list[tuple[Source, str, int]]] = defaultdict(list)
    buyer_of: dict[int, str] = {}
    for fill_id, f in fills:
        for t in _hours(f.starts_at, f.ends_at):
            if f.side == "bid":
                demand[t].append((fill_id, f.account_id, f.gpus))
                buyer_of[fill_id] = f.account_id
            else:
                source = f.order_id if f.order_id in offers else None
                supply[t].append((source, f.account_id, f.gpus))
    fresh: dict[int, dict[datetime, int]] = defaultdict(dict)
    resold: dict[int, dict[datetime, list[tuple[int, int]]]] = defaultdict(dict)
    for t in sorted(demand):
        for fill_id, source, gpus in assign(demand[t], supply[t]):
            if source is None:
                fresh[fill_id][t] = fresh[fill_id].get(t, 0) + gpus
            else:
                resold[source].setdefault(t, []).append((fill_id, gpus))
    cost = _Cost(pool, price_of)
    out = [NewContract(buyer_of[fill_id], provider, pool, g, s, e, cost(g, s, e),
                       fill_id=fill_id)
           for fill_id in sorted(fresh) for s, e, g in runs(fresh[fill_id])]
    superseded: list[int] = []
    for offer_id in sorted(resold):
        for piece, taken in _from_pieces(offer_id, offers[offer_id], resold[offer_id]):
            superseded.append(piece.id)
            out += _children(piece, taken, buyer_of, cost)
    return Split(tuple(out), tuple(superseded))


def _from_pieces(offer_id: int, pieces: Sequence[Piece],
                 sold: Mapping[datetime, list[tuple[int, int]]]
                 ) -> list[tuple[Piece, dict[int, dict[datetime, int]]]]:
    """What each live piece of an offer delivers to each bid fill, hour by hour."""
    taken: dict[int, dict[int, dict[datetime, int]]] = defaultdict(lambda: defaultdict(dict))
    ordered = sorted(pieces, key=lambda p: p.id)
    for t, wanted in sorted(sold.items()):
        room = deque((p, p.gpus) for p in ordered if p.starts_at <= t < p.ends_at)
        for fill_id, gpus in wanted:
            while gpus > 0:
                if not room:
                    raise InvalidValue("offer_id", f"sold more GPUs at {iso_hour(t)} than its "
                                       "live pieces hold", offer_id)
                piece, left = room.popleft()
                take = min(gpus, left)
                by_hour = taken[piece.id][fill_id]
                by_hour[t] = by_hour.get(t, 0) + take
                gpus -= take
                if left > take:
                    room.appendleft((piece, left - take))
    return [(p, dict(taken[p.id])) for p in ordered if p.id in taken]


def _children(piece: Piece, taken: Mapping[int, Mapping[datetime, int]],
              buyer_of: Mapping[int, str], cost: _Cost) -> list[NewContract]:
    """A sold piece's children: the buyers' rectangles (at the clearing prices) and the rest,
    still on offer, each with its share of the piece's price by GPU-hours (the share of the
    GPU-hours sold leaves with them)."""
    kept = {t: piece.gpus for t in _hours(piece.starts_at, piece.ends_at)}
    bought: list[NewContract] = []
    for fill_id in sorted(taken):
        for t, g in taken[fill_id].items():
            kept[t] -= g
        bought += [NewContract(buyer_of[fill_id], piece.provider_id, piece.pool_id, g, s, e,
                               cost(g, s, e), fill_id=fill_id, parent_id=piece.id)
                   for s, e, g in runs(taken[fill_id])]
    rest = runs(kept)
    if not rest:
        return bought
    kept_hours = [g * hours_between(s, e) for s, e, g in rest]
    whole = piece.gpus * hours_between(piece.starts_at, piece.ends_at)
    # The sold GPU-hours' share comes first, so prorate's rounding remainder leaves with it.
    shares = prorate(piece.price, [whole - sum(kept_hours), *kept_hours])[1:]
    return [*bought, *(NewContract(piece.holder_id, piece.provider_id, piece.pool_id, g, s, e,
                                   price, parent_id=piece.id, offer_id=piece.offer_id)
                       for (s, e, g), price in zip(rest, shares, strict=True))]


@dataclass(slots=True)
class _Left:
    key: int | None
    gpus: int


def assign(demand: Sequence[tuple[int, str, int]], supply: Sequence[tuple[Source, str, int]]
           ) -> list[tuple[int, Source, int]]:
    """One hour of one pool: which source serves which bid fill, as (fill id, source, GPUs),
    never a buyer from its own account's asks. `demand` is (fill id, buyer, GPUs), `supply`
    (source, seller, GPUs); they must total the same."""
    need: dict[str, int] = defaultdict(int)
    have: dict[str, int] = defaultdict(int)
    fills_of: dict[str, deque[_Left]] = defaultdict(deque)
    sources_of: dict[str, deque[_Left]] = defaultdict(deque)
    for fill_id, buyer, g in demand:
        need[buyer] += g
        fills_of[buyer].append(_Left(fill_id, g))
    for source, seller, g in supply:
        have[seller] += g
        sources_of[seller].append(_Left(source, g))
    out: list[tuple[int, Source, int]] = []
    for (buyer, seller), amount in sorted(_max_flow(dict(need), dict(have)).items()):
        while amount > 0:
            fill, src = fills_of[buyer][0], sources_of[seller][0]
            take = min(amount, fill.gpus, src.gpus)
            assert fill.key is not None
            out.append((fill.key, src.key, take))
            amount -= take
            fill.gpus -= take
            src.gpus -= take
            if fill.gpus == 0:
                fills_of[buyer].popleft()
            if src.gpus == 0:
                sources_of[seller].popleft()
    return out


Node = tuple[str, str]  # ("b", buyer) or ("s", seller)


def _max_flow(need: dict[str, int], have: dict[str, int]) -> dict[tuple[str, str], int]:
    """GPUs from sellers to buyers, (buyer, seller) -> GPUs, meeting every need and never
    pairing an account with itself (augmenting paths, breadth first)."""
    flow: dict[tuple[str, str], int] = defaultdict(int)
    sellers = sorted(have)
    while any(need.values()):
        path = _augmenting_path(need, have, sellers, flow)
        if path is None:
            raise InvalidValue("supply", "cannot serve every buyer from other accounts' asks",
                               dict(need))
        # path: buyer, seller, buyer, seller, ...: even steps add flow, odd steps undo it.
        amount = min(need[path[0][1]], have[path[-1][1]])
        for i in range(1, len(path) - 1, 2):
            amount = min(amount, flow[path[i + 1][1], path[i][1]])
        for i in range(len(path) - 1):
            if i % 2 == 0:
                flow[path[i][1], path[i + 1][1]] += amount
            else:
                flow[path[i + 1][1], path[i][1]] -= amount
        need[path[0][1]] -= amount
        have[path[-1][1]] -= amount
    return {k: v for k, v in flow.items() if v > 0}


def _augmenting_path(need: Mapping[str, int], have: Mapping[str, int], sellers: Sequence[str],
                     flow: Mapping[tuple[str, str], int]) -> list[Node] | None:
    prev: dict[Node, Node | None] = {("b", b): None for b in sorted(need) if need[b] > 0}
    queue = deque(prev)
    while queue:
        kind, name = queue.popleft()
        if kind == "b":
            nxt = [("s", s) for s in sellers if s != name]
        else:
            nxt = [("b", b) for (b, s), f in sorted(flow.items()) if s == name and f > 0]
        for node in nxt:
            if node in prev:
                continue
            prev[node] = (kind, name)
            if node[0] == "s" and have[node[1]] > 0:
                path = [node]
                while (before := prev[path[-1]]) is not None:
                    path.append(before)
                return path[::-1]
            queue.append(node)
    return None


class _Cost:
    """What GPUs of one pool over hours come to at a round's clearing prices."""

    def __init__(self, pool: str, price_of: Mapping[tuple[str, datetime], int]) -> None:
        self.pool = pool
        self.price_of = price_of

    def __call__(self, gpus: int, starts_at: datetime, ends_at: datetime) -> Decimal:
        return from_micros(gpus * sum(self.price_of.get((self.pool, t), 0)
                                      for t in _hours(starts_at, ends_at)))


def _hourly(prices: Sequence[PriceRow]) -> dict[tuple[str, datetime], int]:
    return {(p.pool_id, t): to_micros(p.price) for p in prices
            for t in _hours(p.starts_at, p.ends_at)}


def runs(per_hour: Mapping[datetime, int]) -> list[tuple[datetime, datetime, int]]:
    """Maximal runs of consecutive hours with the same positive GPUs: (start, end, GPUs)."""
    out: list[tuple[datetime, datetime, int]] = []
    for t in sorted(h for h, g in per_hour.items() if g > 0):
        g = per_hour[t]
        if out and out[-1][1] == t and out[-1][2] == g:
            out[-1] = (out[-1][0], t + HOUR, g)
        else:
            out.append((t, t + HOUR, g))
    return out


def _hours(starts_at: datetime, ends_at: datetime) -> Iterator[datetime]:
    t = starts_at
    while t < ends_at:
        yield t
        t += HOUR
