"""The county parts of `onetrip up` (运行组件): the outbox worker and the platform simulator.

Both follow `sync_server.stack.Component` (`name`, async `start(ctx)`, async `stop()`):

    CountySimulator()   serves the simulator on 127.0.0.1:ONETRIP_COUNTY_PORT unless
                        COUNTY_PLATFORM_URL points at a real platform
    CountyOutbox()      runs the outbox worker; the workers framework enqueues ready cases
                        (`transition.OutboxEnqueue`)

`county_url(settings)` is where hand-offs go; `run_simulator` serves a simulator app until
an event is set, for scripts and tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette

from sync_server.couch import Couch
from sync_server.county import outbox as ob
from sync_server.county.signature import load_secret
from sync_server.county.simulator import HANDOFF_PATH, create_simulator_app
from sync_server.county.worker import OutboxWorker
from sync_server.settings import Settings
from sync_server.stack import StackContext

log = logging.getLogger(__name__)

# In the demo a decision comes back this long after the hand-off (approval, then the result
# the same time later): long enough to watch the case sit in `forwarded`, short enough to wait for.
DEMO_DECIDE_AFTER = 20.0
# Seconds between outbox rounds; a hand-off is not urgent to the second.
ROUND_INTERVAL = 2.0


def county_url(settings: Settings) -> str:
    """COUNTY_PLATFORM_URL, or the built-in simulator's hand-off endpoint."""
    return settings.county_platform_url or f"http://127.0.0.1:{settings.county_port}{HANDOFF_PATH}"


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the stack (or the caller) owns SIGINT/SIGTERM
    and stops the simulator through `stop`; uvicorn's handlers would take Ctrl-C from the stack."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run_simulator(app: Starlette, port: int, stop: asyncio.Event, started: asyncio.Event | None = None,
                        host: str = "127.0.0.1") -> None:
    """Serve `app` with uvicorn until `stop` is set; `started` is set once it listens."""
    server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if started is not None:
        started.set()
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    server.should_exit = True
    stopper.cancel()
    await task


class CountySimulator:
    name = "county-simulator"

    def __init__(self, decide_after: float | None = DEMO_DECIDE_AFTER) -> None:
        self.decide_after = decide_after
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, ctx: StackContext) -> None:
        settings = ctx.settings
        if settings.county_platform_url:
            log.info("COUNTY_PLATFORM_URL is set: the simulator is not started")
            return
        app = create_simulator_app(settings.local_url + "/api/county/callback",
                                   load_secret(settings.secrets_dir), decide_after=self.decide_after)
        started = asyncio.Event()
        self._task = asyncio.create_task(run_simulator(app, settings.county_port, self._stop, started))
        waiter = asyncio.create_task(started.wait())
        await asyncio.wait({self._task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if self._task.done():  # e.g. the port is taken: uvicorn exits
            self._task.result()
            raise RuntimeError(f"county simulator could not listen on port {settings.county_port}")
        ctx.urls["county simulator"] = f"http://127.0.0.1:{settings.county_port}/sim/cases"

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task


class CountyOutbox:
    name = "county-outbox"

    def __init__(self, *, databases: frozenset[str] | None = None) -> None:
        self.databases = databases  # only these village databases (None: all)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._couch: Couch | None = None
        self._worker: OutboxWorker | None = None

    async def start(self, ctx: StackContext) -> None:
        settings = ctx.settings
        self._couch = couch = Couch(ctx.couchdb_url)
        await ob.prepare(couch)
        self._worker = OutboxWorker(couch, county_url=county_url(settings), public_url=settings.public_url,
                                    secret=load_secret(settings.secrets_dir), databases=self.databases)
        self._task = asyncio.create_task(self._worker.run(self._stop, ROUND_INTERVAL))

        def died(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and task.exception() is not None:
                ctx.fail(f"county outbox stopped: {task.exception()!r}")

        self._task.add_done_callback(died)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        if self._worker is not None and self._worker.http is not None:
            await self._worker.http.aclose()
        if self._couch is not None:
            await self._couch.aclose()
