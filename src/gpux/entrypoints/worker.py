"""The clearing worker: lead the partition, clear a round at every cutoff, relay the outbox.

Cutoffs fall on multiples of the auction interval counted from the Unix epoch (UTC), so every
worker of a partition agrees on them. Only the holder of the partition's leader lock clears;
another worker stands by and retries the lock every min(1 s, interval / 4). On taking the lead
a worker first solves any auction a previous leader left frozen, then clears the latest cutoff
that has passed (if no one has) and each one after. A round late by more than an interval
skips to the latest passed cutoff rather than queueing the missed ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import socket
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine

from gpux.adapters import metrics
from gpux.adapters.clock import SystemClock
from gpux.adapters.logs import bind
from gpux.adapters.postgres import round_stats
from gpux.adapters.postgres.lock import LeaderLock
from gpux.adapters.postgres.rounds import PostgresRounds
from gpux.adapters.redis.streams import OutboxRelay
from gpux.adapters.redis.supply import SupplyPublisher
from gpux.bootstrap import Resources
from gpux.clearing.solver import SolveParams
from gpux.service.ports import Clock
from gpux.service.rounds import RoundConfig, RoundOutcome, Rounds

log = logging.getLogger("gpux.worker")


def cutoff_at_or_before(moment: datetime, interval: float) -> datetime:
    """The latest cutoff (a multiple of `interval` seconds since the epoch) not after `moment`."""
    ticks = math.floor(moment.timestamp() / interval)
    return datetime.fromtimestamp(ticks * interval, UTC)


def next_cutoff(previous: datetime, now: datetime, interval: float) -> datetime:
    """The cutoff after `previous`, or the latest passed one if that is later (no backlog)."""
    following = datetime.fromtimestamp(
        (round(previous.timestamp() / interval) + 1) * interval, UTC)
    return max(following, cutoff_at_or_before(now, interval))


def round_line(outcome: RoundOutcome, worker: str = "") -> str:
    """One structured (logfmt) line about a round."""
    fields = {
        "event": "round", "worker": worker, "status": outcome.status,
        "auction_id": outcome.auction_id,
        "cutoff": outcome.cutoff.isoformat(), "resumed": outcome.resumed,
        "orders": outcome.orders, "bids": outcome.bids, "asks": outcome.asks,
        "fills": outcome.fills, "solve_status": outcome.solve_status,
        "surplus": outcome.surplus, "volume_gpu_hours": outcome.volume_gpu_hours,
        "solve_seconds": f"{outcome.solve_seconds:.3f}", "gap": outcome.gap,
    }
    return " ".join(f"{k}={v}" for k, v in fields.items())


def rounds_of(resources: Resources, partition: str | None = None) -> Rounds:
    """The round use cases of one partition (default: the settings') on the database."""
    s = resources.settings
    return Rounds(PostgresRounds(resources.engine), RoundConfig(
        partition or s.partitions()[0], s.horizon_hours,
        SolveParams(s.solve_time_limit_seconds, s.solve_workers, s.solve_seed),
        s.fills_stream, s.auctions_stream, s.orders_stream, s.fee_bps))


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    if seconds > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)


class _Worker:
    """Leads one partition when it can, stands by for it when another worker leads."""

    def __init__(self, resources: Resources, partition: str, stop: asyncio.Event,
                 max_rounds: int | None, clock: Clock, name: str, relay: OutboxRelay,
                 leading: set[str], supply: SupplyPublisher | None = None) -> None:
        self.name = name
        self.partition = partition
        self.settings = resources.settings
        self.stop = stop
        self.max_rounds = max_rounds
        self.clock = clock
        self.rounds = rounds_of(resources, partition)
        self.engine = resources.engine
        self.lock = LeaderLock(resources.engine, partition)
        self.relay = relay
        self.leading = leading  # partitions this process leads now, shared by its workers
        self.supply = supply  # the feed's supply totals, published while this one leads
        self.done = 0

    @property
    def interval(self) -> float:
        return self.settings.auction_interval_seconds

    @property
    def retry_seconds(self) -> float:
        return min(1.0, self.interval / 4)

    async def run(self) -> None:
        try:
            while not self.stop.is_set():
                # A process already leading k partitions waits k retry periods more before
                # reaching for another, so that partitions spread over the workers.
                await _wait(self.stop, self.retry_seconds * len(self.leading - {self.partition}))
                if self.stop.is_set():
                    break
                if await self.lock.try_acquire():
                    log.info("event=leading worker=%s partition=%s lock_key=%d",
                             self.name, self.partition, self.lock.key)
                    self.leading.add(self.partition)
                    feeding = (asyncio.create_task(self.supply.run(self.stop),
                                                   name="gpux-supply") if self.supply else None)
                    try:
                        await self.lead()
                    finally:
                        if feeding is not None:
                            feeding.cancel()
                            with contextlib.suppress(asyncio.CancelledError):
                                await feeding
                        self.leading.discard(self.partition)
                        await self.lock.release()
                    # A deposed leader lets a waiting standby take over before competing.
                    await _wait(self.stop, 2 * self.retry_seconds)
                else:
                    await _wait(self.stop, self.retry_seconds)
        finally:
            await self.lock.release()

    async def lead(self) -> None:
        """Clear rounds while the lock holds and there is work left."""
        self.report(await self.rounds.resume())
        cutoff = cutoff_at_or_before(self.clock.now(), self.interval)
        while not self.stop.is_set():
            await self.until(cutoff)
            if self.stop.is_set():
                return
            if not await self.lock.alive():
                log.warning("event=lost_lead worker=%s", self.name)
                return
            started = time.perf_counter()
            # Every line logged while the round runs names it (an auction is one partition's
            # cutoff); the round's own line also carries the auction id (`report`).
            with bind(worker=self.name, partition=self.partition, cutoff=cutoff.isoformat()):
                try:
                    outcomes = await self.rounds.clear_round(cutoff)
                except Exception:  # the round stays frozen and is resumed at the next cutoff
                    log.exception("event=round_failed cutoff=%s", cutoff.isoformat())
                    outcomes = []
            self.relay.wake.set()
            if self.supply is not None:
                self.supply.wake.set()
            self.report(outcomes)
            await self.observe(outcomes, time.perf_counter() - started)
            if any(o.cutoff == cutoff and o.status != "exists" for o in outcomes):
                self.done += 1
            if self.max_rounds is not None and self.done >= self.max_rounds:
                self.stop.set()
                return
            cutoff = next_cutoff(cutoff, self.clock.now(), self.interval)

    async def until(self, moment: datetime) -> None:
        while not self.stop.is_set():
            left = (moment - self.clock.now()).total_seconds()
            if left <= 0:
                return
            await _wait(self.stop, left)

    def report(self, outcomes: list[RoundOutcome]) -> None:
        report_rounds(outcomes, self.name, self.partition)

    async def observe(self, outcomes: list[RoundOutcome], seconds: float) -> None:
        """Prometheus figures of the rounds this worker cleared; never fails a round."""
        try:
            await observe_rounds(self.engine, self.partition, outcomes, seconds)
        except Exception:
            log.exception("event=metrics_failed")


def report_rounds(outcomes: Sequence[RoundOutcome], worker: str, partition: str) -> None:
    """One log line per round, with its auction id, partition and cutoff as fields of their
    own (JSON logs) beside the logfmt text."""
    for outcome in outcomes:
        with bind(worker=worker, partition=partition, cutoff=outcome.cutoff.isoformat(),
                  auction_id=outcome.auction_id):
            log.info(round_line(outcome, worker))


async def observe_rounds(engine: AsyncEngine, partition: str, outcomes: list[RoundOutcome],
                         seconds: float) -> None:
    """Update the auction metrics from the rounds just cleared (`seconds`: their wall time)."""
    for o in outcomes:
        if o.status != "cleared" or o.auction_id is None:
            continue
        metrics.AUCTIONS.labels(partition, o.solve_status or "unknown").inc()
        metrics.SOLVE_SECONDS.labels(partition).observe(o.solve_seconds)
        metrics.ROUND_OVERHEAD_SECONDS.labels(partition).observe(
            max(0.0, seconds - o.solve_seconds))
        if isinstance(o.gap, int | float | Decimal):
            metrics.GAP.labels(partition).observe(float(o.gap))
        if o.solve_status == "feasible":
            metrics.TIME_LIMIT_HITS.labels(partition).inc()
        metrics.LAST_CLEARED.labels(partition).set(time.time())
        if o.surplus is not None:
            metrics.SURPLUS.labels(partition).inc(float(o.surplus))
        for p in await round_stats.traded(engine, o.auction_id):
            metrics.GPU_HOURS.labels(p.gpu, p.region).inc(p.gpu_hours)
            metrics.CLEARING_PRICE.labels(p.gpu, p.region).set(float(p.price))
        for gpu, price in (await round_stats.price_index(engine, o.auction_id)).items():
            metrics.PRICE_INDEX.labels(gpu).set(float(price))
    for side, count in (await round_stats.open_orders(engine, partition)).items():
        metrics.OPEN_ORDERS.labels(partition, side).set(count)


async def run_worker(resources: Resources, *, stop: asyncio.Event | None = None,
                     max_rounds: int | None = None, clock: Clock | None = None,
                     name: str | None = None, partitions: Sequence[str] | None = None) -> None:
    """Run the clearing worker until `stop` is set or it has cleared `max_rounds` cutoffs.

    It competes for each of `partitions` (default: the settings' partitions) and clears
    those it leads, each on its own cutoffs; one outbox relay serves them all.
    `max_rounds` counts, per partition, the cutoffs this worker froze as leader (not resumed
    rounds nor cutoffs found done), and the worker stops when any partition reaches it;
    `name` tags its log lines (default host:pid).
    """
    stop = stop or asyncio.Event()
    name = name or f"{socket.gethostname()}:{os.getpid()}"
    parts = list(partitions or resources.settings.partitions())
    # Workers sharing a list take its partitions in different orders, so they split them.
    random.Random(name).shuffle(parts)
    s = resources.settings
    relay = OutboxRelay(resources.engine, resources.redis, maxlen=s.stream_maxlen,
                        numbered=[s.orders_stream, s.fills_stream])
    # The feed's supply totals cover every partition: the leader of the first one publishes.
    supply = SupplyPublisher(resources.engine, resources.redis, s.supply_stream,
                             maxlen=s.stream_maxlen, every_seconds=s.feed_supply_seconds)
    first = s.partition_map().names[0]
    relay_stop = asyncio.Event()
    leading: set[str] = set()
    workers = [_Worker(resources, p, stop, max_rounds, clock or SystemClock(), name, relay,
                       leading, supply if p == first else None) for p in parts]
    relay_task = asyncio.create_task(relay.run(relay_stop), name="gpux-outbox-relay")
    try:
        await asyncio.gather(*(w.run() for w in workers))
    finally:
        relay_stop.set()
        await relay_task
