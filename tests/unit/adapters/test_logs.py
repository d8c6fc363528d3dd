"""Structured logs carry the ids bound in their context, as JSON lines."""

from __future__ import annotations

import asyncio
import json
import logging

from gpux.adapters.logs import JsonFormatter, bind


def _record(msg: str, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("gpux.test", logging.INFO, __file__, 1, msg, (), None)
    for k, v in extra.items():
        setattr(rec, k, v)
    return rec


def test_a_json_line_has_time_level_message_and_the_bound_auction_id() -> None:
    with bind(auction_id=42, partition="main"):
        line = JsonFormatter().format(_record("round cleared", surplus="12.5"))
    doc = json.loads(line)
    assert doc["message"] == "round cleared" and doc["level"] == "info"
    assert doc["auction_id"] == 42 and doc["partition"] == "main" and doc["surplus"] == "12.5"
    assert doc["time"].endswith("Z")


def test_ids_leave_with_their_block() -> None:
    with bind(request_id="r1"):
        pass
    assert "request_id" not in json.loads(JsonFormatter().format(_record("x")))


async def test_concurrent_tasks_never_see_each_others_request_ids() -> None:
    async def one(rid: str) -> str:
        with bind(request_id=rid):
            await asyncio.sleep(0.01)
            return str(json.loads(JsonFormatter().format(_record("x")))["request_id"])

    assert await asyncio.gather(*(one(f"r{i}") for i in range(20))) == [
        f"r{i}" for i in range(20)]
