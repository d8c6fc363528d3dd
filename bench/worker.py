"""Run one method on one instance in this process and write its figures as JSON.

    python -m bench.worker INSTANCE METHOD TIME_LIMIT SEED OUT.json

`bench.run` starts one of these per (instance, method), so each peak RSS is that method's
alone (plus the interpreter and the book, reported as `book_mib`). Money is in micros.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import traceback
from decimal import Decimal
from typing import Any

from bench.baselines import (
    BaselineRun,
    greedy_run,
    hint_vector,
    repaired,
    solve_cpsat,
    solve_highs,
    to_gpux,
)
from bench.instances import make_book, parse
from bench.lpbound import lp_bound
from bench.naive import build_naive
from gpux.clearing.allocation import Allocation, Placement
from gpux.clearing.auction import clear
from gpux.clearing.instance import prepare
from gpux.clearing.pricing import floor_prices, lp_dual_prices
from gpux.clearing.solver import SolveParams
from gpux.domain.book import Book
from gpux.domain.money import to_micros
from gpux.domain.result import Result

WORKERS = 2
LP_DUAL_MAX_BIDS = 2_000
METHODS = ("gpux", "greedy", "cpsat", "cpsat-warm", "highs", "highs-warm", "lp")


def peak_mib() -> float:
    """This process's peak resident set so far, plus the largest of its helper processes'
    (the clearing's, `gpux.clearing.helper`), in MiB (Linux reports KiB): at most what
    both held at once."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    helpers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round((own + helpers) / 1024, 1)


def allocation_of(result: Result) -> Allocation:
    """The allocation a result describes (placements and per-slot supply of each ask)."""
    placements = tuple(Placement(a.bid, a.alternative, a.start, tuple(g.pool for g in a.legs))
                       for a in result.accepted)
    supply: dict[str, dict[int, int]] = {}
    for s in result.supplied:
        for t in range(s.start, s.end):
            supply.setdefault(s.ask, {})[t] = s.gpus
    return Allocation(placements, supply)


def _micros(value: object) -> int:
    return to_micros(Decimal(str(value)))


def run_gpux(book: Book, time_limit: float, seed: int) -> dict[str, Any]:
    """gpux's `clear`, then the baseline pricings on its allocation."""
    started = time.monotonic()
    result = clear(book, SolveParams(time_limit, WORKERS, seed))
    wall = time.monotonic() - started
    peak = peak_mib()
    stats = result.stats
    surplus, bound = to_micros(result.surplus), to_micros(result.bound)
    row: dict[str, Any] = {
        "status": result.status, "surplus": surplus, "repaired": surplus, "bound": bound,
        "gap": (bound - surplus) / bound if bound > 0 else 0.0,
        "wall_seconds": round(wall, 2), "peak_mib": peak,
        "accepted": len(result.accepted),
        "pricing": {"clear": [_micros(stats["pricing_envy"]),
                              _micros(stats["pricing_overprice"])]},
        "detail": {k: stats.get(k) for k in (
            "prepare_seconds", "solve_seconds", "pricing_seconds", "candidates",
            "pruned_unprofitable", "pruned_combinations", "components",
            "largest_component_candidates", "greedy_surplus_micros", "lns_rounds",
            "lns_improvements")},
    }
    pricing = stats.get("pricing")
    row["detail"]["pricing_method"] = pricing.get("method") if isinstance(pricing, dict) else None
    allocation = allocation_of(result)
    floor = floor_prices(book, allocation)
    row["pricing"]["floor"] = [floor.envy_micros, floor.overprice_micros]
    if len(book.bids) <= LP_DUAL_MAX_BIDS:
        t0 = time.monotonic()
        dual = lp_dual_prices(book, allocation, time_limit=time_limit)
        row["pricing"]["lp_dual"] = [dual.envy_micros, dual.overprice_micros]
        row["detail"]["lp_dual_seconds"] = round(time.monotonic() - t0, 2)
        row["detail"]["lp_dual_method"] = dual.stats.get("method")
    return row


def run_greedy(book: Book) -> dict[str, Any]:
    """gpux's greedy plus repair; the prepare step is counted in the wall time."""
    started = time.monotonic()
    instance = prepare(book)
    prepared = time.monotonic()
    chosen, raw, kept, surplus = greedy_run(instance)
    wall = time.monotonic() - started
    return {"status": "heuristic", "surplus": raw, "repaired": surplus, "bound": None,
            "wall_seconds": round(wall, 2), "peak_mib": peak_mib(), "accepted": len(kept),
            "detail": {"prepare_seconds": round(prepared - started, 2),
                       "chosen_before_repair": len(chosen)}}


def run_lp(book: Book, time_limit: float) -> dict[str, Any]:
    """The naive model's LP relaxation bound (column generation; Lagrangian if cut short)."""
    started = time.monotonic()
    naive = build_naive(book)
    built = time.monotonic()
    lp = lp_bound(naive, time_limit)
    return {"status": lp.status, "surplus": None, "bound": lp.bound, "converged": lp.converged,
            "wall_seconds": round(time.monotonic() - started, 2), "peak_mib": peak_mib(),
            "detail": {**naive.stats, "setup_seconds": round(built - started, 2),
                       "solve_seconds": round(time.monotonic() - built, 2), **lp.stats}}


def run_naive(book: Book, method: str, time_limit: float, seed: int) -> dict[str, Any]:
    """A naive-model baseline; its allocation is then mapped onto gpux and repaired."""
    started = time.monotonic()
    naive = build_naive(book)
    hint = instance = None
    warm_seconds = 0.0
    if method.endswith("-warm"):  # the hint's cost (prepare, greedy) counts; repair's does not
        t0 = time.monotonic()
        instance = prepare(book)
        _, _, kept, _ = greedy_run(instance)
        hint = hint_vector(instance, naive, kept)
        warm_seconds = time.monotonic() - t0
    enumerated = time.monotonic()
    run: BaselineRun
    if method.startswith("cpsat"):
        run = solve_cpsat(naive, time_limit, WORKERS, seed, hint)
    else:
        run = solve_highs(naive, time_limit, seed, hint)
    wall = time.monotonic() - started
    row: dict[str, Any] = {
        "status": run.status, "surplus": run.surplus, "bound": run.bound,
        "wall_seconds": round(wall, 2), "peak_mib": peak_mib(),
        "detail": {**naive.stats, "setup_seconds": round(enumerated - started, 2),
                   "warm_start_seconds": round(warm_seconds, 2),
                   "build_seconds": round(run.build_seconds, 2),
                   "solve_seconds": round(run.solve_seconds, 2), **run.stats},
    }
    if run.surplus is not None:
        instance = instance or prepare(book)
        mapped, dropped = to_gpux(instance, naive, run.chosen)
        kept, surplus = repaired(instance, mapped)
        row.update(repaired=surplus, accepted=len(kept))
        row["detail"].update(chosen=len(run.chosen), not_a_candidate=dropped,
                             dropped_by_repair=len(mapped) - len(kept))
    return row


def main(argv: list[str]) -> int:
    """Entry point: INSTANCE METHOD TIME_LIMIT SEED OUT.json."""
    name, method, limit, seed, out = argv
    if method not in METHODS:
        raise SystemExit(f"method must be one of {', '.join(METHODS)}, was {method!r}")
    spec = parse(name)
    row: dict[str, Any] = {"instance": name, "method": method, "time_limit": float(limit)}
    try:
        t0 = time.monotonic()
        book = make_book(spec)
        row.update(book_seconds=round(time.monotonic() - t0, 2), book_mib=peak_mib(),
                   bids=len(book.bids), asks=len(book.asks), pools=len(book.pools),
                   alternatives=sum(len(b.alternatives) for b in book.bids))
        if method == "gpux":
            row.update(run_gpux(book, float(limit), int(seed)))
        elif method == "greedy":
            row.update(run_greedy(book))
        elif method == "lp":
            row.update(run_lp(book, float(limit)))
        else:
            row.update(run_naive(book, method, float(limit), int(seed)))
    except Exception as err:  # a failing baseline is a result to report, not a crash
        row.update(status=f"error: {type(err).__name__}: {err}"[:300], peak_mib=peak_mib(),
                   traceback=traceback.format_exc()[-2000:])
    with open(out, "w") as f:
        json.dump(row, f, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
