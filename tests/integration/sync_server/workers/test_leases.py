"""Leases, two runners on one database, and an outage in the middle of following."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sync_server.couch import Couch
from sync_server.workers.lease import Lease
from sync_server.workers.runner import Workers
from tests.integration.sync_server.workers.helpers import (
    caught_up,
    conflicts_only,
    edited,
    make_case,
    new_case_id,
    put_conflict,
    running,
)
from tests.integration.sync_server.workers.helpers import worker_config as config_for
from tests.waiting import wait_until


async def conflicted_cases(couch: Couch, db: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        case_id = new_case_id()
        base = make_case(case_id)
        await put_conflict(
            couch,
            db,
            base,
            edited(base, "tab-a", {"applicant.phone": f"a{i}"}),
            edited(base, "tab-b", {"notes": f"b{i}"}, offset_ms=3),
        )
        ids.append(case_id)
    return ids


async def resolved_events(couch: Couch, db: str) -> list[dict[str, Any]]:
    rows = (
        await couch.get_json(f"/{db}/_all_docs", include_docs=True, startkey="event:", endkey="event:\ufff0")
    )["rows"]
    return [r["doc"] for r in rows if r["doc"].get("kind") == "conflict_resolved"]


async def test_lease_is_exclusive_and_taken_over_when_the_holder_dies(
    couch: Couch, make_db: Callable[..., str]
) -> None:
    server_db = make_db("ot-server")
    a = Lease(couch, server_db, "ot-v-x", "holder-a", ttl=0.5)
    b = Lease(couch, server_db, "ot-v-x", "holder-b", ttl=0.5)
    assert await a.acquire()
    assert not await b.acquire()
    assert await a.renew()
    assert not await b.acquire()  # a fresh rev: the holder is alive
    # a stops renewing (dies): b takes over once the rev stood still for ttl on b's own clock.
    await wait_until(b.acquire, timeout=10, what="the take-over")
    assert not await a.renew()  # a's rev is stale: CouchDB refuses it
    assert not a.held
    await b.release()
    assert await a.acquire()  # released: free at once


async def test_two_runners_resolve_each_conflict_exactly_once(
    couch: Couch, make_db: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"ot-v-t{uuid.uuid4().hex[:8]}"
    dbs = [make_db(prefix), make_db(prefix)]
    server_db = make_db("ot-server")
    cases = {db: await conflicted_cases(couch, db, 5) for db in dbs}
    one = Workers(couch, config_for(prefix, server_db), transitions=conflicts_only)
    stop_one = asyncio.Event()
    one_task = asyncio.create_task(one.run(stop_one))
    try:
        async with running(couch, config_for(prefix, server_db), conflicts_only) as two:
            for db in dbs:
                await wait_until(
                    functools.partial(caught_up, couch, server_db, db), what=f"checkpoint of {db}"
                )
            assert one.holding.isdisjoint(two.holding)
            assert one.holding | two.holding == set(dbs)
            for db in dbs:
                assert len(await resolved_events(couch, db)) == len(cases[db])
            # One process dies without releasing its leases: the other takes over within ttl + poll.
            monkeypatch.setattr(Lease, "release", _no_release)
            one_task.cancel()
            await asyncio.gather(one_task, return_exceptions=True)
            await wait_until(lambda: _holds(two, set(dbs)), timeout=20, what="the take-over")
            more = await conflicted_cases(couch, dbs[0], 2)
            await wait_until(
                lambda: caught_up(couch, server_db, dbs[0]), what="the checkpoint after take-over"
            )
    finally:
        stop_one.set()
        one_task.cancel()
        await asyncio.gather(one_task, return_exceptions=True)
    assert len(await resolved_events(couch, dbs[0])) == len(cases[dbs[0]]) + len(more)
    assert len(await resolved_events(couch, dbs[1])) == len(cases[dbs[1]])


async def _no_release(self: Lease) -> None:
    return None


async def _holds(workers: Workers, dbs: set[str]) -> bool:
    return dbs <= workers.holding


class FlakyTransport(httpx.AsyncHTTPTransport):
    """The network to CouchDB, which the test can cut."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            self.refused += 1
            raise httpx.ConnectError("connection refused (test outage)")
        return await super().handle_async_request(request)


async def test_workers_resume_after_an_outage(
    couch: Couch, couchdb_url: str, make_db: Callable[..., str]
) -> None:
    prefix = f"ot-v-t{uuid.uuid4().hex[:8]}"
    db, server_db = make_db(prefix), make_db("ot-server")
    transport = FlakyTransport()
    flaky = Couch(couchdb_url, transport=transport)
    try:
        async with running(flaky, config_for(prefix, server_db), conflicts_only):
            await conflicted_cases(couch, db, 2)
            await wait_until(lambda: caught_up(couch, server_db, db), what="the first checkpoint")
            transport.down = True
            during = await conflicted_cases(couch, db, 2)
            await wait_until(
                lambda: asyncio.sleep(0, transport.refused >= 3), what="the outage being noticed"
            )
            transport.down = False
            await wait_until(
                lambda: caught_up(couch, server_db, db), timeout=30, what="the checkpoint after it"
            )
        assert len(during) == 2
        assert len(await resolved_events(couch, db)) == 4
    finally:
        await flaky.aclose()
