"""The solver's starts on one book, side by side in one process: surplus after repair and
seconds, each against greedy by margin per GPU-slot (the baseline).

    python -m bench.start INSTANCE [--steps 150,200,250] [--exponents 0,0.3]

Runs, on the prepared instance: greedy by margin per GPU-slot; greedy by margin over
size^0.9 (the start of sessions 5's solver on market-10000); then Lagrangian subgradient
steps over the candidates (`gpux.clearing.lagrange`) and, after each number of steps given,
the guided greedy with each exponent at the mean of the last steps' prices, and at the
last step's prices alone (to show why the mean is used).
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.instances import make_book, parse
from gpux.clearing.greedy import GreedyOrders, Ledger, greedy
from gpux.clearing.instance import Instance, prepare
from gpux.clearing.lagrange import CandidatePrices, Subgradient, guided_greedy
from gpux.clearing.state import repaired as after_repair
from gpux.domain.money import from_micros


def repaired(instance: Instance, chosen: list[int]) -> int:
    """The surplus (micros) of `chosen` after the priceability repair."""
    return after_repair(instance, chosen).surplus


def main(argv: list[str] | None = None) -> int:
    """Print each start's surplus, its ratio to the baseline and its seconds."""
    ap = argparse.ArgumentParser(prog="python -m bench.start", description=__doc__)
    ap.add_argument("instance", help="market-N-sS or cats-GxB-sS")
    ap.add_argument("--steps", default="150,200,250")
    ap.add_argument("--exponents", default="0,0.3")
    args = ap.parse_args(argv)
    instance = prepare(make_book(parse(args.instance)))
    orders = GreedyOrders(instance)

    def report(name: str, surplus: int, seconds: float) -> None:
        print(f"{name:<44} {from_micros(surplus):>16,.2f} {surplus / baseline:8.4f} "
              f"{seconds:7.2f} s", flush=True)

    began = time.monotonic()
    baseline = repaired(instance, greedy(instance, orders.order()))
    print(f"{args.instance}: {len(instance.candidates):,} candidates")
    print(f"{'start':<44} {'surplus USD':>16} {'/ greedy':>8} {'time':>9}")
    report("greedy, margin per GPU-slot (baseline)", baseline, time.monotonic() - began)
    began = time.monotonic()
    sized = repaired(instance, greedy(instance, orders.order_by(orders.margin, 0.9)))
    report("greedy, margin over size^0.9", sized, time.monotonic() - began)
    began = time.monotonic()
    relaxation = CandidatePrices(instance)
    subgradient = Subgradient(relaxation, baseline)
    like = Ledger(instance)
    print(f"set-up of the relaxation: {time.monotonic() - began:.2f} s")
    for steps in (int(s) for s in args.steps.split(",")):
        began = time.monotonic()
        subgradient.run(steps - subgradient.steps, time.monotonic() + 600)
        dual = from_micros(subgradient.best_dual or 0)
        print(f"{subgradient.steps} steps: least dual {dual:,.2f} USD, "
              f"{time.monotonic() - began:.2f} s")
        for label, prices in (("mean", subgradient.average()), ("last", subgradient.prices)):
            reduced = relaxation.reduced(prices)
            for exponent in (float(e) for e in args.exponents.split(",")):
                began = time.monotonic()
                surplus = repaired(instance, guided_greedy(instance, orders, reduced, exponent,
                                                           like=like))
                report(f"  guided, {label} prices, exponent {exponent}", surplus,
                       time.monotonic() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())
