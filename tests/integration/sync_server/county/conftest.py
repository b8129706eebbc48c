"""The county loop in one process: server app and simulator joined by httpx ASGI transports.

    worker ──POST record──▶ simulator app ──signed callback──▶ server app ──▶ village database
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from sync_server.app import create_app
from sync_server.auth import routes as auth_routes
from sync_server.auth.keys import load_signing_key
from sync_server.context import ServerContext
from sync_server.couch import Couch
from sync_server.county import callback as county_callback
from sync_server.county import outbox as ob
from sync_server.county.backoff import Backoff
from sync_server.county.signature import load_secret
from sync_server.county.simulator import Simulator, create_simulator_app
from sync_server.county.worker import OutboxWorker
from sync_server.provision import ensure_db, village_db
from sync_server.settings import settings_from_env
from tests.integration.sync_server.server_fixtures import PASSWORD, Township, make_township
from tests.unit.sync_server.county.factories import make_case, make_event

SERVER = "http://server"
COUNTY = "http://county"
PARTS = (auth_routes.routes, county_callback.routes)
SCAN = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8  # a small JPEG-looking attachment


@dataclass
class FakeClock:
    """The worker's clock: starts now, moves only when the test says so."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Loop:
    couch: Couch
    township: Township
    server: Starlette
    simulator: Starlette
    server_client: httpx.AsyncClient
    worker: OutboxWorker
    clock: FakeClock
    secret: bytes
    db: str  # a village database of its own for each test, in the shared township

    @property
    def sim(self) -> Simulator:
        sim: Simulator = self.simulator.state.sim
        return sim

    async def run_until(self, done: Callable[[dict[str, Any]], bool], case_id: str,
                        rounds: int = 20) -> dict[str, Any]:
        """Run worker rounds, moving the clock to the next attempt, until the entry satisfies `done`."""
        for _ in range(rounds):
            entry = await ob.get_entry(self.couch, case_id)
            assert entry is not None
            if done(entry):
                return entry
            due = datetime.fromisoformat(entry["next_attempt_at"].replace("Z", "+00:00"))
            self.clock.now = max(self.clock.now, due)
            await self.worker.run_once()
        raise AssertionError(f"outbox entry never got there: {entry}")

    async def token(self, username: str) -> str:
        response = await self.server_client.post("/api/auth/login", json={
            "username": username, "password": PASSWORD, "device_id": f"dev-{random.randrange(10**9)}"})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


async def put_forwarded_case(couch: Couch, db: str, **overrides: Any) -> dict[str, Any]:
    """A forwarded case with a scan attachment and its submitted/accepted/forwarded events."""
    village = db.removeprefix("ot-v-")
    case = make_case(village=village, **overrides)
    rev = (await couch.put_doc(db, case))["rev"]
    await couch.request("PUT", f"/{db}/{case['_id']}/hukou-1.jpg", params={"rev": rev}, content=SCAN,
                        headers={"Content-Type": "image/jpeg"})
    for i, (kind, role) in enumerate((("submitted", "village_agent"), ("accepted", "township_staff"),
                                      ("forwarded", "township_staff"))):
        event = make_event(case, kind, role=role, at=f"2026-11-2{i}T02:00:00Z")
        event["_id"] = f"{event['_id'][:-26]}01JX000000000000000000000{i}"
        await couch.put_doc(db, event)
    stored = await couch.get_doc(db, case["_id"])
    assert stored is not None
    return stored


async def fresh_village_db(couch: Couch, township: str) -> str:
    """A new, empty village database in `township` (staff of the township may act on it)."""
    for _ in range(50):
        db = village_db(f"{township}{random.randrange(1, 1000):03d}")
        if await couch.create_db(db):
            await ensure_db(couch, db)
            return db
    raise RuntimeError(f"no free village code left in {township}")


@pytest.fixture(scope="session")
async def county_township(couchdb_url: str) -> Township:
    """One township for all county tests: its users cost seconds of password hashing to create."""
    return await make_township(couchdb_url)


@pytest.fixture
async def loop(couchdb_url: str, tmp_path: Path, county_township: Township) -> AsyncIterator[Loop]:
    township = county_township
    couch = Couch(couchdb_url)
    db = await fresh_village_db(couch, township.code)
    settings = settings_from_env({"ONETRIP_DATA": str(tmp_path / "data"), "COUCHDB_URL": couchdb_url,
                                  "ONETRIP_PUBLIC_URL": SERVER})
    key = load_signing_key(settings.secrets_dir)
    ctx = ServerContext(settings=settings, couchdb_url=couchdb_url, key=key)
    server = create_app(settings, ctx=ctx, route_parts=PARTS)
    secret = load_secret(settings.secrets_dir)
    simulator = create_simulator_app(f"{SERVER}/api/county/callback", secret,
                                      transport=httpx.ASGITransport(app=server))
    await ob.prepare(couch)
    clock = FakeClock()
    county_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator))
    # Tiny delays: the test moves the fake clock to each next attempt anyway.
    worker = OutboxWorker(couch, county_url=f"{COUNTY}/api/cases", public_url=SERVER, secret=secret,
                          backoff=Backoff(base=1, cap=4, max_attempts=4), clock=clock, random=lambda: 0.5,
                          http=county_http, databases=frozenset({db}))
    async with server.router.lifespan_context(server), simulator.router.lifespan_context(simulator), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=server), base_url=SERVER) as server_client:
        yield Loop(couch, township, server, simulator, server_client, worker, clock, secret, db)
    await county_http.aclose()
    await couch.request("DELETE", f"/{db}")
    await couch.aclose()
