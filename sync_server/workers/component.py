"""The workers as a component of `onetrip up` (sync_server.stack): started after the HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sync_server.couch import Couch
from sync_server.stack import StackContext
from sync_server.workers.runner import run_workers

log = logging.getLogger(__name__)


class WorkersComponent:
    name = "workers"

    def __init__(self) -> None:
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._couch: Couch | None = None

    async def start(self, ctx: StackContext) -> None:
        self._couch = Couch(ctx.couchdb_url)
        self._task = asyncio.create_task(run_workers(self._couch, ctx.settings, self._stop), name="workers")

        def done(task: asyncio.Task[None]) -> None:
            if not self._stop.is_set():
                ctx.fail("the workers stopped")

        self._task.add_done_callback(done)
        ctx.urls["workers"] = "following ot-v-* databases"

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=20)
        if self._couch is not None:
            await self._couch.aclose()
