"""Run the workers alone: `python -m sync_server.workers` (COUCHDB_URL from the environment).

For a second worker process beside `onetrip up`, and for the multi-process tests. Optional
environment: ONETRIP_WORKERS_PREFIX (default `ot-v-`), ONETRIP_WORKERS_SERVER_DB (`ot-server`),
ONETRIP_WORKERS_LEASE_TTL (seconds, 30), ONETRIP_WORKERS_POLL (seconds, 5). Stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from sync_server.couch import Couch
from sync_server.provision import SERVER_DB, VILLAGE_PREFIX
from sync_server.settings import settings_from_env
from sync_server.workers.follower import FeedOptions
from sync_server.workers.runner import WorkerConfig, run_workers


async def main() -> None:
    settings = settings_from_env()
    if not settings.couchdb_url:
        raise SystemExit("COUCHDB_URL must be set / 请设置 COUCHDB_URL")
    poll = float(os.environ.get("ONETRIP_WORKERS_POLL", "5"))
    config = WorkerConfig(
        server_db=os.environ.get("ONETRIP_WORKERS_SERVER_DB", SERVER_DB),
        prefix=os.environ.get("ONETRIP_WORKERS_PREFIX", VILLAGE_PREFIX),
        lease_ttl=float(os.environ.get("ONETRIP_WORKERS_LEASE_TTL", "30")),
        discovery_poll=poll,
        feed=FeedOptions(longpoll_ms=int(min(10.0, poll) * 1000)),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    couch = Couch(settings.couchdb_url)
    try:
        await run_workers(couch, settings, stop, config)
    finally:
        await couch.aclose()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # URLs carry the admin password
    asyncio.run(main())
