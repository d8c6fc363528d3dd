"""Accounts and keys (admin), and the caller's own account."""

from __future__ import annotations

from fastapi import APIRouter

from gpux.entrypoints.api.auth import Caller, Svc
from gpux.entrypoints.api.exactjson import ExactJSONRoute
from gpux.entrypoints.api.schemas import AccountIn, AccountOut, KeyOut

router = APIRouter(route_class=ExactJSONRoute, tags=["accounts"])


@router.post("/accounts", status_code=201, response_model=AccountOut)
async def create_account(body: AccountIn, caller: Caller, svc: Svc) -> AccountOut:
    """Create an account (admin only)."""
    return AccountOut.of(await svc.accounts.create(caller, body.to_domain()))


@router.post("/accounts/{account_id}/keys", status_code=201, response_model=KeyOut)
async def issue_key(account_id: str, caller: Caller, svc: Svc) -> KeyOut:
    """Issue an API key for an account (admin only). The key is shown in this answer only."""
    issued = await svc.accounts.issue_key(caller, account_id)
    return KeyOut(account_id=issued.account_id, key=issued.key, prefix=issued.prefix)


@router.get("/me", response_model=AccountOut)
async def me(caller: Caller) -> AccountOut:
    """The account the API key belongs to."""
    return AccountOut.of(caller)
