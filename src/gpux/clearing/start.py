"""The solver's start on a component too large for its LP: greedy, then greedy guided by
Lagrangian prices over the candidates, the best of them after repair.

Greedy by margin per GPU-slot (the baseline) is always run; while time allows, subgradient
steps on the prices of `lagrange.CandidatePrices` and a guided greedy at their mean follow,
round after round. The Lagrangian prices of least dual found are kept: the relaxation bound
over every placement evaluates them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from gpux.clearing.greedy import GreedyOrders, Ledger, greedy
from gpux.clearing.helper import Helper, Inbox
from gpux.clearing.instance import Instance, IntArray
from gpux.clearing.lagrange import CandidatePrices, Subgradient, guided_greedy
from gpux.clearing.state import State, repaired

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
# Waiting for the helper's rounds, this much beyond their estimate: forking, the child's
# start and passing its answers back are not in it (on a small book the estimate is a few
# milliseconds, and CI once lost the helper's round to it).
HELPER_SLACK_SECONDS = 1.0


@dataclass(slots=True)
class Start:
    """The solver's start: the allocation, the baseline greedy's surplus, stats, and the
    Lagrangian prices of least dual when they were computed."""

    state: State
    baseline: int
    stats: dict[str, object]
    dual_prices: IntArray | None = None


@dataclass(frozen=True, slots=True)
class _Round:
    """A guided greedy's outcome: steps before it, surplus and placements after repair."""

    steps: int
    surplus: int
    chosen: list[int]


@dataclass(frozen=True, slots=True)
class _Prices:
    """Where a process's subgradient steps ended: steps, least dual and its prices."""

    steps: int
    dual: int | None
    prices: IntArray


class _Rounds:
    """Guided greedy rounds, each after more subgradient steps, kept while the next should
    end before `until`."""

    def __init__(self, instance: Instance, orders: GreedyOrders, subgradient: Subgradient,
                 like: Ledger, deadline: float, until: float, repairing: float) -> None:
        self.instance, self.orders, self.subgradient = instance, orders, subgradient
        self.like, self.deadline, self.until, self.repairing = like, deadline, until, repairing
        self.seconds: list[float] = []  # each round's, steps included

    def run(self, steps: list[int], took: float, each: Callable[[_Round], None]) -> None:
        """Before each round, `steps[k]` more steps; `took` estimates the first round's
        seconds (0: try it whatever the time, as long as some is left)."""
        for more in steps:
            began = time.monotonic()
            # a round after no more steps (the first, once the steps are made) always runs
            if began + took >= self.until or (more and self.subgradient.still):
                return
            self.subgradient.run(more, self.until)
            relaxation = self.subgradient.relaxation
            reduced = relaxation.reduced(self.subgradient.average())
            state = repaired(self.instance, guided_greedy(
                self.instance, self.orders, reduced, GUIDED_EXPONENT,
                self.deadline - 1.5 * self.repairing, self.like))
            took = time.monotonic() - began
            self.seconds.append(took)
            each(_Round(self.subgradient.steps, state.surplus, sorted(state.chosen)))

    def beside(self, steps: list[int], took: float) -> Callable[[Inbox], object]:
        """`run` as a forked helper's work: each round replied, then where its steps
        ended."""
        def work(inbox: Inbox) -> object:
            self.run(steps, took, inbox.reply)
            sub = self.subgradient
            return _Prices(sub.steps, sub.best_dual, sub.best_prices)

        return work


def greedy_start(instance: Instance, orders: GreedyOrders, deadline: float, until: float,
                 workers: int = 1) -> Start:
    """The best repaired start: greedy by margin per GPU-slot (the baseline, whatever the
    time), then, while the next try should end before `until`, greedy guided by Lagrangian
    prices over the candidates (`lagrange`): after `GUIDED_STEPS` subgradient steps, at the
    mean prices, then after every `GUIDED_MORE_STEPS` more, at most `GUIDED_ROUNDS` times
    and not once the prices stand still.

    With two workers or more, the later half of the rounds runs in a forked process
    (`Helper`) once the first steps are made, beside the earlier half here: the guided
    greedy is single-threaded Python, and the other core is idle meanwhile."""
    greedy_began = time.monotonic()
    chosen = greedy(instance, orders.order(), deadline)
    began = time.monotonic()
    best = repaired(instance, chosen)
    # A guided greedy stops in time for a repair as long as this one's. Its own repair can
    # take far longer (market-50000: 7.3 s against 0.43 s, more placements dropped); the
    # solver's check of its search's set-up time then gives up the search rather than
    # overrun.
    repairing = time.monotonic() - began
    greedy_seconds = time.monotonic() - greedy_began
    baseline = best.surplus
    stats: dict[str, object] = {"start": "greedy"}
    if time.monotonic() >= until:
        return Start(best, baseline, {**stats, "start_surplus_micros": best.surplus})
    relaxation = CandidatePrices(instance)
    subgradient = Subgradient(relaxation, baseline)
    rounds = _Rounds(instance, orders, subgradient, Ledger(instance), deadline, until,
                     repairing)
    steps = [GUIDED_STEPS] + [GUIDED_MORE_STEPS] * (GUIDED_ROUNDS - 1)
    found: list[_Round] = []
    helper: Helper | None = None
    if workers >= 2 and GUIDED_ROUNDS >= 2:
        began = time.monotonic()
        subgradient.run(GUIDED_STEPS, until)
        per_step = (time.monotonic() - began) / max(subgradient.steps, 1)
        mine = (GUIDED_ROUNDS + 1) // 2
        # the helper's first round makes the steps of this process's later rounds too
        later = [sum(steps[1:mine + 1]), *steps[mine + 1:]]
        forked = time.monotonic()
        if not subgradient.still:
            helper = Helper.start(rounds.beside(later, later[0] * per_step + greedy_seconds))
        # the first steps are made: this process's first round follows at once
        steps = [0, *steps[1:]] if helper is None else [0, *steps[1:mine]]
    try:
        rounds.run(steps, 0.0, found.append)
        final = _Prices(subgradient.steps, subgradient.best_dual, subgradient.best_prices)
        if helper is not None:
            # The helper's rounds take about as long as this process's first (a guided
            # greedy alone, its steps made before the fork) plus their steps: no longer
            # is waited for (at 50,000 bids a guided greedy takes 8 times the baseline).
            wait = until if not rounds.seconds else min(
                until, forked + sum(later) * per_step + 1.5 * len(later) * rounds.seconds[0]
                + HELPER_SLACK_SECONDS)
            while isinstance(message := helper.receive(wait), _Round):
                # where the steps stalled in this process's last round, the helper's
                # first round stalls at the same step: the same round again
                if all(r.steps != message.steps for r in found):
                    found.append(message)
            if isinstance(message, _Prices) and message.steps > final.steps:
                final = message
    finally:
        if helper is not None:
            helper.close()
    found.sort(key=lambda r: r.steps)
    top = max(found, key=lambda r: r.surplus, default=None)  # the first of equals
    if top is not None and top.surplus > best.surplus:
        best = repaired(instance, top.chosen)
        stats.update(start="guided", start_steps=top.steps)
    stats.update(start_surplus_micros=best.surplus,
                 guided_tried=[[r.steps, r.surplus] for r in found],
                 lagrangian_steps=final.steps, lagrangian_dual_micros=final.dual,
                 start_rounds_beside=helper is not None)
    return Start(best, baseline, stats, final.prices)
