"""A clearing worker in a process of its own, for the crash test: settings from the
environment (DATABASE_URL, REDIS_URL, GPUX_*), `max_rounds` from argv[1]."""

from __future__ import annotations

import asyncio
import logging
import sys

from gpux.bootstrap import open_resources
from gpux.config import Settings
from gpux.entrypoints.worker import run_worker


async def main(max_rounds: int) -> None:
    async with open_resources(Settings()) as resources:
        await run_worker(resources, max_rounds=max_rounds)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(message)s")
    asyncio.run(main(int(sys.argv[1])))
