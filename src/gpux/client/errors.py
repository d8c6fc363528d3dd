"""The SDK's one exception hierarchy, mapped from the API's problem JSON (RFC 9457).

    GpuxError                 every failure; `code`, `field`, `value`, `status`, `detail`
      Unauthenticated         401: no key, or an unknown or revoked one
      Forbidden               403: the key's role or account may not do this
      NotFound                404: no such thing (or another account's)
      Conflict                409: e.g. client_order_id reused with another body, pool oversold
      InvalidRequest          422: the body or a query value is wrong; `field` names it
      ServerError             5xx after the retries
      ConnectionFailed        the exchange could not be reached after the retries
"""

from __future__ import annotations

from typing import Any


class GpuxError(Exception):
    """A request the exchange refused or could not answer."""

    def __init__(self, detail: str, *, code: str = "error", status: int | None = None,
                 field: str | None = None, value: Any = None,
                 errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.status = status
        self.field = field
        self.value = value
        self.errors = errors or []

    def __str__(self) -> str:
        where = f" ({self.field}={self.value!r})" if self.field else ""
        head = f"{self.status} {self.code}" if self.status else self.code
        return f"{head}: {self.detail}{where}"


class Unauthenticated(GpuxError):
    """401."""


class Forbidden(GpuxError):
    """403."""


class NotFound(GpuxError):
    """404."""


class Conflict(GpuxError):
    """409."""


class InvalidRequest(GpuxError):
    """422 (and 400): `field` names the first offending value, `errors` lists every one."""


class ServerError(GpuxError):
    """5xx, after the retries."""


class ConnectionFailed(GpuxError):
    """The exchange could not be reached, after the retries."""


_BY_STATUS: dict[int, type[GpuxError]] = {
    400: InvalidRequest, 401: Unauthenticated, 403: Forbidden, 404: NotFound, 409: Conflict,
    422: InvalidRequest}


def error_of(status: int, doc: Any, text: str) -> GpuxError:
    """The exception for an HTTP error answer (problem JSON, or anything else)."""
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else GpuxError)
    if not isinstance(doc, dict):
        return kind(text[:500] or f"HTTP {status}", status=status, code=f"http_{status}")
    return kind(str(doc.get("detail") or doc.get("title") or text[:500]),
                code=str(doc.get("code") or f"http_{status}"), status=status,
                field=doc.get("field"), value=doc.get("value"),
                errors=list(doc.get("errors") or []))
