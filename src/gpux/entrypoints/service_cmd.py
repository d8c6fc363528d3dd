"""The service's commands: `gpux serve`, `gpux worker`, `gpux demo`, `gpux db upgrade`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any


def _settings(args: argparse.Namespace) -> Any:
    from gpux.config import Settings

    overrides = {k: v for k, v in {
        "host": getattr(args, "host", None), "port": getattr(args, "port", None),
        "auction_interval_seconds": getattr(args, "interval", None),
        "partition": getattr(args, "partition", None)}.items() if v is not None}
    return Settings(**overrides)


def _logs(args: argparse.Namespace) -> None:
    from gpux.adapters.logs import configure

    configure(_settings(args).log_format, logging.INFO)


async def _serve(settings: Any, with_worker: bool) -> None:
    import uvicorn

    from gpux.bootstrap import open_resources
    from gpux.entrypoints.api.app import create_app
    from gpux.entrypoints.worker import run_worker

    async with open_resources(settings, run_migrations=True) as res:
        app = create_app(settings, resources=res)
        server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port,
                                               lifespan="on"))
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(res, stop=stop)) if with_worker else None
        try:
            await server.serve()
        finally:
            stop.set()
            if worker is not None:
                await worker


def _serve_processes(settings: Any, workers: int) -> None:
    """The API alone in `workers` uvicorn processes, /metrics summed over all of them.

    This process migrates the database once (starting the embedded servers if no URL is
    set) and hands the URLs to the processes, which build their app with `api_process_app`.
    """
    import os
    import shutil

    import uvicorn

    from gpux.adapters.metrics import prepare_multiprocess_dir
    from gpux.bootstrap import migrate, resolve_urls

    db_url, redis_url, embedded = resolve_urls(settings)
    asyncio.run(migrate(db_url))
    os.environ.update(DATABASE_URL=db_url, REDIS_URL=redis_url)
    metrics_dir, made = prepare_multiprocess_dir()
    try:
        uvicorn.run("gpux.entrypoints.service_cmd:api_process_app", factory=True,
                    host=settings.host, port=settings.port, workers=workers, lifespan="on")
    finally:
        if made:
            shutil.rmtree(metrics_dir, ignore_errors=True)
        del embedded


def api_process_app() -> Any:
    """The app of one of several API processes (`gpux serve --workers N`): settings from
    the environment; its live gauges are dropped when it stops, and those of processes that
    died before it started."""
    from contextlib import asynccontextmanager

    from gpux.adapters import metrics
    from gpux.adapters.logs import configure
    from gpux.config import Settings
    from gpux.entrypoints.api.app import create_app

    settings = Settings()
    configure(settings.log_format, logging.INFO)
    app = create_app(settings)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(the_app: Any) -> Any:
        metrics.forget_dead_processes()
        try:
            async with inner(the_app) as state:
                yield state
        finally:
            metrics.process_exiting()

    app.router.lifespan_context = lifespan
    return app


async def _worker(settings: Any) -> None:
    import uvicorn

    from gpux.bootstrap import open_resources
    from gpux.entrypoints.probes import worker_app
    from gpux.entrypoints.worker import run_worker

    async with open_resources(settings, run_migrations=False) as res:
        if settings.worker_metrics_port is None:
            await run_worker(res)
            return
        server = uvicorn.Server(uvicorn.Config(
            worker_app(res), host=settings.host, port=settings.worker_metrics_port,
            log_level="warning", lifespan="off"))
        http = asyncio.create_task(server.serve())
        try:
            await run_worker(res)
        finally:
            server.should_exit = True
            await http


async def _upgrade(settings: Any) -> None:
    from gpux.bootstrap import migrate, resolve_urls

    db_url, _redis, embedded = await asyncio.to_thread(resolve_urls, settings)
    await migrate(db_url)
    del embedded
    print(f"database at {db_url} is at the latest migration")


def cmd_serve(args: argparse.Namespace) -> int:
    """The API and the clearing worker in one process (a laptop's exchange)."""
    if args.workers > 1 and not args.no_worker:
        print("gpux serve: --workers: several API processes need --no-worker (run the "
              "clearing worker as `gpux worker`)", file=sys.stderr)
        return 2
    _logs(args)
    if args.workers > 1:
        _serve_processes(_settings(args), args.workers)
        return 0
    asyncio.run(_serve(_settings(args), with_worker=not args.no_worker))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """The clearing worker alone (hot standby when another worker leads)."""
    _logs(args)
    asyncio.run(_worker(_settings(args)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Seed a market and watch several auctions clear."""
    from gpux.entrypoints.demo import run_demo

    return run_demo(bids=args.bids, rounds=args.rounds, seed=args.seed, interval=args.interval)


def cmd_db(args: argparse.Namespace) -> int:
    """Run the database migrations."""
    asyncio.run(_upgrade(_settings(args)))
    return 0


def register(sub: Any, positive: Any) -> None:
    """Add the service's subcommands to the `gpux` parser."""
    serve = sub.add_parser("serve", help="run the API and the clearing worker in one process")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--interval", type=positive(float), help="seconds between auctions")
    serve.add_argument("--no-worker", action="store_true", help="the API alone")
    serve.add_argument("--workers", type=positive(int), default=1,
                       help="API processes (more than 1 needs --no-worker; /metrics sums "
                            "them through PROMETHEUS_MULTIPROC_DIR, a temporary directory "
                            "if unset)")
    serve.set_defaults(run=cmd_serve)

    worker = sub.add_parser("worker", help="run the clearing worker")
    worker.add_argument("--interval", type=positive(float), help="seconds between auctions")
    worker.add_argument("--partition", help="the market partition(s) to clear, comma-separated "
                        "(default $GPUX_PARTITION, else every partition, else main)")
    worker.set_defaults(run=cmd_worker)

    demo = sub.add_parser("demo", help="a whole exchange for two minutes: seed, clear, report")
    demo.add_argument("--bids", type=positive(int), default=400)
    demo.add_argument("--rounds", type=positive(int), default=4, help="waves of buyers")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--interval", type=positive(float), default=10.0,
                      help="seconds between auctions (default 10)")
    demo.set_defaults(run=cmd_demo)

    db = sub.add_parser("db", help="database administration")
    db.add_argument("action", choices=["upgrade"], help="upgrade: run the migrations")
    db.set_defaults(run=cmd_db)
