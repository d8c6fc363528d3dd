"""Clear one auction: book -> instance -> allocation -> prices -> result.

The one entry point the CLI and the worker call. Every result it returns has passed the
independent check; a result that does not is a bug, and it raises rather than publish it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import numpy as np

from gpux.clearing.allocation import Allocation, Placement
from gpux.clearing.bound import bound_beside, relaxation_bound
from gpux.clearing.check import check_result
from gpux.clearing.helper import Helper
from gpux.clearing.instance import Instance, IntArray, prepare
from gpux.clearing.lpguide import MAX_CANDIDATES
from gpux.clearing.pricing import Prices, clearing_prices
from gpux.clearing.solver import Solution, SolveParams, components, solve
from gpux.clearing.supply import supply_by_ask
from gpux.domain.book import Book
from gpux.domain.money import from_micros, to_micros
from gpux.domain.result import (
    AcceptedBid,
    LegFill,
    PriceRange,
    Result,
    Supplied,
    result_to_doc,
)

# Shares of the time limit (after preparing the instance) for each step. Measured with
# ejection moves on market-10000 at 30 s: 0.80/0.10/0.10 gave 8.34-8.37 M (3 runs, proven
# gap 16-21%), 0.72/0.14/0.14 8.36 M (3 runs, gap 15-16%); at 50,000 bids both 42.89 M,
# with a gap of 43% against 26%: more time for the solve bought nothing measurable.
SOLVE_SHARE = 0.72
PRICING_SHARE = 0.14
BOUND_SHARE = 0.14
RELATIVE_GAP = Decimal("0.0001")
# Where the solver proves the bound itself (small books, section "cut" below), pricing keeps
# only about what it needs, at most its share: measured 0.04-0.30 s on every such book of
# the benchmark (market-100 to market-1000, CATS up to 400 x 2,000), so 0.5 ms per bid and
# never under 1 s leave it a wide margin; the solve takes the rest (at 1,000 bids and 30 s,
# about 3 s more).
PRICING_SECONDS_PER_BID = 5e-4
MIN_PRICING_SECONDS = 1.0
# Seconds kept back from the time limit for assembling and checking the result (the
# command line also takes off what reading the book took). Both are Python over the book, as
# preparing it is, so the headroom follows preparing's time on the machine at hand:
# measured (session 9) 0.47 s after 1.83 s of preparing at 10,000 bids and 2.7 s after
# 14.9 s at 50,000; a fixed 1 s + 0.12 ms per bid kept 2.2 s there, 1.7 s of it unused.
HEADROOM_SECONDS = 0.5
HEADROOM_PER_PREPARE = 0.4
HEADROOM_MAX_SHARE = 0.1
# The relaxation bound's set-up (its placement search over every bid) costs about this
# share of preparing the instance, whatever its time limit (measured: 2.4 s against 3.7 s
# at 10,000 bids, 19.6 s against 40 s at 50,000): the solve leaves it at least that.
BOUND_PER_PREPARE = 0.6
# Below this many seconds left, the relaxation bound is not even started.
MIN_BOUND_SECONDS = 0.5
# Enumerating placements stops at this share of the time limit (less the headroom): under a
# small limit on a large book (10,000 bids in 5 s), bids past it get no candidates rather
# than leave no time for a solution (measured: prepare 2.4 s there on a quiet machine, 5 s
# under load).
PREPARE_SHARE = 0.4


def headroom(time_limit: float, prepare_seconds: float) -> float:
    """Seconds of the time limit kept for assembling and checking the result, once
    preparing the instance took `prepare_seconds`."""
    return min(HEADROOM_SECONDS + HEADROOM_PER_PREPARE * prepare_seconds,
               HEADROOM_MAX_SHARE * time_limit)


class CheckFailed(AssertionError):
    """The engine produced a result its own independent check rejects (a bug, never input)."""


def to_allocation(instance: Instance, chosen: list[int]) -> Allocation:
    """The plain allocation of chosen candidates, supply split over each group's asks."""
    book = instance.book
    placements = []
    for c in chosen:
        cand = instance.candidates[c]
        placements.append(Placement(book.bids[cand.bid].id, cand.alternative, cand.start,
                                    tuple(instance.pool_ids[leg.pool] for leg in cand.legs)))
    supply = {book.asks[i].id: by_slot
              for i, by_slot in supply_by_ask(instance, chosen).items()}
    return Allocation(tuple(placements), supply)


def _runs(values: dict[int, int]) -> list[tuple[int, int, int]]:
    """Maximal ranges [start, end) of equal value over consecutive slots."""
    out: list[tuple[int, int, int]] = []
    for t in sorted(values):
        if out and out[-1][1] == t and out[-1][2] == values[t]:
            out[-1] = (out[-1][0], t + 1, values[t])
        else:
            out.append((t, t + 1, values[t]))
    return out


def build_result(book: Book, allocation: Allocation, prices: Prices, solution: Solution,
                 stats: dict[str, object]) -> Result:
    """Assemble the spec's result: payments and revenues follow from the prices."""
    by_pool = prices.by_pool
    bids = {b.id: b for b in book.bids}
    accepted = []
    for pl in sorted(allocation.placements, key=lambda p: p.bid):
        alt = bids[pl.bid].alternatives[pl.alternative]
        legs, paid = [], 0
        for leg, pool in zip(alt.legs, pl.pools, strict=True):
            lo, hi = pl.start + leg.offset, pl.start + leg.end_offset
            paid += leg.gpus * sum(by_pool[pool][t] or 0 for t in range(lo, hi))
            legs.append(LegFill(pool, lo, hi, leg.gpus))
        accepted.append(AcceptedBid(pl.bid, pl.alternative, pl.start, from_micros(paid),
                                    tuple(legs)))
    asks = {a.id: a for a in book.asks}
    supplied, cost = [], Decimal(0)
    for ask_id in sorted(allocation.supply):
        ask = asks[ask_id]
        for lo, hi, gpus in _runs({t: g for t, g in allocation.supply[ask_id].items() if g}):
            earned = gpus * sum(by_pool[ask.pool][t] or 0 for t in range(lo, hi))
            supplied.append(Supplied(ask_id, lo, hi, gpus, from_micros(earned)))
            cost += gpus * (hi - lo) * ask.price
    value = sum((bids[p.bid].alternatives[p.alternative].value
                 for p in allocation.placements), Decimal(0))
    price_rows: list[PriceRange] = []
    for pool_id in sorted(by_pool):
        defined = {t: v for t, v in enumerate(by_pool[pool_id]) if v is not None}
        price_rows.extend(PriceRange(pool_id, lo, hi, from_micros(v))
                          for lo, hi, v in _runs(defined))
    surplus = value - cost
    bound = max(from_micros(solution.bound), surplus)
    return Result("optimal" if solution.optimal else "feasible", surplus, bound,
                  tuple(accepted), tuple(supplied), tuple(price_rows), stats)


def clear(book: Book, params: SolveParams | None = None) -> Result:
    """Solve, price and check one auction's book."""
    params = params or SolveParams()
    started = time.monotonic()
    # The time limit covers the whole clearing: what preparing left (less the headroom for
    # assembling and checking the result) is shared out, and pricing and the bound get
    # whatever solving leaves of their shares.
    with _collector_off():
        instance = prepare(book, deadline=started + PREPARE_SHARE * (1 - HEADROOM_MAX_SHARE)
                           * params.time_limit)
    kept = headroom(params.time_limit, time.monotonic() - started)
    instance.stats["headroom_seconds"] = round(kept, 6)
    with _collector_paused():
        return _clear_prepared(book, instance, params, started,
                               started + params.time_limit - kept)


_collector_lock = threading.Lock()
_collector_offs = 0
_collector_was_on = False


@contextlib.contextmanager
def _collector_off() -> Iterator[None]:
    """No cyclic collection while preparing: it makes hundreds of thousands of objects and
    no cycles, and each full collection would scan them all (market-10000: 7.4 s with the
    collector, 5.2-6.3 s without). Counted, so that clearings in several threads turn the
    collector back on only when the last one ends (and only if it was on)."""
    global _collector_offs, _collector_was_on
    with _collector_lock:
        if _collector_offs == 0:
            _collector_was_on = gc.isenabled()
            gc.disable()
        _collector_offs += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_offs -= 1
            if _collector_offs == 0 and _collector_was_on:
                gc.enable()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Keep the objects alive so far (the book's and the instance's hundreds of thousands
    of candidates, which live through the clearing) out of Python's cyclic collector's
    scans until the clearing ends; they are still freed as usual once unreferenced."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _clear_prepared(book: Book, instance: Instance, params: SolveParams, started: float,
                    deadline: float) -> Result:
    prepared = time.monotonic()
    left = max(deadline - prepared, 0.0)
    # When every candidate fits the solver's cut relaxation, the solver proves the bound
    # itself (tighter than the relaxation over all placements), so the bound's share of
    # the time goes to solving; the relaxation only runs if some component went unbounded.
    cut = not _incomplete(instance) and len(instance.candidates) <= MAX_CANDIDATES
    solve_limit = left * (SOLVE_SHARE + (BOUND_SHARE if cut else 0.0))
    if cut:
        # Pricing books this small takes a fraction of its share: keep what it needs.
        pricing_need = max(MIN_PRICING_SECONDS, PRICING_SECONDS_PER_BID * len(book.bids))
        solve_limit = left - min(left * PRICING_SHARE, pricing_need)
    comps = components(instance)
    # Where a component is too large for the LP, the solver starts from Lagrangian prices
    # over the candidates, which the bound then evaluates over every placement; subgradient
    # steps from them gained nothing (market-10000 seed 1: 9,188,130.52 after 0.9 s and
    # after 3.5 s, 40 steps), so the bound keeps only its set-up time.
    guided = any(sum(len(instance.by_bid[b]) for b in comp) > MAX_CANDIDATES for comp in comps)
    # There the bound's set-up (seconds of single-threaded Python) runs in a helper process
    # beside the solve, on the core the solver's start leaves idle, and evaluates those
    # prices as soon as the start has them: the solve keeps the bound's share.
    helper = (Helper.start(bound_beside(book))
              if guided and not cut and params.workers >= 2 else None)
    try:
        if helper is not None:
            solve_limit = left * (1 - PRICING_SHARE)
        elif not cut:
            bound_need = BOUND_PER_PREPARE * (prepared - started)
            most = max(left * (1 - PRICING_SHARE) - bound_need, left * SOLVE_SHARE / 2)
            solve_limit = most if guided else min(solve_limit, most)
        # finding the components and forking the helper took a little of it (seconds at
        # 50,000 bids)
        solve_limit = max(solve_limit - (time.monotonic() - prepared), 0.0)
        solution = solve(instance, dataclasses.replace(params, time_limit=solve_limit), comps,
                         None if helper is None else _sender(book, helper))
        if helper is not None:
            helper.send(None)  # no more prices: answer
        allocation = to_allocation(instance, solution.chosen)
        solved = time.monotonic()
        after_solve = (deadline - solved) * (
            1.0 if cut or helper is not None else PRICING_SHARE / (PRICING_SHARE + BOUND_SHARE))
        prices = clearing_prices(book, allocation,
                                 time_limit=max(min(left * PRICING_SHARE, after_solve), 1.0))
        priced = time.monotonic()
        answer = helper.result(deadline) if helper is not None else None
    finally:
        if helper is not None:
            helper.close()
    searched = solution.stats.get("searched_components", 0)
    lp_bound: int | None = None
    bound_stats: dict[str, object] = {"method": "cut relaxation, in the solver"}
    if isinstance(answer, tuple) and answer[0] is not None:
        lp_bound, bound_stats = answer
    elif deadline - priced < MIN_BOUND_SECONDS and (instance.stats.get("pruned_by_deadline")
                                                    or helper is not None):
        # Out of time on a book too large for its limit (the relaxation's set-up alone takes
        # seconds there): no allocation can earn more than every bid's best value.
        bound_stats = {"method": "no time left: the sum of best values"}
        lp_bound = sum(max(to_micros(a.value) for a in b.alternatives) for b in book.bids)
    elif not cut or solution.stats.get("cut_bounded_components", 0) != searched:
        lp_bound, bound_stats = relaxation_bound(
            book, allocation,
            time_limit=max(min(left * BOUND_SHARE, deadline - priced), MIN_BOUND_SECONDS),
            prices=[_price_array(book, prices), *_dual_prices(book, solution)],
            target=solution.surplus)
    if _incomplete(instance) and lp_bound is not None:
        # Candidates were capped, so the solver's bound covers only those it kept; only
        # the relaxation, which searches every placement, still bounds the whole book.
        solution.bound = max(lp_bound, solution.surplus)
        solution.optimal = _within_gap(solution)
    elif lp_bound is not None and lp_bound < solution.bound:
        solution.bound = max(lp_bound, solution.surplus)
        solution.optimal = _within_gap(solution)
    bounded = time.monotonic()
    stats: dict[str, object] = {
        **instance.stats, **solution.stats,
        "prepare_seconds": round(prepared - started, 3),
        "solve_seconds": round(solved - prepared, 3),
        "pricing_seconds": round(priced - solved, 3),
        "bound_seconds": round(bounded - priced, 3),
        "bids": len(book.bids), "asks": len(book.asks), "pools": len(book.pools),
        "gap": _gap(solution),
        "pricing_envy": from_micros(prices.envy_micros),
        "pricing_overprice": from_micros(prices.overprice_micros),
        "pricing": prices.stats,
        "bound": bound_stats,
        "warnings": list(book.warnings),
    }
    result = build_result(book, allocation, prices, solution, stats)
    problems = check_result(book, result_to_doc(result))
    if problems:
        raise CheckFailed("result failed the independent check:\n" + "\n".join(problems))
    return result


def _price_array(book: Book, prices: Prices) -> IntArray:
    """Prices as a (pools with asks) x slots array in micros, the bound's layout."""
    with_asks = {a.pool for a in book.asks}
    rows = [[v or 0 for v in prices.by_pool[p.id]] for p in book.pools if p.id in with_asks]
    return np.array(rows, dtype=np.int64).reshape(len(rows), book.slots)


def _dual_prices(book: Book, solution: Solution) -> list[IntArray]:
    """The solver's Lagrangian prices over its candidates, if it computed them, in the
    bound's layout: on market-10000 they bound every placement far below the clearing
    prices do."""
    if solution.dual_prices is None:
        return []
    return [_bound_layout(book, solution.dual_prices)]


def _sender(book: Book, helper: Helper) -> Callable[[IntArray], None]:
    """Passes the solver's prices on to the bound's helper, in the bound's layout."""
    def send(prices: IntArray) -> None:
        helper.send(_bound_layout(book, prices))

    return send


def _bound_layout(book: Book, prices: IntArray) -> IntArray:
    """Prices per pool and slot (every pool) as the bound lays them out: pools with asks."""
    with_asks = {a.pool for a in book.asks}
    rows = [i for i, p in enumerate(book.pools) if p.id in with_asks]
    out: IntArray = prices[rows]
    return out


def _within_gap(solution: Solution) -> bool:
    gap = solution.bound - solution.surplus
    return gap <= RELATIVE_GAP * max(abs(solution.bound), 1)


def _incomplete(instance: Instance) -> bool:
    """Whether preparing the instance cut placements that might have been profitable."""
    return any(instance.stats.get(k)
               for k in ("pruned_combinations", "pruned_per_bid_cap", "pruned_by_deadline"))


def _gap(solution: Solution) -> Decimal:
    if solution.bound <= 0:
        return Decimal(0)
    return (Decimal(solution.bound - solution.surplus) / Decimal(solution.bound)).quantize(
        Decimal("0.000001"))
