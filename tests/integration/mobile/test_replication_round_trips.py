"""A pull's requests overlap instead of waiting for each other (ADR 0140).

The first `_changes` is asked while the replication logs are read, from the position the first
log to arrive gives; a wrong guess is dropped, never used.

The engine is real; a transport in front of it holds one answer until another request was seen,
as a slow link would, and records whether it was.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import httpx

from mobile.replication import LocalDB, RemoteDB, replicate
from mobile.replication.checkpoint import replication_id
from mobile.store import LocalStore
from tests.integration.mobile.helpers import local_snapshot, make_case, put_docs, remote_snapshot

# Only bounds a test that would otherwise hang when the code under test waits for the answer it holds.
HOLD_AT_MOST_S = 30


class HoldUntil(httpx.AsyncBaseTransport):
    """The real HTTP transport; answers matching `held` wait until `awaited` requests were sent."""

    def __init__(self, held: Callable[[httpx.Request], bool], awaited: Callable[[httpx.Request], bool],
                 count: int = 1) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.held, self.awaited, self.count = held, awaited, count
        self.seen = 0
        self.enough = asyncio.Event()
        self.held_answers: list[bool] = []  # per held answer: had the awaited requests been sent?

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.awaited(request):
            self.seen += 1
            if self.seen >= self.count:
                self.enough.set()
        response = await self.inner.handle_async_request(request)
        if self.held(request):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.enough.wait(), HOLD_AT_MOST_S)
            self.held_answers.append(self.enough.is_set())
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _checkpoint_read(request: httpx.Request) -> bool:
    return request.method == "GET" and "/_local/" in request.url.path


def _changes(request: httpx.Request) -> bool:
    return request.url.path.endswith("/_changes")


async def test_the_first_changes_travel_with_the_checkpoint_read(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = f"{couchdb_url}/{make_db('rtt')}"
    await put_docs(url, [make_case(i) for i in range(12)])
    store = LocalStore(tmp_path / "agent.sqlite")
    link = HoldUntil(_checkpoint_read, _changes)
    async with RemoteDB(url, transport=link) as remote:
        first = await replicate(remote, store)
        await put_docs(url, [make_case(i) for i in range(12, 15)])
        link.enough.clear()
        link.seen = 0
        # a device that synced before: its own log says where to ask from, the server's confirms it
        again = await replicate(remote, store)
    assert link.held_answers == [True, True]
    assert first.docs_written == 12 and again.docs_written == 3
    assert again.start_seq == first.last_seq
    assert local_snapshot(store) == await remote_snapshot(url)


async def test_a_wrong_guess_of_where_to_resume_is_dropped(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    """The attack: a phone restored from a backup holds a log saying "up to seq X" but not the
    documents, and the server lost its log. Resuming from the phone's guess would skip them all."""
    url = f"{couchdb_url}/{make_db('rtt')}"
    await put_docs(url, [make_case(i) for i in range(20)])
    synced = LocalStore(tmp_path / "synced.sqlite")
    restored = LocalStore(tmp_path / "restored.sqlite")
    async with RemoteDB(url) as remote:
        summary = await replicate(remote, synced)
        server = await remote.identity()
        synced_id = f"_local/{replication_id(server, await LocalDB(synced).identity())}"
        restored_id = f"_local/{replication_id(server, await LocalDB(restored).identity())}"
    # the restored phone's log says "up to the last seq"; the server holds no log of this replication
    phone_log = {k: v for k, v in synced.get(synced_id).items() if k not in ("_id", "_rev")}
    restored.put({**phone_log, "_id": restored_id})
    assert phone_log["source_last_seq"] == summary.last_seq
    link = HoldUntil(_checkpoint_read, _changes)  # the phone's log arrives first: its guess is asked
    async with RemoteDB(url, transport=link) as remote:
        again = await replicate(remote, restored)
    assert summary.docs_written == 20 and link.held_answers == [True]
    assert again.start_seq == 0 and again.docs_written == 20
    assert local_snapshot(restored) == await remote_snapshot(url)


def _revs_diff_of_documents(request: httpx.Request) -> bool:
    """A `_revs_diff` that asks about documents (not the empty one probing for gzip)."""
    return request.url.path.endswith("/_revs_diff") and len(request.content) > 40


async def test_a_push_asks_its_first_revs_diff_while_the_server_log_travels(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    """On a push the phone's own log arrives first: the first page and its `_revs_diff` go out on
    its word, while the server's log and the gzip probe are still on the way (ADR 0159)."""
    url = f"{couchdb_url}/{make_db('rtt-push')}"
    store = LocalStore(tmp_path / "agent.sqlite")
    for i in range(40):  # a `_revs_diff` body past the size that is gzipped
        store.put(make_case(i))

    def log_or_probe(request: httpx.Request) -> bool:
        return _checkpoint_read(request) or (
            request.url.path.endswith("/_revs_diff") and not _revs_diff_of_documents(request)
        )

    link = HoldUntil(log_or_probe, _revs_diff_of_documents)
    # as through the gateway: a far target (to a near one the reader asks once the logs are in)
    async with RemoteDB(url, transport=link, inline_attachments=False) as remote:
        first = await replicate(store, remote)
        for i in range(40, 43):
            store.put(make_case(i))
        link.enough.clear()
        link.seen = 0
        again = await replicate(store, remote)
    assert link.held_answers == [True, True, True]  # the log and the probe, then the log
    assert first.docs_written == 40 and again.docs_written == 3
    assert again.start_seq == first.last_seq
    assert local_snapshot(store) == await remote_snapshot(url)


def _bulk_docs(request: httpx.Request) -> bool:
    return request.url.path.endswith("/_bulk_docs")


async def test_a_push_writes_the_next_batch_before_the_last_answer_arrives(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    """Batch k+1 goes out while batch k's answer is on its way back; checkpoints still follow
    the answers in order (ADR 0159)."""
    url = f"{couchdb_url}/{make_db('rtt-writes')}"
    store = LocalStore(tmp_path / "agent.sqlite")
    for i in range(12):
        store.put(make_case(i))
    answers: list[str] = []

    def first_write(request: httpx.Request) -> bool:
        answers.append(request.url.path)
        return _bulk_docs(request) and sum(1 for a in answers if a.endswith("/_bulk_docs")) == 1

    link = HoldUntil(first_write, _bulk_docs, count=2)
    async with RemoteDB(url, transport=link, compress_requests=False) as remote:
        summary = await replicate(store, remote, batch_size=5)
        log = await remote.get_local(f"_local/{summary.replication_id}")
    assert link.held_answers == [True]
    assert summary.docs_written == 12
    assert log is not None and log["source_last_seq"] == summary.last_seq
    assert local_snapshot(store) == await remote_snapshot(url)
