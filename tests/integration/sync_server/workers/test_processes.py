"""Two real worker processes on one engine: each conflict resolved once; kill -9 one, the other takes over."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sync_server.couch import Couch
from tests.integration.sync_server.workers.helpers import caught_up
from tests.integration.sync_server.workers.test_leases import conflicted_cases, resolved_events
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def spawn(couchdb_url: str, tmp_path: Path) -> Iterator[Callable[[str, str], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(prefix: str, server_db: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "COUCHDB_URL": couchdb_url,
            "ONETRIP_DATA": str(tmp_path),
            "ONETRIP_WORKERS_PREFIX": prefix,
            "ONETRIP_WORKERS_SERVER_DB": server_db,
            "ONETRIP_WORKERS_LEASE_TTL": "2",
            "ONETRIP_WORKERS_POLL": "0.3",
        }
        log = (tmp_path / f"workers-{len(started)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "sync_server.workers"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


async def test_two_processes_then_one_is_killed(
    couch: Couch, make_db: Callable[..., str], spawn: Callable[[str, str], subprocess.Popen[bytes]]
) -> None:
    prefix = f"ot-v-p{uuid.uuid4().hex[:8]}"
    dbs = [make_db(prefix), make_db(prefix)]
    server_db = make_db("ot-server")
    cases = {db: await conflicted_cases(couch, db, 4) for db in dbs}
    processes = [spawn(prefix, server_db), spawn(prefix, server_db)]
    for db in dbs:
        await wait_until(
            functools.partial(caught_up, couch, server_db, db), timeout=60, what=f"checkpoint of {db}"
        )
        assert len(await resolved_events(couch, db)) == len(cases[db])
    lease = await couch.get_doc(server_db, f"lease:{dbs[0]}")
    assert lease is not None
    holder_pid = int(str(lease["holder"]).split(":")[1])
    victim = next(p for p in processes if p.pid == holder_pid)
    victim.kill()  # SIGKILL: no clean release of its leases
    victim.wait(timeout=10)
    more = await conflicted_cases(couch, dbs[0], 3)

    async def taken_over() -> bool:
        doc = await couch.get_doc(server_db, f"lease:{dbs[0]}")
        return doc is not None and int(str(doc["holder"]).split(":")[1]) != holder_pid

    await wait_until(taken_over, timeout=30, what="the take-over")
    await wait_until(lambda: caught_up(couch, server_db, dbs[0]), timeout=30, what="the checkpoint after it")
    assert len(await resolved_events(couch, dbs[0])) == len(cases[dbs[0]]) + len(more)
