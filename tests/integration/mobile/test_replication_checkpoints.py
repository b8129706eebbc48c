"""Checkpoints written alongside the batches (ADR 0135): the source's log may run ahead, never the resume.

The source's replication log is written while a batch travels; the target's only after the batch
landed, and only the target's says where the next run starts. A write that fails after the source
recorded its batch must not make the next run skip that batch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mobile.replication import LocalDB, RemoteDB, Unreachable, replicate, replicator
from mobile.store import LocalStore
from tests.integration.mobile.helpers import (
    FailingWrites,
    local_snapshot,
    make_case,
    put_docs,
    remote_snapshot,
)


async def test_a_batch_the_source_recorded_but_the_target_lost_is_pulled_again(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = f"{couchdb_url}/{make_db('ckpt')}"
    await put_docs(url, [make_case(i) for i in range(30)])
    store = LocalStore(tmp_path / "agent.sqlite")
    # not near: the source's log is written with every batch (from a near engine, see below)
    async with RemoteDB(url, inline_attachments=False) as remote:
        with pytest.raises(Unreachable):
            await replicate(remote, FailingWrites(store, fail_at=2), batch_size=10)
        written = len(local_snapshot(store))
        rep_id = await _replication_log_id(remote, store)
        source_log = await remote.get_local(rep_id)
        target_log = store.get(rep_id)
        # the source recorded more batches than the target took: it is written ahead
        assert source_log is not None and source_log["session_id"] == target_log["session_id"]
        assert _seq_number(source_log["source_last_seq"]) > _seq_number(target_log["source_last_seq"])
        rest = await replicate(remote, store, batch_size=10)
    assert written == 10
    assert rest.start_seq == target_log["source_last_seq"] and rest.docs_written == 20
    assert local_snapshot(store) == await remote_snapshot(url)


class LogWrites(httpx.AsyncBaseTransport):
    """The real HTTP transport, counting writes of `_local/` documents."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.puts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and "/_local/" in request.url.path:
            self.puts += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize(("near", "source_writes"), [(True, 1), (False, 3)])
async def test_a_near_source_gets_its_log_once_and_the_resume_still_follows_the_target(
    couchdb_url: str,
    make_db: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    near: bool,
    source_writes: int,
) -> None:
    """From a near engine the source's log, which only names the session, is written for the first
    batch, then every NEAR_CHECKPOINT_SECONDS (ADR 0149; here: never again). The next run still
    starts where the target's log says, past the source's."""
    monkeypatch.setattr(replicator, "NEAR_CHECKPOINT_SECONDS", 3600.0)
    url = f"{couchdb_url}/{make_db('ckpt')}"
    await put_docs(url, [make_case(i) for i in range(30)])
    store = LocalStore(tmp_path / "agent.sqlite")
    wire = LogWrites()
    async with RemoteDB(url, transport=wire, inline_attachments=near) as remote:
        with pytest.raises(Unreachable):
            await replicate(remote, FailingWrites(store, fail_at=3), batch_size=10)
        rep_id = await _replication_log_id(remote, store)
        source_log = await remote.get_local(rep_id)
        target_log = store.get(rep_id)
        assert wire.puts == source_writes
        assert source_log is not None and source_log["session_id"] == target_log["session_id"]
        assert _seq_number(target_log["source_last_seq"]) == 20
        rest = await replicate(remote, store, batch_size=10)
    assert len(local_snapshot(store)) == 30
    assert rest.start_seq == target_log["source_last_seq"] and rest.docs_written == 10
    assert local_snapshot(store) == await remote_snapshot(url)


async def test_both_logs_name_the_last_batch_after_a_push(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = f"{couchdb_url}/{make_db('ckpt')}"
    store = LocalStore(tmp_path / "agent.sqlite")
    for i in range(25):
        store.put(make_case(i))
    async with RemoteDB(url) as remote:
        summary = await replicate(store, remote, batch_size=10)
        again = await replicate(store, remote, batch_size=10)
        rep_id = f"_local/{summary.replication_id}"
        source_log, target_log = store.get(rep_id), await remote.get_local(rep_id)
    assert target_log is not None
    assert source_log["source_last_seq"] == target_log["source_last_seq"] == summary.last_seq
    assert again.start_seq == summary.last_seq and again.docs_written == 0
    assert local_snapshot(store) == await remote_snapshot(url)


async def _replication_log_id(remote: RemoteDB, store: LocalStore) -> str:
    from mobile.replication.checkpoint import replication_id

    return f"_local/{replication_id(await remote.identity(), await LocalDB(store).identity())}"


def _seq_number(seq: object) -> int:
    """The leading number of a seq: an int on pouchdb-server, "N-…" on Apache CouchDB."""
    return int(str(seq).split("-", 1)[0])
