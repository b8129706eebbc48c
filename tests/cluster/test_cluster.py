"""A three-node Apache CouchDB cluster behind two server processes: nothing lost, nothing done twice.

- two devices sync through two server processes (each on its own node) while a node is stopped
  in the middle of a sync and started again;
- the workers run in both processes: each conflict is resolved once and each county hand-off is
  sent once while a node is down;
- new village databases are discovered through `_db_updates`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from mobile.replication import ReplicationError, replicate
from sync_server.couch import Couch
from sync_server.provision import provision
from sync_server.workers.discovery import Discovery
from tests.cluster.conftest import Cluster
from tests.integration.e2e_helpers import ServerStack, case_events, phone, server_stack
from tests.integration.sync_server.server_fixtures import Township, make_township
from tests.integration.sync_server.workers.helpers import edited, make_case, new_case_id, put_conflict
from tests.integration.test_e2e_conflicts import staff_forward, submitted_case
from tests.waiting import wait_until

pytestmark = pytest.mark.cluster

CASES = 40  # enough batches of 2 that a node can be stopped while the push is still going


@pytest.fixture(scope="module")
async def township(couchdb_url: str) -> Township:
    return await make_township(couchdb_url)


@pytest.fixture(scope="module")
def stacks(cluster: Cluster, township: Township,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerStack, ServerStack]]:
    """Two server processes sharing one data folder (its secrets), each on its own node."""
    data = tmp_path_factory.mktemp("servers") / "data"
    data.mkdir()
    db = township.dbs[0]
    with server_stack(cluster.url(0), data, db, (db,)) as first, \
            server_stack(cluster.url(1), data, db, (db,)) as second:
        yield first, second


@pytest.fixture
async def couch(cluster: Cluster) -> AsyncIterator[Couch]:
    client = Couch(cluster.url(0))
    yield client
    await client.aclose()


async def count_cases(couch: Couch, db: str) -> int:
    rows = (await couch.get_json(f"/{db}/_all_docs", startkey="case:", endkey="case:\ufff0"))["rows"]
    return len(rows)


async def test_two_devices_through_two_servers_while_nodes_restart(
    cluster: Cluster, stacks: tuple[ServerStack, ServerStack], township: Township, couch: Couch,
    tmp_path: Path,
) -> None:
    first, second = stacks
    db = township.dbs[0]
    agent = await phone(first.url, tmp_path / "agent", township.agents[0], f"cl-agent-{township.code}")
    ids = [submitted_case(agent, township.villages[0]) for _ in range(CASES)]
    total = agent.store.info()["doc_count"]  # each case and its events

    # The agent pushes through the first server; the third node stops in the middle of it.
    push = asyncio.create_task(replicate(agent.store, agent.remote, batch_size=2))
    await wait_until(lambda: count_cases(couch, db), what="the first cases on the server")
    assert not push.done(), "the push ended before the node could be stopped: raise CASES"
    await asyncio.to_thread(cluster.stop, 2)
    pushed = await push
    assert pushed.ok and pushed.docs_written == total  # each document once
    again = await replicate(agent.store, agent.remote)
    assert again.docs_written == 0

    # A second phone pulls through the second server; its node stops mid-pull and starts again.
    other = await phone(second.url, tmp_path / "other", township.agents[0], f"cl-other-{township.code}")
    written = 0
    pull = asyncio.create_task(replicate(other.remote, other.store, batch_size=4))
    await wait_until(lambda: other.store.info()["doc_count"] > 0 or pull.done(),
                     what="the pull's first batch")
    await asyncio.to_thread(cluster.stop, 1)
    await asyncio.to_thread(cluster.start, 1)
    with contextlib.suppress(ReplicationError):  # the outage outlasted the device's retries:
        written += (await pull).docs_written  # it resumes at the next sync
    await asyncio.to_thread(cluster.start, 2)
    written += (await replicate(other.remote, other.store)).docs_written
    # Batches written but not checkpointed before an error are not written again (`_revs_diff`).
    assert written == total
    for case_id in ids:
        doc = other.store.get(case_id, conflicts=True)
        assert "_conflicts" not in doc and len(doc["_attachments"]) == 4
        assert other.store.get_attachment(case_id, "id_card-1.jpg")

    # Every node holds every case, each with one leaf: the restarted nodes caught up.
    for i in range(3):
        node = Couch(cluster.url(i))
        try:
            await wait_until(functools.partial(_all_on, node, db, ids),
                             timeout=60, what=f"every case on node {i + 1}")
        finally:
            await node.aclose()


async def _all_on(node: Couch, db: str, ids: list[str]) -> bool:
    rows = (await node.request("POST", f"/{db}/_all_docs", json_body={"keys": ids})).json()["rows"]
    if any("error" in row or row.get("value", {}).get("deleted") for row in rows):
        return False
    docs = [await node.get_doc(db, i, conflicts=True) for i in ids]
    return all(doc is not None and "_conflicts" not in doc for doc in docs)


async def test_workers_in_both_processes_do_each_job_once_while_a_node_is_down(
    cluster: Cluster, stacks: tuple[ServerStack, ServerStack], township: Township, couch: Couch,
    tmp_path: Path,
) -> None:
    first, second = stacks
    db = township.dbs[0]
    await asyncio.to_thread(cluster.stop, 2)
    try:
        conflicted = []
        for i in range(5):
            case_id = new_case_id()
            base = make_case(case_id)
            await put_conflict(couch, db, base, edited(base, "tab-a", {"applicant.phone": f"a{i}"}),
                               edited(base, "tab-b", {"notes": f"b{i}"}, offset_ms=3))
            conflicted.append(case_id)
        agent = await phone(first.url, tmp_path / "agent", township.agents[0], f"cl-agent2-{township.code}")
        forwarded = [submitted_case(agent, township.villages[0]) for _ in range(3)]
        assert (await agent.push()).ok
        for case_id in forwarded:
            await staff_forward(tmp_path / f"staff-{case_id[-6:]}", second, township, case_id)

        async def resolved() -> bool:
            for case_id in conflicted:
                doc = await couch.get_doc(db, case_id, conflicts=True)
                if doc is None or "_conflicts" in doc:
                    return False
            return True

        await wait_until(resolved, timeout=90, what="every conflict merged")

        async def handed_off() -> bool:
            docs = [await couch.get_doc(db, case_id) for case_id in forwarded]
            return all(doc is not None and doc.get("county_ref") for doc in docs)

        await wait_until(handed_off, timeout=90, what="every forwarded case acknowledged by the county")

        # Read the events while the third node is still down: a node that has just restarted
        # serves `_all_docs` from shard copies internal replication has not caught up yet.
        for case_id in conflicted:
            kinds = [e["kind"] for e in await case_events(couch, db, case_id)]
            assert kinds.count("conflict_resolved") == 1, (case_id, kinds)
        for case_id in forwarded:
            kinds = [e["kind"] for e in await case_events(couch, db, case_id)]
            assert kinds.count("county_ack") == 1, (case_id, kinds)
    finally:
        await asyncio.to_thread(cluster.start, 2)

    received: list[str] = []
    requests = 0
    for stack in stacks:
        answer = httpx.get(f"{stack.county}/sim/cases", timeout=10).json()
        received += [c["case_id"] for c in answer["cases"]]
        requests += answer["requests"]
    assert sorted(received) == sorted(forwarded)  # each case reached one county simulator, once
    assert requests == len(forwarded)  # and no hand-off was sent a second time


async def test_new_village_databases_are_announced_by_db_updates(cluster: Cluster) -> None:
    watcher, creator = Couch(cluster.url(1)), Couch(cluster.url(0))
    try:
        await provision(watcher)
        prefix = f"ot-v-c{uuid.uuid4().hex[:8]}"
        discovery = Discovery(watcher, prefix, poll=3600)  # a poll would never come in time
        assert await discovery.databases() == []
        assert discovery.follows_feed
        waiting = asyncio.create_task(discovery.wait())
        await creator.create_db(prefix + "001")
        await asyncio.wait_for(waiting, timeout=60)
        assert await discovery.databases() == [prefix + "001"]
    finally:
        await watcher.aclose()
        await creator.aclose()
