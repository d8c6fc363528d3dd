"""Readiness reports each server; the worker's HTTP server answers health, readiness, metrics."""

from __future__ import annotations

from typing import Any

import httpx

from gpux.bootstrap import open_resources, readiness
from gpux.entrypoints.probes import worker_app


async def test_readiness_is_ok_when_postgres_and_redis_answer(settings: Any) -> None:
    async with open_resources(settings) as res:
        assert await readiness(res) == {"postgres": "ok", "redis": "ok"}


async def test_readiness_names_the_server_that_does_not_answer(settings: Any) -> None:
    broken = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})
    async with open_resources(broken) as res:
        checks = await readiness(res, timeout=2.0)
    assert checks["postgres"] == "ok" and checks["redis"] != "ok"


async def test_the_worker_server_serves_healthz_readyz_and_metrics(settings: Any) -> None:
    async with open_resources(settings) as res:
        app = worker_app(res)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://worker") as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            ready = await http.get("/readyz")
            assert ready.status_code == 200 and ready.json()["status"] == "ok"
            metrics = await http.get("/metrics")
            assert metrics.status_code == 200
            assert "gpux_auction_solve_seconds" in metrics.text
