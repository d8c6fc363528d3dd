"""Request observability for the API: duration metrics by route, request ids, /metrics.

A plain ASGI middleware (no per-request task or body buffering, which order entry cannot
afford): it times each HTTP request, labels it with the matched route's template (never the
raw path, which would explode the label set), tags the response with `X-Request-ID` (the
client's, if it sent one) and binds that id to every log line of the request.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from gpux.adapters.logs import bind
from gpux.adapters.metrics import HTTP_DURATION, ORDERS_RECEIVED, render

_RID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_ORDER_ROUTES = {"/bids": "bid", "/asks": "ask"}


class ObserveRequests:
    """Times requests into `gpux_http_request_duration_seconds` and names each one."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                rid = value.decode("latin-1")
        if not _RID.match(rid):
            rid = uuid.uuid4().hex[:16]
        status, replayed = 500, False

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status, replayed
            if message["type"] == "http.response.start":
                status = message["status"]
                replayed = any(k.lower() == b"idempotent-replayed"
                               for k, _ in message.get("headers", ()))
                message["headers"] = [*message.get("headers", ()),
                                      (b"x-request-id", rid.encode())]
            await send(message)

        with bind(request_id=rid):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                HTTP_DURATION.labels(scope["method"], route, str(status)).observe(
                    time.perf_counter() - start)
                # A retried order answers with the first one (Idempotent-Replayed): not new.
                if (status == 201 and not replayed and route in _ORDER_ROUTES
                        and scope["method"] == "POST"):
                    ORDERS_RECEIVED.labels(_ORDER_ROUTES[route]).inc()


async def _metrics(_: Request) -> Response:
    body, content_type = render()
    return Response(body, media_type=content_type)


async def _readyz(request: Request) -> Response:
    from gpux.bootstrap import readiness

    res = getattr(request.app.state, "resources", None)
    if res is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    checks = await readiness(res)
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                        status_code=200 if ok else 503)


def install(app: FastAPI) -> None:
    """Add the middleware and the /metrics and /readyz endpoints to the app."""
    app.add_middleware(ObserveRequests)
    app.add_api_route("/metrics", _metrics, methods=["GET"], include_in_schema=False)
    app.add_api_route("/readyz", _readyz, methods=["GET"], tags=["public"],
                      summary="Ready: PostgreSQL and Redis both answer",
                      response_class=JSONResponse)
