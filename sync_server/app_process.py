"""The Flet app in web mode as a component of `onetrip up` (应用进程).

`sync_server` never imports `mobile` (docs/design.md §Layering), so the app runs as its own process,
`python -m mobile.cli app --web --port ONETRIP_APP_PORT`, exactly what a developer would
type. It is pointed at this server with `ONETRIP_SERVER_URL` and keeps its device data (the
local store a phone would hold) in `$ONETRIP_DATA/devices/web`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys

import httpx

from sync_server.stack import StackContext

log = logging.getLogger(__name__)

# The first start builds a CJK font subset for the web client (about 15-20 s on 2 cores).
START_TIMEOUT = 120.0


class FletApp:
    """Runs and stops the web app process."""

    name = "app"

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def start(self, ctx: StackContext) -> None:
        settings = ctx.settings
        device_dir = settings.data_dir / "devices" / "web"
        device_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "ONETRIP_SERVER_URL": settings.local_url, "ONETRIP_DEVICE_DATA": str(device_dir)}
        log_file = open(settings.data_dir / "app.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "mobile.cli", "app", "--web", "--port", str(settings.app_port),
                env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log_file, stderr=log_file)
        finally:
            log_file.close()
        url = f"http://127.0.0.1:{settings.app_port}"
        await self._wait_ready(url)
        ctx.urls["app"] = url
        self._watcher = asyncio.create_task(self._watch(ctx))

    async def _wait_ready(self, url: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        async with httpx.AsyncClient(timeout=2.0) as client:
            while loop.time() < deadline:
                if self.proc is None or self.proc.returncode is not None:
                    raise RuntimeError("the Flet app exited at start-up: see app.log in the data folder")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        return
                await asyncio.sleep(0.5)
        raise RuntimeError(f"the Flet app did not answer on {url} within {START_TIMEOUT:.0f} s")

    async def _watch(self, ctx: StackContext) -> None:
        if self.proc is not None:
            await self.proc.wait()
            if not ctx.stopping.is_set():
                ctx.fail("the Flet app stopped (see app.log in the data folder)")

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout=10)
        except TimeoutError:
            proc.kill()
            await proc.wait()

