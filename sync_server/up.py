"""`onetrip up` (启动整套服务): engine, provisioning, demo seed, HTTP server, and more.

The stack is the list returned by `components`; each is started in order and stopped in
reverse (sync_server.stack). The lead adds workers, the county simulator and the Flet app
by appending components there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn
from anyio import to_thread

from sync_server import quietlog
from sync_server.admin import now_iso, register_divisions, startup_divisions
from sync_server.app import create_app
from sync_server.couch import Couch
from sync_server.demo import DemoUser, has_users, seed_demo
from sync_server.engine import Engine
from sync_server.provision import provision
from sync_server.registry import load_registry
from sync_server.serving import server_config
from sync_server.stack import Component, StackContext, run_stack

log = logging.getLogger(__name__)

START_TIMEOUT = 30.0  # seconds for uvicorn to bind its port


@dataclass(frozen=True)
class UpOptions:
    app: bool = True
    demo: bool = True


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and engine URLs carry the admin password.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # The demo seeder plays the phones in-process: their replication lines would flood the console.
    logging.getLogger("mobile").setLevel(logging.WARNING)
    quietlog.install()  # a flood logs a few lines a minute per message, not one per event


class EngineComponent:
    """The embedded pouchdb-server, when COUCHDB_URL is not set."""

    name = "engine"

    def __init__(self) -> None:
        self.engine: Engine | None = None

    async def start(self, ctx: StackContext) -> None:
        self.engine = Engine(ctx.settings.data_dir)
        ctx.couchdb_url = await to_thread.run_sync(self.engine.start)
        ctx.urls["engine"] = f"http://127.0.0.1:{self.engine.port} (admin password in secrets/)"

    async def stop(self) -> None:
        if self.engine is not None:
            await to_thread.run_sync(self.engine.stop)


class Provisioner:
    """Databases, divisions from assets/, and the demo when the data folder was empty."""

    name = "provisioning"

    def __init__(self, seed: bool) -> None:
        self.seed = seed
        self.demo_users: list[DemoUser] = []

    async def start(self, ctx: StackContext) -> None:
        couch = Couch(ctx.couchdb_url)
        try:
            await provision(couch)
            # An empty data folder over a CouchDB that already has accounts (COUCHDB_URL):
            # never overwrite real users with demo passwords, nor add the demo divisions.
            seeding = self.seed and not await has_users(couch)
            if self.seed and not seeding:
                log.warning("not seeding the demo: ot-auth already has users")
            registry = startup_divisions(ctx.settings, seeding)
            await register_divisions(couch, registry)
            await provision(couch, [d.code for d in await load_registry(couch) if len(d.code) == 12])
            if seeding:
                self.demo_users = await seed_demo(couch, ctx.settings.data_dir, registry, now_iso())
        finally:
            await couch.aclose()

    async def stop(self) -> None:
        return None


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the stack owns SIGINT/SIGTERM


class HttpServer:
    """The Starlette app under uvicorn on ONETRIP_HOST:ONETRIP_PORT."""

    name = "server"

    def __init__(self) -> None:
        self.server: _Server | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self, ctx: StackContext) -> None:
        settings = ctx.settings
        app = create_app(settings, couchdb_url=ctx.couchdb_url)
        config = server_config(app, settings.host, settings.port)
        self.server = _Server(config)
        self.task = asyncio.create_task(self.server.serve())
        self.task.add_done_callback(lambda _: ctx.fail("the HTTP server stopped") if not ctx.stopping.is_set()
                                    else None)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while not self.server.started:
            if self.task.done() or loop.time() > deadline:
                raise RuntimeError(f"the server could not listen on {settings.host}:{settings.port}")
            await asyncio.sleep(0.05)
        ctx.urls["server"] = settings.public_url

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            with contextlib.suppress(BaseException):
                await self.task


class DemoCases:
    """The demo township's cases, seeded once the server and the workers run.

    Seeding goes through the gateway, so it cannot happen in provisioning. It plays the
    agents' phones with the app's own code, and `sync_server` never imports `mobile`
    (docs/design.md §Layering), so it runs as its own process, `python -m onetrip_demo` (the package
    `onetrip_demo`). The stack keeps running when seeding fails: a half-seeded demo folder
    is still a working data folder; Ctrl-C meanwhile stops the seeder at its next case.
    """

    name = "demo-cases"

    def __init__(self, provisioner: Provisioner) -> None:
        self.provisioner = provisioner
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, ctx: StackContext) -> None:
        if not self.provisioner.demo_users:
            return
        env = {**os.environ, "COUCHDB_URL": ctx.couchdb_url, "ONETRIP_DATA": str(ctx.settings.data_dir)}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "onetrip_demo", "--server", ctx.settings.local_url,
            env=env, stdin=asyncio.subprocess.DEVNULL)
        waiting = asyncio.ensure_future(self.proc.wait())
        stopper = asyncio.ensure_future(ctx.stopping.wait())
        try:
            await asyncio.wait({waiting, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if not waiting.done():
                self.proc.terminate()
            code = await waiting
            if code != 0:
                log.error("seeding the demo cases failed (exit %s); the stack keeps running", code)
        finally:
            stopper.cancel()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()


class Banner:
    """Prints the URLs and the demo logins once everything runs."""

    name = "banner"

    def __init__(self, provisioner: Provisioner) -> None:
        self.provisioner = provisioner

    async def start(self, ctx: StackContext) -> None:
        lines = ["", "OneTrip 已启动 / is running:"]
        lines += [f"  {name:<8} {url}" for name, url in ctx.urls.items()]
        if self.provisioner.demo_users:
            lines.append(f"演示账号 / demo logins (also in {ctx.settings.data_dir / 'demo.json'}):")
            lines += [f"  {u['username']:<10} {u['password']:<14} {u['role']:<16} {' '.join(u['divisions'])}"
                      for u in self.provisioner.demo_users]
        lines.append("Ctrl-C 停止 / stops everything.")
        print("\n".join(lines), flush=True)

    async def stop(self) -> None:
        return None


def components(ctx: StackContext, options: UpOptions, seed: bool) -> list[Component]:
    """The stack in start order. Add workers, the county simulator and the app here."""
    provisioner = Provisioner(seed)
    stack: list[Component] = []
    if not ctx.settings.couchdb_url:
        stack.append(EngineComponent())
    else:
        ctx.couchdb_url = ctx.settings.couchdb_url
    stack += [provisioner, HttpServer()]
    from sync_server.county.components import CountyOutbox, CountySimulator
    from sync_server.workers.component import WorkersComponent

    # The simulator stands in for the county platform unless COUNTY_PLATFORM_URL is set.
    # Demo cases before the county components: their simulator decides on a timer (demo_township).
    stack += [WorkersComponent(), DemoCases(provisioner), CountySimulator(), CountyOutbox()]
    if options.app:
        from sync_server.app_process import FletApp

        stack.append(FletApp())
    stack.append(Banner(provisioner))
    return stack


async def up(ctx: StackContext, options: UpOptions) -> int:
    data_dir = ctx.settings.data_dir
    fresh = not data_dir.exists() or not any(data_dir.iterdir())
    data_dir.mkdir(parents=True, exist_ok=True)
    return await run_stack(ctx, components(ctx, options, seed=fresh and options.demo))
