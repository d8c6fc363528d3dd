"""Ejection moves: a losing big job replaces the small ones in its way when that pays;
windows beside them, solved in a thread or in a forked process."""

from __future__ import annotations

import random
import threading
import time

import pytest
from books import alternative, ask, bid, book, leg, pool

from gpux.clearing import eject
from gpux.clearing.eject import Ejection
from gpux.clearing.greedy import greedy
from gpux.clearing.helper import Helper, Inbox
from gpux.clearing.instance import Instance, prepare
from gpux.clearing.lns import (
    ANSWER_GRACE_SECONDS,
    Search,
    WindowAnswer,
    solve_window,
    window_server,
)
from gpux.clearing.solver import components
from gpux.clearing.state import State
from gpux.clearing.supply import cheapest_supply, repair, surplus_of
from gpux.domain.bookjson import read_book
from gpux.marketgen.market import generate_market

MICROS = 1_000_000


def _greedy_market(seed: int) -> tuple[Instance, list[int]]:
    """A 300-bid market over 72 slots and greedy's allocation of it, repaired."""
    instance = prepare(read_book(generate_market(300, seed, slots=72)))
    chosen, _ = repair(instance, greedy(instance))
    return instance, chosen


def _greedy_ejection(seed: int) -> tuple[Instance, State, Ejection]:
    """`_greedy_market`'s allocation as the incumbent, and ejection moves over its largest
    component."""
    instance, chosen = _greedy_market(seed)
    state = State(instance, chosen)
    return instance, state, Ejection(instance, state, components(instance)[0])


def _assert_valid(instance: Instance, state: State) -> None:
    """The state's surplus is its allocation's, every pool within its capacity, no bid
    twice, and clearing prices exist (the repair drops nothing)."""
    final = sorted(state.chosen)
    assert state.surplus == surplus_of(instance, final, cheapest_supply(instance, final))
    assert len({instance.candidates[c].bid for c in final}) == len(final)
    assert repair(instance, final)[0] == final


def _big_job_book(big_value: str) -> object:
    """Ten GPUs at $1 per hour for 4 hours; four 2-GPU jobs at $28 (margin $20 each, $2.50
    per GPU-hour) and one 10-GPU job at `big_value` for all 4 hours."""
    small = [bid(f"s{i}", f"small{i}", alternative("28", leg(2, 4), latest_end=4))
             for i in range(4)]
    big = bid("big", "trainer", alternative(big_value, leg(10, 4), latest_end=4))
    return book(pools=[pool("p")], asks=[ask("a", "p", 10, "1", end=4)],
                bids=[*small, big], slots=4)


def test_greedy_leaves_the_big_job_out_and_an_ejection_takes_it_in() -> None:
    # the big job: $130 - $40 = $90 of surplus, $2.25 per GPU-hour: greedy takes the small
    # jobs first ($80 in all) and the big one no longer fits
    instance = prepare(_big_job_book("130"))
    state = State(instance, greedy(instance))
    assert state.surplus == 80 * MICROS
    ejection = Ejection(instance, state, components(instance)[0])
    ejection.run(time.monotonic() + 10)
    assert state.surplus == 90 * MICROS
    assert [instance.book.bids[b].id for b in state.by_bid] == ["big"]
    assert ejection.improved == 1 and ejection.gain == 10 * MICROS


def test_an_ejection_that_would_lose_surplus_is_not_kept() -> None:
    # at $115 the big job's surplus ($75) is below the small jobs' ($80)
    instance = prepare(_big_job_book("115"))
    state = State(instance, greedy(instance))
    ejection = Ejection(instance, state, components(instance)[0])
    ejection.run(time.monotonic() + 10)
    assert state.surplus == 80 * MICROS
    assert sorted(instance.book.bids[b].id for b in state.by_bid) == ["s0", "s1", "s2", "s3"]
    assert ejection.tried == 1 and ejection.improved == 0


def test_ejections_never_lower_surplus_and_keep_the_allocation_priceable() -> None:
    instance, state, ejection = _greedy_ejection(3)
    start = state.surplus
    ejection.run(time.monotonic() + 3.0)
    assert ejection.tried > 0
    assert state.surplus >= start
    _assert_valid(instance, state)


def test_fill_gives_the_room_left_to_the_losing_bids_that_fit_it_best_first() -> None:
    # nothing accepted: the small jobs ($2.50 per GPU-hour) are offered the room before the
    # big one ($2.25), which then no longer fits
    instance = prepare(_big_job_book("130"))
    state = State(instance, [])
    ejection = Ejection(instance, state, components(instance)[0])
    ejection.fill(time.monotonic() + 10)
    assert sorted(instance.book.bids[b].id for b in state.by_bid) == ["s0", "s1", "s2", "s3"]
    assert state.surplus == 80 * MICROS
    assert ejection.filled == 4 and ejection.fill_gain == 80 * MICROS


def test_fill_takes_back_room_freed_and_keeps_the_allocation_valid() -> None:
    instance, chosen = _greedy_market(3)
    # every third accepted placement taken out: room that some losing bid can use
    state = State(instance, chosen[::3] + chosen[1::3])
    state.repair()
    start = state.surplus
    ejection = Ejection(instance, state, components(instance)[0])
    ejection.fill(time.monotonic() + 10)
    assert ejection.filled > 0 and state.surplus - start == ejection.fill_gain > 0
    _assert_valid(instance, state)


def test_shift_moves_an_accepted_bid_to_cheaper_hours() -> None:
    # GPUs at $1 in slot 0 and $3 in slot 1; the job ($10 for 2 GPUs, one slot, either)
    # placed in slot 1 earns $4, moved to slot 0 $8
    instance = prepare(book(pools=[pool("p")],
                            asks=[ask("cheap", "p", 4, "1", end=1),
                                  ask("dear", "p", 4, "3", start=1, end=2)],
                            bids=[bid("job", "u", alternative("10", leg(2), latest_end=2))],
                            slots=2))
    late = next(c for c in instance.by_bid[0] if instance.candidates[c].start == 1)
    state = State(instance, [late])
    assert state.surplus == 4 * MICROS
    ejection = Ejection(instance, state, components(instance)[0])
    ejection.shift(time.monotonic() + 10)
    assert [instance.candidates[c].start for c in state.chosen] == [0]
    assert state.surplus == 8 * MICROS
    assert ejection.shifted == 1 and ejection.shift_gain == 4 * MICROS


def test_shift_never_lowers_surplus_and_keeps_the_allocation_valid() -> None:
    instance, state, ejection = _greedy_ejection(3)
    start = state.surplus
    ejection.shift(time.monotonic() + 10)
    assert ejection.shifted > 0 and state.surplus - start == ejection.shift_gain > 0
    _assert_valid(instance, state)


def test_ejection_passes_shift_and_fill_between_bids(monkeypatch: pytest.MonkeyPatch) -> None:
    # after the first 5 losing bids and every 5 more (300 and 150 in the solver)
    monkeypatch.setattr(eject, "POLISH_FIRST", 5)
    monkeypatch.setattr(eject, "POLISH_EVERY", 5)
    instance, state, ejection = _greedy_ejection(3)
    start = state.surplus
    ejection.run(time.monotonic() + 3.0)
    assert ejection.shifted > 0
    assert state.surplus - start == ejection.gain + ejection.shift_gain + ejection.fill_gain
    _assert_valid(instance, state)


def _windows_book() -> tuple[Instance, State, Search]:
    """A 300-bid market from greedy, and a window search over its largest component."""
    instance, chosen = _greedy_market(4)
    state = State(instance, chosen)
    return instance, state, Search(instance, state, components(instance)[0], workers=1, seed=2)


def test_windows_in_two_threads_beside_ejections_keep_the_allocation_valid() -> None:
    instance, state, search = _windows_book()
    start = state.surplus
    comp = search.comp
    ejection = Ejection(instance, state, comp, search.index)
    ran: list[str] = []

    def first(deadline: float, lock: threading.Lock) -> None:
        ran.append(threading.current_thread().name)
        ejection.run(deadline, lock)

    search.run_lp(time.monotonic() + 3.0, 600, 0.5, threads=2, first=first)
    assert len(ran) == 1 and search.lp_rounds > 0
    assert state.surplus >= start
    _assert_valid(instance, state)


def test_windows_solved_in_a_forked_process_beside_ejections_keep_the_allocation_valid(
        ) -> None:
    instance, state, search = _windows_book()
    start = state.surplus
    comp = search.comp
    ejection = Ejection(instance, state, comp, search.index)
    helper = Helper.start(window_server(instance))
    assert helper is not None
    try:
        search.run_lp(time.monotonic() + 3.0, 600, 0.5, threads=2, first=ejection.run,
                      helper=helper)
    finally:
        helper.close()
    assert search.lp_rounds > 0 and not search.remote_failed
    assert state.surplus >= start
    _assert_valid(instance, state)


def test_a_window_process_answers_as_the_window_solved_here() -> None:
    instance, _state, search = _windows_book()
    job = search._next_window(600, random.Random(5), threading.Lock(),
                              time.monotonic() + 60, 20.0)
    assert job is not None
    here = solve_window(instance, *job)
    helper = Helper.start(window_server(instance))
    assert helper is not None
    try:
        helper.send((*job, time.monotonic() + 60))
        there = helper.receive(time.monotonic() + 60)
    finally:
        helper.close()
    assert isinstance(there, WindowAnswer)
    assert here.picked and sorted(there.picked) == sorted(here.picked)
    assert there.optimal == here.optimal and not there.lp_failed


def test_when_the_window_process_dies_the_thread_solves_the_windows_itself() -> None:
    instance, state, search = _windows_book()
    start = state.surplus

    def dying(inbox: Inbox) -> None:
        inbox.receive()
        raise RuntimeError("lost")

    helper = Helper.start(dying)
    assert helper is not None
    try:
        search.run_lp(time.monotonic() + 2.0, 600, 0.5, threads=2, helper=helper)
    finally:
        helper.close()
    assert search.remote_failed and search.lp_rounds > 1
    assert state.surplus >= start
    _assert_valid(instance, state)


def test_a_window_process_too_slow_to_answer_is_stopped_and_not_waited_for() -> None:
    instance, state, search = _windows_book()

    def stalling(inbox: Inbox) -> None:
        inbox.receive()
        time.sleep(60)

    helper = Helper.start(stalling)
    assert helper is not None
    began = time.monotonic()
    try:
        search.run_lp(began + 1.0, 600, 0.5, threads=2, helper=helper)
    finally:
        helper.close()
    # the search's deadline, the answer's grace and the last local window, not the minute
    assert time.monotonic() - began < 1.0 + ANSWER_GRACE_SECONDS + 10
    assert search.remote_failed
    assert repair(instance, sorted(state.chosen))[0] == sorted(state.chosen)
