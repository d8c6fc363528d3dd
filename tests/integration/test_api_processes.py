"""`gpux serve --workers N`: several API processes behind one port, /metrics summing them.

The API runs as a real subprocess against the test PostgreSQL and Redis. Requests go out on
fresh connections until both processes have served some; then every /metrics answer, whichever
process gives it, counts every request sent. A killed process is replaced and its live gauges
are dropped while its counters keep counting. One process without PROMETHEUS_MULTIPROC_DIR
counts the same way.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict

GPUX = Path(sys.executable).with_name("gpux")
REJECTED = re.compile(r'^gpux_orders_rejected_total\{reason="(\w+)",side="bid"\} (\S+)$', re.M)
HEALTHZ = re.compile(r'^gpux_http_request_duration_seconds_count\{method="GET",'
                     r'route="/healthz",status="200"\} (\S+)$', re.M)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(check: object, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, headers={"Connection": "close"}, timeout=5)
    except httpx.TransportError:
        return None


class Api:
    """A `gpux serve --no-worker` subprocess on a free port."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(GPUX), "serve", "--no-worker", "--port", str(self.port), *args],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _until(self.up, f"the API to answer ({log})")

    def up(self) -> bool:
        assert self.proc.poll() is None, self.log.read_text()
        r = _get(f"{self.url}/healthz")
        return r is not None and r.status_code == 200

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # what `docker stop` sends
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def send(self, healthz: int, bids: int) -> None:
        """Requests on fresh connections: GET /healthz, and POST /bids of an empty (refused) bid."""
        with httpx.Client(base_url=self.url, headers={"Connection": "close"}) as http:
            for _ in range(healthz):
                assert http.get("/healthz").status_code == 200
            for _ in range(bids):
                assert http.post("/bids", json={}).status_code == 422

    def counts(self) -> tuple[float, float]:
        """(GET /healthz answered 200, bids rejected) as one /metrics answer says."""
        r = httpx.get(f"{self.url}/metrics", headers={"Connection": "close"})
        assert r.status_code == 200
        healthz = HEALTHZ.search(r.text)
        return (float(healthz[1]) if healthz else 0.0,
                sum(float(v) for _, v in REJECTED.findall(r.text)))


def _env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GPUX_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    return {**env, "DATABASE_URL": database_url, "REDIS_URL": redis_url, **extra}


def _rejected_by_pid(metrics_dir: Path) -> dict[int, float]:
    """Bids rejected, per API process, from the multiprocess files."""
    out: dict[int, float] = {}
    for path in metrics_dir.glob("counter_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        values = MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
        for key, value, _ts, _pos in values:
            name = json.loads(key)[1]
            if name == "gpux_orders_rejected_total":
                out[pid] = out.get(pid, 0.0) + value
    return out


def _pids(metrics_dir: Path, pattern: str) -> set[int]:
    return {int(p.stem.rsplit("_", 1)[1]) for p in metrics_dir.glob(pattern)}


@pytest.fixture
def two_processes(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[
        tuple[Api, Path]]:
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"stale")  # an earlier run's file is wiped
    api = Api(["--workers", "2"], _env(database_url, redis_url,
                                       PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)),
              tmp_path / "api.log")
    try:
        yield api, metrics_dir
    finally:
        api.stop()


def test_metrics_of_two_api_processes_count_every_request_whichever_process_answers(
        two_processes: tuple[Api, Path]) -> None:
    api, metrics_dir = two_processes
    healthz_before, _ = api.counts()  # the readiness probes so far
    sent_healthz = sent_bids = 0
    while len([v for v in _rejected_by_pid(metrics_dir).values() if v]) < 2:
        assert sent_bids < 500, "one process answered every request"
        api.send(healthz=5, bids=5)
        sent_healthz += 5
        sent_bids += 5
    assert len(_rejected_by_pid(metrics_dir)) == 2
    for _ in range(6):  # each answer from either process
        healthz, rejected = api.counts()
        assert rejected == sent_bids
        assert healthz - healthz_before == sent_healthz


def test_a_killed_api_process_is_replaced_its_gauges_dropped_and_its_counts_kept(
        two_processes: tuple[Api, Path]) -> None:
    api, metrics_dir = two_processes
    sent = 0
    while len([v for v in _rejected_by_pid(metrics_dir).values() if v]) < 2:
        assert sent < 500, "one process answered every request"
        api.send(healthz=0, bids=5)
        sent += 5
    victim = min(_rejected_by_pid(metrics_dir))
    assert victim in _pids(metrics_dir, "gauge_livesum_*.db")
    os.kill(victim, signal.SIGKILL)
    # uvicorn starts a replacement, which drops the dead process's live gauges on start.
    _until(lambda: victim not in _pids(metrics_dir, "gauge_livesum_*.db"),
           "the killed process's live gauges to be dropped")
    _until(lambda: len(_pids(metrics_dir, "gauge_livesum_*.db")) == 2,
           "a replacement process")
    assert api.counts()[1] == sent
    api.send(healthz=0, bids=3)
    assert api.counts()[1] == sent + 3
    api.stop()
    assert api.proc.returncode in (0, -signal.SIGTERM), api.log.read_text()
    # Both processes dropped their live gauges on the way out; counters stay on disk.
    assert _pids(metrics_dir, "gauge_livesum_*.db") == set()


def test_one_api_process_without_a_multiprocess_dir_counts_every_request(
        database_url: str, redis_url: str, tmp_path: Path) -> None:
    api = Api([], _env(database_url, redis_url), tmp_path / "api.log")
    try:
        healthz_before, rejected_before = api.counts()
        api.send(healthz=7, bids=4)
        healthz, rejected = api.counts()
        assert (healthz - healthz_before, rejected - rejected_before) == (7, 4)
    finally:
        api.stop()


def test_several_api_processes_refuse_to_run_the_clearing_worker_too() -> None:
    from gpux.entrypoints.cli import main

    assert main(["serve", "--workers", "2"]) == 2
