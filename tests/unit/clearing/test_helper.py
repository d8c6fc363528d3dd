"""A helper process computes beside the solver and answers through a pipe; it never
leaves the caller waiting past a deadline, nor a process behind."""

from __future__ import annotations

import os
import time

import pytest

from gpux.clearing.helper import Helper, Inbox


def summing(inbox: Inbox) -> object:
    total = 0
    while isinstance(n := inbox.receive(), int):
        total += n
    return total


def gone(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_a_helper_answers_with_its_work_over_the_messages_sent() -> None:
    helper = Helper.start(summing)
    assert helper is not None
    for n in (1, 2, 39):
        helper.send(n)
    helper.send(None)
    assert helper.result(time.monotonic() + 30) == 42
    assert gone(helper._pid)


def test_a_helper_sees_the_parents_memory_as_it_was_at_the_fork() -> None:
    table = list(range(100_000))
    helper = Helper.start(lambda inbox: sum(table))
    assert helper is not None
    table.clear()
    assert helper.result(time.monotonic() + 30) == sum(range(100_000))


def test_an_answer_already_given_is_read_even_after_the_deadline() -> None:
    helper = Helper.start(lambda inbox: "done")
    assert helper is not None
    time.sleep(0.5)
    assert helper.result(time.monotonic() - 1.0) == "done"


def test_a_helper_without_an_answer_by_the_deadline_gives_none_and_is_stopped() -> None:
    helper = Helper.start(lambda inbox: time.sleep(60))
    assert helper is not None
    began = time.monotonic()
    assert helper.result(began + 0.3) is None
    assert time.monotonic() - began < 10
    assert gone(helper._pid)


def test_a_helper_that_dies_without_answering_gives_none() -> None:
    def dying(inbox: Inbox) -> object:
        raise RuntimeError("lost")

    helper = Helper.start(dying)
    assert helper is not None
    assert helper.result(time.monotonic() + 30) is None
    assert gone(helper._pid)


def test_where_the_platform_cannot_fork_there_is_no_helper() -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.delattr(os, "fork")
        assert Helper.start(summing) is None


def test_a_helper_replies_to_each_message_while_it_runs() -> None:
    def doubling(inbox: Inbox) -> object:
        while isinstance(n := inbox.receive(), int):
            inbox.reply(2 * n)
        return "end"

    helper = Helper.start(doubling)
    assert helper is not None
    for n in (1, 2, 3):
        helper.send(n)
    assert [helper.receive(time.monotonic() + 30) for _ in range(3)] == [2, 4, 6]
    began = time.monotonic()
    assert helper.receive(began + 0.2) is None  # nothing more to reply yet
    assert time.monotonic() - began < 10
    helper.send(None)
    assert helper.result(time.monotonic() + 30) == "end"
    assert gone(helper._pid)
