"""Health, readiness and metrics endpoints, shared by the API and the worker's small server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gpux.adapters.metrics import render
from gpux.bootstrap import Resources, readiness


async def healthz(_: Request) -> Response:
    """The process is up and serving."""
    return JSONResponse({"status": "ok"})


def readyz_for(res: Resources) -> Callable[[Request], Awaitable[Response]]:
    async def readyz(_: Request) -> Response:
        """PostgreSQL and Redis both answer."""
        checks = await readiness(res)
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                            status_code=200 if ok else 503)
    return readyz


async def metrics(_: Request) -> Response:
    """Prometheus exposition of every gpux metric."""
    body, content_type = render()
    return Response(body, media_type=content_type)


def worker_app(res: Resources) -> Starlette:
    """The worker's own HTTP server: /healthz, /readyz, /metrics."""
    return Starlette(routes=[Route("/healthz", healthz), Route("/readyz", readyz_for(res)),
                             Route("/metrics", metrics)])
