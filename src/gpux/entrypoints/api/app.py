"""The FastAPI app of the exchange: `create_app(settings, resources)`.

Given no resources, the app's lifespan opens them from the settings (embedding PostgreSQL
and Redis when no URL is set, and migrating the database). With `admin_key` set, the admin
account is bootstrapped with that key.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import version
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from gpux.bootstrap import Resources, open_resources
from gpux.config import Settings
from gpux.entrypoints.api import errors, feed, observe
from gpux.entrypoints.api.deps import build_services
from gpux.entrypoints.api.routes import (
    accounts,
    funds,
    health,
    market,
    orders,
    outages,
    parse,
    pools,
)

DESCRIPTION = """\
Buy and sell GPU compute, cleared in periodic combinatorial auctions.

Authenticate with `Authorization: Bearer <API key>` (keys are issued by the admin). Times are
ISO 8601 in UTC on whole hours; money is exact (send numbers or decimal strings; answers use
decimal strings). Every error is `application/problem+json` with a stable `code`.
"""


def create_app(settings: Settings | None = None,
               resources: Resources | None = None) -> FastAPI:
    """The API app, serving from `resources` or from what `settings` names."""
    conf = settings or (resources.settings if resources is not None else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            res = resources if resources is not None else await stack.enter_async_context(
                open_resources(conf, run_migrations=True))
            svc = build_services(res)
            stack.push_async_callback(svc.engine.dispose)
            stack.push_async_callback(svc.entry.close)
            await svc.entry.open()
            app.state.services = svc
            app.state.resources = res
            if conf.admin_key:
                await svc.accounts.bootstrap_admin(conf.admin_key)
            # Everything loaded so far lives as long as the process: keep the collector from
            # walking it on every full collection (long pauses at the tail of latency).
            gc.freeze()
            yield

    app = FastAPI(title="gpux exchange", version=version("gpux"), description=DESCRIPTION,
                  lifespan=lifespan)
    errors.install(app)
    observe.install(app)
    # Order entry first: routes are matched in order, and it is the busiest.
    for module in (orders, health, accounts, pools, market, parse, feed, funds, outages):
        app.include_router(module.router)
    _declare_bearer(app)
    return app


PUBLIC = "public"  # the tag of routes that need no API key


def _declare_bearer(app: FastAPI) -> None:
    """Name the bearer scheme in the OpenAPI document, required except on public routes."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version,
                              description=app.description, routes=app.routes)
            doc.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "an API key issued by the admin"}}
            for item in doc.get("paths", {}).values():
                for op in item.values():
                    if PUBLIC not in op.get("tags", []):
                        op["security"] = [{"bearer": []}]
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
