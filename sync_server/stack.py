"""The running stack (运行栈) of `onetrip up`: named async components started in order.

A component is anything with a `name` and async `start(ctx)` / `stop()`:

    class Workers:
        name = "workers"
        async def start(self, ctx: StackContext) -> None: ...   # return once running
        async def stop(self) -> None: ...                         # return once stopped

`run_stack` starts the components in list order (each sees what the earlier ones put in
`ctx`, e.g. `ctx.couchdb_url` after the engine), waits for SIGINT/SIGTERM or for a component
to fail, then stops the started ones in reverse order. To add a component to `onetrip up`,
append it in `sync_server.up.components`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sync_server.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class StackContext:
    """What components share: the settings, the CouchDB URL once known, and a failure signal."""

    settings: Settings
    couchdb_url: str = ""
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    failure: str = ""
    urls: dict[str, str] = field(default_factory=dict)

    def fail(self, reason: str) -> None:
        """Called by a component whose background work died: the whole stack stops."""
        self.failure = self.failure or reason
        self.stopping.set()


class Component(Protocol):
    name: str

    async def start(self, ctx: StackContext) -> None: ...

    async def stop(self) -> None: ...


async def run_stack(ctx: StackContext, components: Sequence[Component]) -> int:
    """Start everything, run until a signal or a failure, stop everything. Returns an exit code."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, ctx.stopping.set)
    started: list[Component] = []
    try:
        for component in components:
            if ctx.stopping.is_set():
                break
            log.info("starting %s", component.name)
            await component.start(ctx)
            started.append(component)
        if not ctx.failure:
            await ctx.stopping.wait()
    except Exception as exc:
        ctx.fail(f"{type(exc).__name__}: {exc}")
        log.error("start-up failed: %s", ctx.failure)
    finally:
        for component in reversed(started):
            try:
                await component.stop()
            except Exception:
                log.exception("stopping %s failed", component.name)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    if ctx.failure:
        log.error("stopped because: %s", ctx.failure)
        return 1
    return 0
