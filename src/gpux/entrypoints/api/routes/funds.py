"""Funds (deposits, withdrawals, statements) and the kill switches (account and market)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from gpux.entrypoints.api.auth import Caller, Svc
from gpux.entrypoints.api.deps import page_limit
from gpux.entrypoints.api.exactjson import ExactJSONRoute
from gpux.entrypoints.api.funds_schemas import (
    AmountIn,
    BalanceOut,
    EntryOut,
    HaltOut,
    MarketOut,
    StatementOut,
)
from gpux.service.funds import Moved

router = APIRouter(route_class=ExactJSONRoute, tags=["funds"])


def _moved(moved: Moved) -> Response:
    headers = {"Idempotent-Replayed": "true"} if moved.replayed else {}
    return Response(BalanceOut.of(moved.balance).model_dump_json(), status_code=201,
                    media_type="application/json", headers=headers)


@router.post("/accounts/{account_id}/deposits", status_code=201, response_model=BalanceOut)
async def deposit(account_id: str, body: AmountIn, caller: Caller, svc: Svc) -> Response:
    """Record money received for an account (admin only); its balances after. Give a
    `reference` to make a retry safe."""
    return _moved(await svc.funds.deposit(caller, account_id, body.amount, body.reference))


@router.post("/accounts/{account_id}/withdrawals", status_code=201, response_model=BalanceOut)
async def withdraw(account_id: str, body: AmountIn, caller: Caller, svc: Svc) -> Response:
    """Pay money out of an account's available balance (admin only); its balances after.
    Give a `reference` to make a retry safe."""
    return _moved(await svc.funds.withdraw(caller, account_id, body.amount, body.reference))


@router.get("/accounts/{account_id}/statement", response_model=StatementOut)
async def statement(account_id: str, caller: Caller, svc: Svc, cursor: str | None = None,
                    limit: Annotated[int, Query(ge=1)] = 100) -> StatementOut:
    """An account's balances and ledger entries, newest first (your own; an admin any)."""
    balance, page = await svc.funds.statement(caller, account_id, cursor=cursor,
                                              limit=page_limit(svc, limit))
    return StatementOut(balance=BalanceOut.of(balance),
                        items=[EntryOut.of(e) for e in page.items],
                        next_cursor=page.next_cursor)


@router.post("/accounts/{account_id}/halt", response_model=HaltOut)
async def halt_account(account_id: str, caller: Caller, svc: Svc) -> HaltOut:
    """Halt an account (itself, or an admin): cancel its open orders, refuse new ones."""
    return HaltOut.of(await svc.halts.halt_account(caller, account_id))


@router.post("/accounts/{account_id}/resume", response_model=HaltOut)
async def resume_account(account_id: str, caller: Caller, svc: Svc) -> HaltOut:
    """Let a halted account trade again (admin only)."""
    await svc.halts.resume_account(caller, account_id)
    return HaltOut.of(None, halted=False)


@router.get("/market", response_model=MarketOut, tags=["public"])
async def market(svc: Svc) -> MarketOut:
    """Whether the market is halted."""
    return MarketOut(halted=await svc.halts.market_halted())


@router.post("/market/halt", response_model=HaltOut)
async def halt_market(caller: Caller, svc: Svc) -> HaltOut:
    """Halt the market (admin only): cancel every open order; no orders, no rounds."""
    return HaltOut.of(await svc.halts.halt_market(caller))


@router.post("/market/resume", response_model=HaltOut)
async def resume_market(caller: Caller, svc: Svc) -> HaltOut:
    """Let the market trade and clear again (admin only)."""
    await svc.halts.resume_market(caller)
    return HaltOut.of(None, halted=False)
