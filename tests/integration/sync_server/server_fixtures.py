"""A real uvicorn server (in a thread) over the session's engine, and test accounts."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette

from shared.divisions import Division
from sync_server import health
from sync_server.admin import cmd_add_user
from sync_server.app import RoutePart, create_app
from sync_server.auth import routes as auth_routes
from sync_server.auth.cache import AccountCache
from sync_server.auth.keys import load_signing_key
from sync_server.context import ServerContext
from sync_server.couch import Couch
from sync_server.engine import free_port
from sync_server.gateway import routes as gateway_routes
from sync_server.provision import SERVER_DB, provision
from sync_server.registry import add_division
from sync_server.serving import server_config
from sync_server.settings import settings_from_env

MY_ROUTES: tuple[RoutePart, ...] = (health.routes, auth_routes.routes, gateway_routes.routes)
PASSWORD = "correct horse battery"


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Clock:
    """Real time plus an offset the test can move, or a frozen time."""

    offset: float = 0.0
    frozen: float | None = None

    def __call__(self) -> float:
        return (time.time() if self.frozen is None else self.frozen) + self.offset


@dataclass
class RunningServer:
    url: str
    ctx: ServerContext
    clock: Clock
    thread: threading.Thread
    server: _Server

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(data_dir: Path, couchdb_url: str, parts: tuple[RoutePart, ...] = MY_ROUTES, *,
                 account_cache: bool = False) -> RunningServer:
    port = free_port()
    settings = settings_from_env({"ONETRIP_DATA": str(data_dir), "ONETRIP_PORT": str(port),
                                  "COUCHDB_URL": couchdb_url})
    clock = Clock()
    ctx = ServerContext(settings=settings, couchdb_url=couchdb_url,
                        key=load_signing_key(settings.secrets_dir),
                        clock=clock)
    if account_cache:  # as `create_app` builds it for `onetrip up`
        ctx.accounts = AccountCache(lambda: ctx.couch)
    app: Starlette = create_app(settings, ctx=ctx, route_parts=parts)
    server = _Server(server_config(app, "127.0.0.1", port))  # as `onetrip up` serves it
    thread = threading.Thread(target=server.run, name="test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    return RunningServer(f"http://127.0.0.1:{port}", ctx, clock, thread, server)


@contextlib.contextmanager
def running_server(data_dir: Path, couchdb_url: str, parts: tuple[RoutePart, ...] = MY_ROUTES, *,
                   account_cache: bool = False) -> Iterator[RunningServer]:
    """`start_server` for a `with` block: stopped when the block ends."""
    server = start_server(data_dir, couchdb_url, parts, account_cache=account_cache)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Township:
    """A fresh township with two villages and its users (all with PASSWORD)."""

    code: str
    villages: tuple[str, str]
    agents: tuple[str, str]
    staff: str
    county: str
    users: dict[str, str] = field(default_factory=dict)
    approver: str = ""  # a second staff member: who accepted a case does not approve it (受审分离)

    @property
    def dbs(self) -> tuple[str, str]:
        return (f"ot-v-{self.villages[0]}", f"ot-v-{self.villages[1]}")


async def _unregistered_township(couch: Couch) -> str:
    """A township code of county 330212 nobody registered yet.

    A staff user syncs every village registered under their township, so a test whose township
    code another test already used would see that test's villages too.
    """
    for _ in range(500):
        township = f"330212{random.randrange(1, 1000):03d}"
        if await couch.get_doc(SERVER_DB, f"division:{township}") is None:
            return township
    raise RuntimeError("county 330212 has no free township code left in this CouchDB: use a fresh one")


async def make_township(couchdb_url: str) -> Township:
    """Register a township with codes no other test used, and its users."""
    suffix = f"{random.randrange(10**5):05d}"
    couch = Couch(couchdb_url)
    try:
        await provision(couch)
        township = await _unregistered_township(couch)
        villages = (f"{township}{random.randrange(1, 500):03d}",
                    f"{township}{random.randrange(500, 1000):03d}")
        for code in ("330212", township, *villages):
            await add_division(couch, Division(code, f"测试{code}", ""))
        t = Township(township, villages, (f"a1-{suffix}", f"a2-{suffix}"), f"st-{suffix}", f"co-{suffix}",
                     approver=f"sa-{suffix}")
        for name, village in zip(t.agents, villages, strict=True):
            await cmd_add_user(couch, name, "village_agent", [village], PASSWORD)
        await cmd_add_user(couch, t.staff, "township_staff", [township], PASSWORD)
        await cmd_add_user(couch, t.approver, "township_staff", [township], PASSWORD)
        await cmd_add_user(couch, t.county, "county_operator", ["330212"], PASSWORD)
        return t
    finally:
        await couch.aclose()


def login(server_url: str, username: str, device: str | None = None,
          password: str = PASSWORD) -> httpx.Response:
    device = device or f"dev-{username}-{random.randrange(10**9)}"
    return httpx.post(f"{server_url}/api/auth/login",
                      json={"username": username, "password": password, "device_id": device}, timeout=30)


def token_for(server_url: str, username: str, device: str | None = None) -> str:
    response = login(server_url, username, device)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])

