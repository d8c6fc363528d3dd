"""Bound strength of the cut relaxation round by round: a measure that load cannot skew.

    python -m bench.cutbound INSTANCE [--rounds 4] [--mip SECONDS]

Prepares the instance, takes its largest component and prints, after the LP and after each
round of cuts, the cuts added so far and the exact bound (USD) of that component.

With `--mip`, HiGHS's branch and bound then runs on that same model (gpux's cuts included,
the candidates binary) for that many seconds, without its presolve and primal heuristics
(they only delay the bound), and HiGHS's log shows its dual bound (the component's, in USD)
as its own cuts and branching tighten it: how far a bound can get in a given time.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from bench.instances import make_book, parse
from gpux.clearing.cutbound import CutRelaxation
from gpux.clearing.instance import prepare
from gpux.clearing.solver import components


def main(argv: list[str] | None = None) -> int:
    """Print the component's bound after the LP and after each round of cuts."""
    ap = argparse.ArgumentParser(prog="python -m bench.cutbound", description=__doc__)
    ap.add_argument("instance", help="market-N-sS or cats-GxB-sS")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--mip", type=float, default=0.0, metavar="SECONDS",
                    help="then HiGHS's branch and bound on the tightened model")
    args = ap.parse_args(argv)
    instance = prepare(make_book(parse(args.instance)))
    comps = components(instance)
    comp = comps[0]
    print(f"{args.instance}: {len(comps)} components, largest "
          f"{sum(len(instance.by_bid[b]) for b in comp)} candidates")
    started = time.monotonic()
    relaxed = CutRelaxation(instance, comp, 600.0)
    if relaxed.solve(600.0) is None:
        print("LP not solved")
        return 1
    print(f"round 0 (LP): cuts 0, bound {relaxed.bound() or 0:,} micros, "
          f"{time.monotonic() - started:.1f} s")
    for k in range(1, args.rounds + 1):
        relaxed.tighten(time.monotonic() + 600.0, rounds=1)
        print(f"round {k}: cuts {relaxed.cuts}, bound {relaxed.bound() or 0:,} micros, "
              f"{time.monotonic() - started:.1f} s")
    if args.mip > 0:
        h, n = relaxed.h, relaxed.n_x
        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.ones(n, dtype=np.uint8))
        options: list[tuple[str, object]] = [
            ("time_limit", args.mip), ("presolve", "off"), ("mip_heuristic_effort", 0.0),
            ("output_flag", True), ("log_to_console", True)]
        options += [(f"mip_heuristic_run_{name}", False)
                    for name in ("rins", "rens", "feasibility_jump", "root_reduced_cost")]
        for option, value in options:
            h.setOptionValue(option, value)
        h.run()
        print(f"branch and bound: {h.modelStatusToString(h.getModelStatus())}, dual bound "
              f"{h.getInfo().mip_dual_bound:,.2f} USD (limit {args.mip:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
