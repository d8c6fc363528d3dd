"""The worker's round lines carry the auction id, partition and cutoff as JSON fields."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from gpux.adapters.logs import JsonFormatter
from gpux.entrypoints.worker import report_rounds
from gpux.service.rounds import RoundOutcome


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("gpux.worker")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_each_round_line_names_its_auction_partition_and_cutoff(lines: io.StringIO) -> None:
    cutoff = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    report_rounds([
        RoundOutcome("cleared", cutoff, 41, orders=3, bids=2, asks=1, fills=2,
                     solve_status="optimal", surplus=Decimal("12.5")),
        RoundOutcome("taken", cutoff, 42)], "w1", "europe")
    docs = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert [d["auction_id"] for d in docs] == [41, 42]
    assert {(d["partition"], d["cutoff"], d["worker"]) for d in docs} == {
        ("europe", "2026-11-29T09:00:00+00:00", "w1")}
    assert "event=round" in docs[0]["message"] and "auction_id=41" in docs[0]["message"]
