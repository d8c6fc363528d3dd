"""Every Prometheus metric gpux exports, defined in this one place.

Names follow Prometheus conventions: the `gpux_` prefix, base units (seconds, USD as the
currency unit), `_total` on counters. The Grafana dashboard and the alert rules under
`deploy/` may use only these names; `tests/unit/adapters/test_dashboards.py` checks it.

When uvicorn runs several worker processes (`gpux serve --no-worker --workers N`), each
writes its samples under `PROMETHEUS_MULTIPROC_DIR` and `render()` aggregates them
(prometheus-client's multiprocess mode; see the helpers at the end of this module).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as _multiprocess

REGISTRY = CollectorRegistry(auto_describe=True)

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_GAP = (0.0001, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)

# Order entry
ORDERS_RECEIVED = Counter("gpux_orders_received_total", "Orders accepted into the book",
                          ["side"], registry=REGISTRY)
ORDERS_REJECTED = Counter("gpux_orders_rejected_total", "Orders refused, by error code",
                          ["side", "reason"], registry=REGISTRY)
OPEN_ORDERS = Gauge("gpux_open_orders", "Open orders in the book at the last freeze",
                    ["partition", "side"], registry=REGISTRY, multiprocess_mode="livemax")

# Auctions
AUCTIONS = Counter("gpux_auctions_total", "Auction rounds cleared, by solver status",
                   ["partition", "status"], registry=REGISTRY)
SOLVE_SECONDS = Histogram("gpux_auction_solve_seconds", "Wall time of winner determination",
                          ["partition"], buckets=_SECONDS, registry=REGISTRY)
ROUND_OVERHEAD_SECONDS = Histogram(
    "gpux_auction_overhead_seconds", "Freeze + build book + commit, beyond the solve",
    ["partition"], buckets=_SECONDS, registry=REGISTRY)
GAP = Histogram("gpux_auction_gap_ratio", "Relative gap between surplus and proven bound",
                ["partition"], buckets=_GAP, registry=REGISTRY)
TIME_LIMIT_HITS = Counter("gpux_auction_time_limit_hits_total",
                          "Rounds whose solve stopped at its time limit (not proven optimal)",
                          ["partition"], registry=REGISTRY)
LAST_CLEARED = Gauge("gpux_auction_last_cleared_timestamp_seconds",
                     "Unix time of the last cleared round", ["partition"], registry=REGISTRY,
                     multiprocess_mode="max")
SURPLUS = Counter("gpux_surplus_usd_total", "Surplus created by cleared rounds (USD)",
                  ["partition"], registry=REGISTRY)
GPU_HOURS = Counter("gpux_gpu_hours_cleared_total", "GPU-hours traded",
                    ["gpu", "region"], registry=REGISTRY)
CLEARING_PRICE = Gauge("gpux_clearing_price_usd",
                       "GPU-hour weighted clearing price of what traded in the last round "
                       "(USD per GPU-hour)", ["gpu", "region"], registry=REGISTRY,
                       multiprocess_mode="mostrecent")
PRICE_INDEX = Gauge("gpux_price_index_usd", "Price index per GPU model (USD per GPU-hour)",
                    ["gpu"], registry=REGISTRY, multiprocess_mode="mostrecent")

# Reliability credits (docs/settlement.md)
SERVICE_CREDITS = Counter("gpux_service_credits_total",
                          "Contracts credited for recorded outages and curtailments",
                          ["tier"], registry=REGISTRY)
SERVICE_CREDITS_USD = Counter("gpux_service_credits_usd_total",
                              "Service credits paid to holders from providers' accounts (USD)",
                              ["tier"], registry=REGISTRY)

# Outbox and streams
OUTBOX_BACKLOG = Gauge("gpux_outbox_backlog", "Outbox rows not yet published to Redis",
                       registry=REGISTRY, multiprocess_mode="max")
PUBLISH_LAG = Histogram("gpux_stream_publish_lag_seconds",
                        "From outbox write to Redis Streams publish", buckets=_SECONDS,
                        registry=REGISTRY)
EVENTS_PUBLISHED = Counter("gpux_stream_events_published_total", "Events put on Redis Streams",
                           ["stream"], registry=REGISTRY)

# Gateway
WS_CONNECTIONS = Gauge("gpux_websocket_connections", "Open WebSocket feed connections",
                       registry=REGISTRY, multiprocess_mode="livesum")
HTTP_DURATION = Histogram("gpux_http_request_duration_seconds", "HTTP request duration",
                          ["method", "route", "status"], buckets=_SECONDS, registry=REGISTRY)


def exported_names() -> set[str]:
    """Every sample name this module can export (with the _bucket/_sum/_count/_created
    series of histograms and counters)."""
    names: set[str] = set()
    for metric in REGISTRY.collect():
        names.add(metric.name)
        for sample in metric.samples:
            names.add(sample.name)
        if metric.type == "histogram":
            names.update(metric.name + s for s in ("_bucket", "_sum", "_count"))
        if metric.type == "counter":
            names.add(metric.name + "_total")
    return names


def render() -> tuple[bytes, str]:
    """The exposition text and its content type, aggregated across processes if needed."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# Several API processes (`gpux serve --workers N`): prometheus-client's multiprocess mode.
# Each process writes its samples to files under PROMETHEUS_MULTIPROC_DIR and `render()`
# sums them; counters of a process that has exited still count, its live gauges do not.

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir() -> tuple[str, bool]:
    """(PROMETHEUS_MULTIPROC_DIR, whether it was made here): a fresh temporary directory if
    unset, otherwise the one named, emptied of an earlier run's files (which would otherwise
    be summed in). Call before the server's processes start; they inherit the variable."""
    import tempfile
    from pathlib import Path

    given = os.environ.get(MULTIPROC_ENV)
    path = Path(given) if given else Path(tempfile.mkdtemp(prefix="gpux-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(path)
    return str(path), not given


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes() -> list[int]:
    """Drop the live gauges of processes that are gone (say a worker that crashed and that
    uvicorn replaced); the pids forgotten. A no-op outside multiprocess mode."""
    import re
    from pathlib import Path

    path = os.environ.get(MULTIPROC_ENV)
    if not path:
        return []
    pids = {int(m[1]) for f in Path(path).glob("gauge_live*_*.db")
            if (m := re.search(r"_(\d+)\.db$", f.name))}
    dead = sorted(pid for pid in pids if not _alive(pid))
    for pid in dead:
        _multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
    return dead


def process_exiting() -> None:
    """This process stops serving: drop its live gauges (a no-op outside multiprocess mode)."""
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        _multiprocess.mark_process_dead(os.getpid(), path)  # type: ignore[no-untyped-call]
