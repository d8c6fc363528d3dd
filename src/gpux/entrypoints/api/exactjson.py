"""Request bodies parsed exactly: JSON numbers with a fraction become Decimal, never float.

FastAPI parses bodies with `json.loads`, which turns `0.1000000000000000055` into a float
before pydantic sees it; money must not pass through a float, so routes use this class.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response


class ExactJSONRequest(Request):
    """A request whose `json()` keeps every decimal number exact."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_float=Decimal)
        return self._json


class ExactJSONRoute(APIRoute):
    """An API route that hands its endpoint an `ExactJSONRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact(request: Request) -> Response:
            return await handler(ExactJSONRequest(request.scope, request.receive))

        return exact
