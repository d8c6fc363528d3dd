"""Structured logs: one JSON object per line, carrying the request id or auction id in scope.

`configure("json")` installs the formatter on the root logger; `bind(request_id=...)` or
`bind(auction_id=...)` puts ids into every record logged inside the `with` block (context
variables, so concurrent requests never mix their ids).
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

_CONTEXT: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar(
    "gpux_log_context", default={})  # noqa: B039 - never mutated, only replaced

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


@contextmanager
def bind(**ids: Any) -> Iterator[None]:
    """Attach `ids` (request_id, auction_id, account ...) to every record logged inside."""
    token = _CONTEXT.set({**_CONTEXT.get(), **ids})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def context() -> dict[str, Any]:
    """The ids bound in the current context."""
    return dict(_CONTEXT.get())


class JsonFormatter(logging.Formatter):
    """A log record as one JSON line: time, level, logger, message, bound ids, extras."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        doc.update(_CONTEXT.get())
        doc.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class _ContextText(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        ids = " ".join(f"{k}={v}" for k, v in _CONTEXT.get().items())
        return f"{text} [{ids}]" if ids else text


def configure(fmt: str = "text", level: int = logging.INFO) -> None:
    """Send gpux's logs to stderr as JSON lines (`json`) or readable text (`text`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else _ContextText(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
