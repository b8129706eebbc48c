"""Limits hold across server processes: alternating between two servers gives no more tries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette

from sync_server.auth.ratelimit import USERNAME_LIMIT, default_limits
from sync_server.citizen import citizen_routes
from sync_server.citizen.ratelimit import Limit
from sync_server.citizen.service import CitizenService
from sync_server.couch import Couch
from sync_server.shared_limits import Backoff, SharedLimits, Window
from tests.integration.sync_server.citizen.conftest import ITEM, Clock, make_case
from tests.integration.sync_server.server_fixtures import (
    RunningServer,
    Township,
    login,
    running_server,
)
from tests.waiting import wait_for


def connection(couch: Couch) -> Callable[[], Couch]:
    """A `couch_of` for SharedLimits that always gives this one client."""
    return lambda: couch


@pytest.fixture
def two_servers(couchdb_url: str, tmp_path: Path) -> Iterator[tuple[RunningServer, RunningServer]]:
    """Two servers on one CouchDB, as two processes behind a load balancer (one data folder)."""
    with running_server(tmp_path / "data", couchdb_url) as first, \
            running_server(tmp_path / "data", couchdb_url) as second:
        yield first, second


def test_login_guesses_alternating_between_servers_are_counted_together(
    two_servers: tuple[RunningServer, RunningServer], township: Township
) -> None:
    now = time.time()
    for server in two_servers:  # no back-off runs out while the test guesses
        server.ctx.limits = default_limits()
        server.clock.frozen = now
    free = USERNAME_LIMIT.free
    try:
        answers = [login(two_servers[i % 2].url, township.agents[0], password=f"guess-{i}").status_code
                   for i in range(2 * (free + 2))]
        # One server alone allows `free` + 1 failures; two together allow the same, not twice as many.
        assert answers == [401] * (free + 1) + [429] * (len(answers) - free - 1), answers
        assert login(two_servers[1].url, township.agents[0]).status_code == 429  # the right one waits too
    finally:
        for server in two_servers:
            server.clock.frozen = None
            server.ctx.limits = default_limits()
    # After the back-off the rightful user gets in, on either server.
    wait_for(lambda: login(two_servers[0].url, township.agents[0]).status_code == 200, timeout=60,
             what="the back-off to run out")


async def test_track_code_tries_alternating_between_servers_are_counted_together(
    couchdb_url: str, make_db: Callable[..., str]
) -> None:
    village, server_db, catalog = make_db("tcv"), make_db("tcs"), make_db("tcc")
    couch = Couch(couchdb_url)
    await couch.put_doc(catalog, dict(ITEM))
    case = make_case()
    await couch.put_doc(village, case)
    from sync_server.citizen import index_case

    await index_case(couch, village, case, server_db=server_db)
    clients = []
    for _ in range(2):  # two processes: each its own service, memory and client
        service = CitizenService(couch_of=lambda: couch, signing_key=Ed25519PrivateKey.generate(),
                                 public_url="https://ot.example", server_db=server_db, catalog_db=catalog,
                                 village_prefix=village, clock=Clock(), per_address=Limit(1000, 600),
                                 backfill_interval=0)
        app = Starlette(routes=citizen_routes(service))
        clients.append(httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="https://ot.example"))
    try:
        code = case["tracking_code"]
        right = case["applicant"]["id_number"][-4:]
        first = await clients[0].post("/api/track", json={"code": code, "id_last4": right})
        assert first.status_code == 200  # a right try is not counted
        answers = []
        for i in range(10):
            wrong = await clients[i % 2].post("/api/track", json={"code": code, "id_last4": "9999"})
            answers.append(wrong.status_code)
        assert answers == [404] * 5 + [429] * 5, answers
    finally:
        for client in clients:
            await client.aclose()
        await couch.aclose()


async def test_concurrent_attempts_through_separate_clients_are_each_counted(
    couchdb_url: str, make_db: Callable[..., str]
) -> None:
    """The compare-and-set write: 12 attempts at once against a limit of 5 admit exactly 5."""
    db = make_db("lim")
    clients = [Couch(couchdb_url) for _ in range(3)]  # three processes' connections
    try:
        policy = Window("test-window", 5, 3600)
        limits = [SharedLimits(connection(c), db=db) for c in clients]
        now = time.time()
        waits = await asyncio.gather(*(limits[i % 3].admit(policy, "key", now + i * 1e-6) for i in range(12)))
        assert sum(1 for w in waits if w == 0) == 5
        backoff = Backoff("test-backoff", free=1, base=1.0, cap=30.0, forget=900.0)
        assert await limits[0].admit(backoff, "k", now) == 0
        assert await limits[1].admit(backoff, "k", now) == 0  # the second failure starts the back-off
        assert await limits[2].admit(backoff, "k", now) == pytest.approx(1.0)
        await limits[0].forgive(backoff, "k", now)  # a success clears it
        assert await limits[1].admit(backoff, "k", now) == 0
    finally:
        for client in clients:
            await client.aclose()
