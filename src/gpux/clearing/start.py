"""The solver's start on a component too large for its LP: greedy, then greedy guided by
Lagrangian prices over the candidates, the best of them after repair.

Greedy by margin per GPU-slot (the baseline) is always run; while time allows, subgradient
steps on the prices of `lagrange.CandidatePrices` and a guided greedy at their mean follow,
round after round. The Lagrangian prices of least dual found are kept: the relaxation bound
over every placement evaluates them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gpux.clearing.greedy import GreedyOrders, Ledger, greedy
from gpux.clearing.instance import Instance, IntArray
from gpux.clearing.lagrange import CandidatePrices, Subgradient, guided_greedy
from gpux.clearing.state import State

# Where the LP start cannot run, the start is the best of greedy by margin per GPU-slot
# (the baseline) and greedy guided by Lagrangian prices (`lagrange`), tried for at most
# this share of the time: after `GUIDED_STEPS` subgradient steps, then after every
# `GUIDED_MORE_STEPS` more, at most `GUIDED_ROUNDS` times. Measured on market-10000
# (`python -m bench.start market-10000-sS`, surplus after repair against greedy by margin
# per GPU-slot): seed 1 +5.71% after 150 steps, +5.74% after 300; seed 2 +4.76% / +4.96%;
# ordering by reduced profit over size^0.3 instead did worse at each of 150, 200 and 300
# steps on both seeds (-0.3% to -0.8%); the previous start (margin over size^0.9) +2.05%
# and +0.78%. Four rounds against two at 30 s: 8,767,326 against 8,763,018 (seed 1),
# 7,587,241 against 7,578,483 (seed 2).
GREEDY_SHARE = 0.5
GUIDED_STEPS = 150
GUIDED_MORE_STEPS = 50
GUIDED_EXPONENT = 0.0
GUIDED_ROUNDS = 4


@dataclass(slots=True)
class Start:
    """The solver's start: the allocation, the baseline greedy's surplus, stats, and the
    Lagrangian prices of least dual when they were computed."""

    state: State
    baseline: int
    stats: dict[str, object]
    dual_prices: IntArray | None = None


def greedy_start(instance: Instance, orders: GreedyOrders, deadline: float, until: float
                  ) -> Start:
    """The best repaired start: greedy by margin per GPU-slot (the baseline, whatever the
    time), then, while the next try should end before `until`, greedy guided by Lagrangian
    prices over the candidates (`lagrange`): after `GUIDED_STEPS` subgradient steps, at the
    mean prices, then after every `GUIDED_MORE_STEPS` more, at most `GUIDED_ROUNDS` times
    and not once the prices stand still."""
    def repaired(chosen: list[int]) -> State:
        state = State(instance, chosen)
        state.repair()
        return state

    chosen = greedy(instance, orders.order(), deadline)
    began = time.monotonic()
    best = repaired(chosen)
    # A guided greedy stops in time for a repair as long as this one's. Its own repair can
    # take far longer (market-50000: 7.3 s against 0.43 s, more placements dropped); the
    # search's set-up check below then gives up the search rather than overrun.
    repairing = time.monotonic() - began
    baseline = best.surplus
    stats: dict[str, object] = {"start": "greedy"}
    if time.monotonic() >= until:
        return Start(best, baseline, {**stats, "start_surplus_micros": best.surplus})
    relaxation = CandidatePrices(instance)
    subgradient = Subgradient(relaxation, baseline)
    like = Ledger(instance)
    tried: list[list[int]] = []  # [steps, surplus] of each guided greedy
    took = 0.0
    steps = GUIDED_STEPS
    for _ in range(GUIDED_ROUNDS):
        began = time.monotonic()
        if began + took >= until or subgradient.still:
            break
        subgradient.run(steps, until)
        reduced = relaxation.reduced(subgradient.average())
        state = repaired(guided_greedy(instance, orders, reduced, GUIDED_EXPONENT,
                                       deadline - 1.5 * repairing, like))
        took = time.monotonic() - began
        tried.append([subgradient.steps, state.surplus])
        if state.surplus > best.surplus:
            best = state
            stats.update(start="guided", start_steps=subgradient.steps)
        steps = GUIDED_MORE_STEPS
    stats.update(start_surplus_micros=best.surplus, guided_tried=tried,
                 lagrangian_steps=subgradient.steps,
                 lagrangian_dual_micros=subgradient.best_dual)
    return Start(best, baseline, stats, subgradient.best_prices)
