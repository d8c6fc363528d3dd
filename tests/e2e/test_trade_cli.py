"""`gpux bid TEXT` against a running API over real HTTP: it shows the order, places it only
when confirmed, and `--yes` places it at once."""

from __future__ import annotations

import asyncio
import io
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import redirect_stderr, redirect_stdout
from typing import Any

import httpx
import pytest

ADMIN_KEY = "trade-cli-admin-key"


@pytest.fixture
async def api(settings: Any, engine: Any) -> AsyncIterator[tuple[str, str]]:
    """(base URL, a buyer's key) of the API served by uvicorn on a free port."""
    import uvicorn

    from gpux.bootstrap import open_resources
    from gpux.entrypoints.api.app import create_app

    conf = settings.model_copy(update={"admin_key": ADMIN_KEY})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with open_resources(conf) as res:
        server = uvicorn.Server(uvicorn.Config(create_app(conf, res), host="127.0.0.1",
                                               port=port, log_level="warning"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        url = f"http://127.0.0.1:{port}"
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        async with httpx.AsyncClient(base_url=url, headers=admin) as http:
            await http.post("/accounts", json={"id": "lab", "name": "Lab", "role": "buyer"})
            key = (await http.post("/accounts/lab/keys")).json()["key"]
            await http.post("/accounts/lab/deposits", json={"amount": "100000"})
        try:
            yield url, key
        finally:
            server.should_exit = True
            await task


def _run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    from gpux.entrypoints.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(argv)
    finally:
        sys.stdin = old
    return code, out.getvalue(), err.getvalue()


TEXT = "16 H100 for 48 hours next week in us-east, up to $2.40 per GPU-hour"


async def _orders(url: str, key: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=url) as http:
        r = await http.get("/orders", headers={"Authorization": f"Bearer {key}"})
        return list(r.json()["items"])


async def test_bid_text_is_shown_and_not_placed_when_the_user_declines(
        api: tuple[str, str]) -> None:
    url, key = api
    code, out, _ = await asyncio.to_thread(
        _run, ["bid", TEXT, "--url", url, "--key", key], "n\n")
    assert code == 1 and "BUY" in out and "16 x H100 for 48 h" in out and "not placed" in out
    assert await _orders(url, key) == []


async def test_bid_text_is_placed_once_confirmed_and_at_once_with_yes(
        api: tuple[str, str]) -> None:
    url, key = api
    code, out, _ = await asyncio.to_thread(
        _run, ["bid", TEXT, "--url", url, "--key", key, "--now", "2026-12-01T10:00:00Z"],
        "y\n")
    assert code == 0 and "placed: order" in out, out
    # The same text at the same reference time is the same order: placed once.
    code, out, _ = await asyncio.to_thread(
        _run, ["bid", TEXT, "--url", url, "--key", key, "--now", "2026-12-01T10:00:00Z",
               "--yes"])
    assert code == 0
    (order,) = await _orders(url, key)
    assert order["alternatives"][0]["legs"][0]["gpus"] == 16


async def test_bid_with_sell_text_or_no_price_exits_2_with_the_reason(
        api: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    url, key = api
    code, _, err = await asyncio.to_thread(
        _run, ["bid", "16 H100 for 48 hours next week", "--url", url, "--key", key, "--yes"])
    assert code == 2 and "price" in err
    code, _, err = await asyncio.to_thread(
        _run, ["ask", TEXT, "--url", url, "--key", key, "--yes"])
    assert code == 2 and "gpux bid" in err
    monkeypatch.delenv("GPUX_API_KEY", raising=False)
    code, _, err = await asyncio.to_thread(_run, ["bid", TEXT, "--url", url, "--yes"])
    assert code == 2 and "GPUX_API_KEY" in err
