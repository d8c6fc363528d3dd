"""`Authorization: Bearer <key>`: who is calling. Role checks live in the use cases.

Plain request-reading dependencies: FastAPI's security classes cost more per request than
the rest of order entry's web layer, so the OpenAPI document declares the scheme instead
(see `app.py`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from gpux.domain.accounts import Account
from gpux.domain.errors import Unauthenticated
from gpux.entrypoints.api.deps import Services, services


async def caller(request: Request) -> Account:
    """The account whose API key the request carries."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Unauthenticated("send `Authorization: Bearer <API key>`")
    svc: Services = request.app.state.services
    return await svc.keys.account(key)


Caller = Annotated[Account, Depends(caller)]
Svc = Annotated[Services, Depends(services)]
