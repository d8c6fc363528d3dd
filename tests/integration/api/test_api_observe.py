"""The API observes itself: request durations by route template, request ids, /metrics,
/readyz."""

from __future__ import annotations

from typing import Any

from apihelp import ADMIN


def _count(route: str, status: str, method: str = "GET") -> float:
    from gpux.adapters.metrics import REGISTRY

    return REGISTRY.get_sample_value("gpux_http_request_duration_seconds_count",
                                     {"method": method, "route": route, "status": status}) or 0


async def test_requests_are_timed_by_route_template_not_by_raw_path(client: Any) -> None:
    before = _count("/orders/{order_id}", "404")
    for order_id in (101, 102, 103):
        r = await client.get(f"/orders/{order_id}", headers=ADMIN)
        assert r.status_code == 404
    assert _count("/orders/{order_id}", "404") == before + 3
    assert _count("/orders/101", "404") == 0


async def test_every_answer_carries_a_request_id_and_keeps_the_clients(client: Any) -> None:
    r = await client.get("/healthz")
    assert len(r.headers["x-request-id"]) == 16
    r = await client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert r.headers["x-request-id"] == "trace-42"


async def test_metrics_and_readyz_are_served(client: Any) -> None:
    await client.get("/healthz")
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert 'gpux_http_request_duration_seconds_count{method="GET",route="/healthz"' in (
        metrics.text)
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}


def _orders(name: str, **labels: str) -> float:
    from gpux.adapters.metrics import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0


async def test_orders_received_and_rejected_are_counted_by_side_and_reason(
        client: Any) -> None:
    from apihelp import account, bid

    lab = await account(client, "lab", "buyer")
    received = _orders("gpux_orders_received_total", side="bid")
    past = _orders("gpux_orders_rejected_total", side="bid", reason="window_in_past")
    bad = _orders("gpux_orders_rejected_total", side="bid", reason="invalid_request")
    assert (await client.post("/bids", headers=lab, json=bid("b-1"))).status_code == 201
    again = await client.post("/bids", headers=lab, json=bid("b-1"))
    assert again.headers["idempotent-replayed"] == "true"
    r = await client.post("/bids", headers=lab, json=bid("b-2", start=-30, end=-20))
    assert r.status_code == 422 and r.json()["code"] == "window_in_past", r.text
    assert (await client.post("/bids", headers=lab, json={"oops": 1})).status_code == 422
    assert _orders("gpux_orders_received_total", side="bid") == received + 1
    assert _orders("gpux_orders_rejected_total", side="bid", reason="window_in_past") == past + 1
    assert _orders("gpux_orders_rejected_total", side="bid",
                   reason="invalid_request") == bad + 1
