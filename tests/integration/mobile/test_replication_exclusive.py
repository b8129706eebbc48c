"""One run per pair: a replication of the same (source, target) pair waits for the one running."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from mobile.replication import LocalDB, RemoteDB, replicate_exclusive
from mobile.replication.exclusive import pair_lock
from mobile.store import LocalStore
from tests.integration.mobile.helpers import local_snapshot, make_case, remote_snapshot
from tests.waiting import wait_until


async def test_a_pair_never_replicates_twice_at_once(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = f"{couchdb_url}/{make_db('exclusive')}"
    store = LocalStore(tmp_path / "agent.sqlite")
    store.put(make_case(1))
    # no gzip probe (sent as a client opens): every request counted below is the replication's
    async with RemoteDB(url, compress_requests=False) as remote:
        lock = await pair_lock(LocalDB(store), remote)
        async with lock:  # another run of local → remote is in progress
            push = asyncio.create_task(replicate_exclusive(LocalDB(store), remote))
            # Wait until the push is queued on the pair's lock (asyncio.Lock keeps its waiters
            # in `_waiters`; there is no public view of them), then check it did nothing yet.
            await wait_until(lambda: bool(lock._waiters) or push.done(), what="the push waiting for the pair")
            assert not push.done() and remote.traffic.requests == 0
        await push
    assert await remote_snapshot(url) == local_snapshot(store)
