"""End-to-end helpers (端到端测试): the server stack as a real process, and phones that sync through it.

    python -m tests.integration.e2e_helpers     # what `ServerStack` starts: HTTP server (all
                                                # routes), workers, county simulator, outbox

The stack process is `onetrip up` without engine, provisioning, demo and app, limited to one
township (`E2E_PREFIX`, `E2E_DATABASES`) so that it never touches other tests' databases in the
shared engine, and with a simulator that decides only when told (`POST /sim/decide/{ref}`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from mobile.replication import RemoteDB, ReplicationSummary, replicate
from mobile.services.device_state import Account
from mobile.store import LocalStore
from mobile.viewmodels.casebook import CaseBook
from sync_server.couch import Couch
from sync_server.engine import free_port
from sync_server.settings import settings_from_env
from sync_server.stack import Component, StackContext, run_stack
from tests.integration.sync_server.server_fixtures import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


class _Workers:
    """The workers of `onetrip up` (`run_workers`) with a test configuration: one township, short polls."""

    name = "workers"

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._couch: Couch | None = None

    async def start(self, ctx: StackContext) -> None:
        from sync_server.workers.follower import FeedOptions
        from sync_server.workers.runner import WorkerConfig, run_workers

        config = WorkerConfig(prefix=self.prefix, lease_ttl=3.0, discovery_poll=0.3, max_backoff=0.5,
                              feed=FeedOptions(longpoll_ms=300))
        self._couch = Couch(ctx.couchdb_url)
        self._task = asyncio.create_task(run_workers(self._couch, ctx.settings, self._stop, config))
        self._task.add_done_callback(lambda _: None if self._stop.is_set() else ctx.fail("workers stopped"))

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=20)
        if self._couch is not None:
            await self._couch.aclose()


def _serve() -> int:
    from sync_server.county.components import CountyOutbox, CountySimulator
    from sync_server.up import HttpServer, configure_logging

    configure_logging()
    settings = settings_from_env()
    ctx = StackContext(settings, couchdb_url=os.environ["COUCHDB_URL"])
    databases = frozenset(os.environ["E2E_DATABASES"].split(","))
    components: list[Component] = [HttpServer(), _Workers(os.environ["E2E_PREFIX"]),
                                   CountySimulator(decide_after=None), CountyOutbox(databases=databases)]
    return asyncio.run(run_stack(ctx, components))


@dataclass
class ServerStack:
    """The running stack process: server URL, simulator URL, and its log for failures."""

    url: str
    county: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@contextlib.contextmanager
def server_stack(couchdb_url: str, data_dir: Path, prefix: str,
                 databases: tuple[str, ...]) -> Iterator[ServerStack]:
    port, county_port = free_port(), free_port()
    env = {**os.environ, "COUCHDB_URL": couchdb_url, "ONETRIP_DATA": str(data_dir),
           "ONETRIP_PORT": str(port), "ONETRIP_COUNTY_PORT": str(county_port),
           "ONETRIP_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "E2E_PREFIX": prefix, "E2E_DATABASES": ",".join(databases)}
    env.pop("COUNTY_PLATFORM_URL", None)
    log = data_dir.parent / f"{data_dir.name}-stack-{port}.log"  # several stacks may share a data folder
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "tests.integration.e2e_helpers"], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    stack = ServerStack(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{county_port}", process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not (_healthy(stack.url) and _healthy(stack.county)):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the stack did not start:\n{stack.tail()}")
            time.sleep(0.1)
        yield stack
    finally:
        stack.stop()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Phone:
    """One device of a village agent: its own store, real login, bearer-token sync of one database."""

    store: LocalStore
    book: CaseBook
    remote: RemoteDB
    device: str

    async def push(self) -> ReplicationSummary:
        return await replicate(self.store, self.remote)

    async def pull(self) -> ReplicationSummary:
        return await replicate(self.remote, self.store)


async def phone(server_url: str, folder: Path, username: str, device: str) -> Phone:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{server_url}/api/auth/login",
                                   json={"username": username, "password": PASSWORD, "device_id": device})
    assert response.status_code == 200, response.text
    body = response.json()
    user = body["user"]
    account = Account(user["username"], user["role"], tuple(user["divisions"]), tuple(user["databases"]))
    (db,) = [name for name in account.databases if name.startswith("ot-v-")]
    folder.mkdir(parents=True, exist_ok=True)
    store = LocalStore(folder / "store.sqlite")
    remote = RemoteDB(f"{server_url}/sync/{db}", token=str(body["access_token"]))
    return Phone(store, CaseBook(store, account, device, utc_now), remote, device)


async def staff_token(server_url: str, username: str) -> str:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{server_url}/api/auth/login",
                                   json={"username": username, "password": PASSWORD, "device_id": "desk-e2e"})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def case_events(couch: Couch, db: str, case_id: str) -> list[dict[str, Any]]:
    """The case's events on the server, oldest first."""
    ulid = case_id.removeprefix("case:")
    rows = (await couch.get_json(f"/{db}/_all_docs", startkey=f"event:{ulid}:",
                                 endkey=f"event:{ulid}:\ufff0", include_docs=True))["rows"]
    return [row["doc"] for row in rows]


async def audit_of(couch: Couch, db: str, doc_id: str) -> list[dict[str, Any]]:
    """The gateway's `audit:` records in ot-server naming `doc_id` of `db`, oldest first."""
    rows = (await couch.get_json("/ot-server/_design/server/_view/audit_by_doc",
                                 key=[db, doc_id], include_docs=True))["rows"]
    return sorted((row["doc"] for row in rows), key=lambda doc: str(doc["_id"]))


if __name__ == "__main__":
    sys.exit(_serve())
