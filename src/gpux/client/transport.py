"""What the sync and async clients share: headers, retry policy, reading answers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from gpux.client.calls import Call
from gpux.client.errors import ConnectionFailed, GpuxError, ServerError, error_of
from gpux.domain.jsonio import dumps, loads

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Retry:
    """How often and how long to retry: `attempts` in all, backoff doubling from `backoff`."""

    attempts: int = 4
    backoff: float = 0.2
    max_backoff: float = 2.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_backoff, self.backoff * 2 ** attempt))


def settings_of(url: str | None, key: str | None) -> tuple[str, str | None]:
    """The base URL and key: as given, else `GPUX_API_URL` / `GPUX_API_KEY`."""
    return (url or os.environ.get("GPUX_API_URL") or DEFAULT_URL,
            key or os.environ.get("GPUX_API_KEY") or None)


def headers_of(key: str | None) -> dict[str, str]:
    found = {"content-type": "application/json", "accept": "application/json"}
    if key:
        found["authorization"] = f"Bearer {key}"
    return found


def request_args(call: Call[Any]) -> dict[str, Any]:
    return {"method": call.method, "url": call.path, "params": call.params or None,
            "content": None if call.body is None else dumps(call.body, indent=None)}


def retryable(call: Call[Any], err: Exception | None, status: int | None) -> bool:
    """Whether to try again: a connection never made always; a lost answer or a 5xx only
    for idempotent calls (bids and asks are, through their client order id)."""
    if isinstance(err, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True
    if err is not None:
        return call.idempotent and isinstance(err, httpx.TransportError)
    return call.idempotent and status is not None and status >= 500


def read(call: Call[T], resp: httpx.Response) -> T:
    """The answer as a model, or the exception its problem JSON describes."""
    try:
        doc = loads(resp.text) if resp.text else None
    except ValueError:
        doc = None
    if resp.status_code >= 400:
        raise error_of(resp.status_code, doc, resp.text)
    return call.read(doc, {k.lower(): v for k, v in resp.headers.items()})


def give_up(base_url: Any, err: Exception | None, resp: httpx.Response | None,
            call: Call[Any]) -> GpuxError:
    if resp is not None:
        try:
            read(call, resp)
        except GpuxError as found:
            return found
        return ServerError(f"HTTP {resp.status_code}", status=resp.status_code)
    return ConnectionFailed(f"cannot reach the exchange at {base_url}: {err}",
                            code="connection_failed")
