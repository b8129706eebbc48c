"""Continuous sync: runs when woken, reports its state, never runs a pair twice at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from mobile.replication import LocalDB, RemoteDB
from mobile.replication.live import LiveSync, Remote, SyncState, pair_lock
from mobile.store import LocalStore
from tests.integration.mobile.helpers import local_snapshot, make_case, put_docs, remote_snapshot
from tests.waiting import wait_until


async def test_network_up_triggers_a_round_and_state_follows(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = f"{couchdb_url}/{make_db('live')}"
    await put_docs(url, [make_case(50)])
    store = LocalStore(tmp_path / "agent.sqlite")
    states: list[SyncState] = []
    async with RemoteDB(url) as remote:
        live = LiveSync(store, [Remote(remote)], interval=3600, on_state=states.append)
        live.start()
        await wait_until(lambda: live.state.last_sync is not None, timeout=20)
        store.put(make_case(1))
        assert store.pending_count(0) > 0
        seen = len(states)
        live.notify_network_up()
        await wait_until(lambda: any(s.running for s in states[seen:]) and not live.state.running, timeout=20)
        assert live.state.pending == 0
        await live.stop()
    assert local_snapshot(store) == await remote_snapshot(url)
    assert any(s.running for s in states) and states[-1].last_error is None


async def test_what_a_round_pulled_is_not_counted_as_waiting_to_sync(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = f"{couchdb_url}/{make_db('live')}"
    await put_docs(url, [make_case(n) for n in range(20)])
    store = LocalStore(tmp_path / "agent.sqlite")
    async with RemoteDB(url) as remote:
        live = LiveSync(store, [Remote(remote)], interval=3600)
        live.start()
        await wait_until(lambda: live.state.last_sync is not None and not live.state.running, timeout=20)
        await live.stop()
    assert store.info()["doc_count"] == 20
    assert live.state.pending == 0


async def test_a_pair_never_replicates_twice_at_once(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = f"{couchdb_url}/{make_db('live')}"
    store = LocalStore(tmp_path / "agent.sqlite")
    store.put(make_case(1))
    async with RemoteDB(url) as remote:
        live = LiveSync(store, [Remote(remote)], interval=3600)
        lock = await pair_lock(LocalDB(store), remote)
        async with lock:  # another run of local → remote is in progress
            round_ = asyncio.create_task(live.sync_once())
            await asyncio.sleep(0.2)  # give the round every chance to (wrongly) start
            assert not round_.done() and remote.traffic.requests == 0
        await round_
    assert await remote_snapshot(url) == local_snapshot(store)
