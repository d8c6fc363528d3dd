"""`/ws`: the WebSocket market-data feed (protocol in docs/api.md and docs/asyncapi.yaml).

Client ops (JSON text): `{"op": "auth", "key": ...}`, `{"op": "subscribe", "channel": ...,
"since": <seq>?}`, `{"op": "unsubscribe", "channel": ...}`, `{"op": "ping"}`. The API key may
instead come as `Authorization: Bearer <key>` on the upgrade request. Everything the server
sends goes through the connection's queue (one writer task), so a slow client never holds up
the others; one that falls `feed_queue_max` messages behind is closed with code 4000 and
resumes from its last sequence number.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.websockets import WebSocket, WebSocketDisconnect

from gpux.adapters.clock import SystemClock
from gpux.adapters.metrics import WS_CONNECTIONS
from gpux.adapters.postgres.feed import PgFeedQueries
from gpux.adapters.redis.feed import RedisFeedSource
from gpux.domain.errors import ExchangeError, InvalidValue, Unauthenticated
from gpux.domain.jsonio import loads
from gpux.service.feed import CHANNELS, FeedHub, Subscriber, encode

CLOSE_LAGGING = 4000
CLOSE_UNAUTHENTICATED = 4401


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    svc = app.state.services
    conf = svc.settings
    hub = FeedHub(
        RedisFeedSource(app.state.resources.redis), PgFeedQueries(svc.engine), SystemClock(),
        {"auctions": conf.auctions_stream, "supply": conf.supply_stream,
         "orders": conf.orders_stream, "fills": conf.fills_stream},
        snapshot_rounds=conf.feed_snapshot_rounds,
        heartbeat_seconds=conf.feed_heartbeat_seconds)
    app.state.feed = hub
    try:
        yield
    finally:
        await hub.close()


router = APIRouter(lifespan=_lifespan)


def _error(err: ExchangeError) -> str:
    problems = getattr(err, "problems", ())
    first = problems[0] if problems else None
    return encode({"type": "error", "code": err.code,
                   "field": first.path if first else None,
                   "value": first.value if first else None, "detail": str(err)})


async def _account(ws: WebSocket, key: str) -> str:
    account = await ws.app.state.services.keys.account(key)
    return str(account.id)


async def _write(ws: WebSocket, sub: Subscriber) -> None:
    while True:
        if sub.lagging.is_set() and sub.queue.empty():
            await ws.close(CLOSE_LAGGING, "lagging: resubscribe with your last seq")
            return
        await ws.send_text(await sub.queue.get())


async def _handle(ws: WebSocket, hub: FeedHub, sub: Subscriber, msg: Any) -> None:
    if not isinstance(msg, dict):
        raise InvalidValue("op", "send a JSON object with an op", msg)
    op = msg.get("op")
    if op == "ping":
        sub.push(encode({"type": "pong", "id": msg.get("id")}))
    elif op == "auth":
        account = await _account(ws, str(msg.get("key", "")))
        if sub.account_id not in (None, account):
            raise InvalidValue("key", "a connection stays with its first account", "<key>")
        sub.account_id = account
        sub.push(encode({"type": "authenticated", "account_id": account}))
    elif op in ("subscribe", "unsubscribe"):
        channel, since = msg.get("channel"), msg.get("since")
        if not isinstance(channel, str):
            raise InvalidValue("channel", f"must be one of {', '.join(CHANNELS)}", channel)
        if since is not None and not isinstance(since, str):
            raise InvalidValue("since", "must be a sequence number string", since)
        if op == "unsubscribe":
            hub.unsubscribe(sub, channel)
            sub.push(encode({"type": "unsubscribed", "channel": channel}))
            return
        await hub.subscribe(sub, channel, since)
    else:
        raise InvalidValue("op", "must be auth, subscribe, unsubscribe or ping", op)


@router.websocket("/ws")
async def feed(ws: WebSocket) -> None:
    """The market-data feed: public auctions and supply, private orders and fills."""
    hub: FeedHub = ws.app.state.feed
    conf = ws.app.state.services.settings
    await ws.accept()
    scheme, _, key = ws.headers.get("authorization", "").partition(" ")
    account = None
    if scheme.lower() == "bearer" and key.strip():
        try:
            account = await _account(ws, key.strip())
        except Unauthenticated as err:
            await ws.send_text(_error(err))
            await ws.close(CLOSE_UNAUTHENTICATED, "unknown API key")
            return
    sub = Subscriber(account, conf.feed_queue_max)
    sub.push(encode({"type": "welcome", "account_id": account, "channels": list(CHANNELS),
                     "heartbeat_seconds": conf.feed_heartbeat_seconds}))
    hub.join(sub)
    WS_CONNECTIONS.inc()
    writer = asyncio.create_task(_write(ws, sub))
    try:
        while not writer.done():
            text = await ws.receive_text()
            try:
                await _handle(ws, hub, sub, loads(text))
            except ExchangeError as err:
                sub.push(_error(err))
            except ValueError as err:
                sub.push(_error(InvalidValue("message", f"not JSON: {err}", text[:200])))
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away (RuntimeError: it did so mid-receive)
    finally:
        hub.leave(sub)
        WS_CONNECTIONS.dec()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
