"""Replication between the local SQLite store and the real engine, both ways, and store to store."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from mobile.replication import Cancelled, LocalDB, RemoteDB, replicate
from mobile.replication.endpoint import AttachmentRef
from mobile.store import LocalStore
from tests.integration.mobile.helpers import local_snapshot, make_case, payload, put_docs, remote_snapshot
from tests.integration.mobile.test_replication_remote import seed


def seed_local(store: LocalStore) -> None:
    """Cases, an edit, a deletion, an attachment and a conflict written on a device."""
    for i in range(20):
        store.put(make_case(i))
    doc = store.get(make_case(0)["_id"])
    store.put({**doc, "status": "submitted"})
    gone = store.get(make_case(1)["_id"])
    store.remove(gone["_id"], gone["_rev"])
    scan = store.get(make_case(2)["_id"])
    store.put_attachment(scan["_id"], scan["_rev"], "signature.png", payload(30_000, 7), "image/png")
    base = store.get(make_case(3)["_id"])["_rev"].split("-")[1]
    store.bulk_docs(
        [
            {
                **make_case(3, status=status),
                "_rev": f"2-{tag}",
                "_revisions": {"start": 2, "ids": [tag, base]},
            }
            for status, tag in (("withdrawn", "ffff"), ("submitted", "eeee"))
        ],
        new_edits=False,
    )


async def test_pull_into_the_local_store(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = f"{couchdb_url}/{make_db('pull')}"
    await seed(url)
    store = LocalStore(tmp_path / "agent.sqlite")
    seen: list[tuple[int, int]] = []
    async with RemoteDB(url) as remote:
        summary = await replicate(remote, store, batch_size=8, progress=lambda d, b: seen.append((d, b)))
        again = await replicate(remote, store)
    assert local_snapshot(store) == await remote_snapshot(url)
    assert summary.conflicts_seen == 1 and summary.attachments_fetched == 1
    assert again.docs_written == 0
    assert store.get_attachment(make_case(99)["_id"], "scan.jpg") == payload(40_000, 1)
    assert len(seen) == 4 and seen == sorted(seen) and seen[-1][0] == summary.docs_written
    assert seen[-1][1] == summary.bytes_sent + summary.bytes_received > 40_000


async def test_cancel_stops_after_a_batch_and_the_next_run_resumes(
        couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path) -> None:
    url = f"{couchdb_url}/{make_db('cancel')}"
    await put_docs(url, [make_case(i) for i in range(30)])
    store = LocalStore(tmp_path / "agent.sqlite")
    cancel = asyncio.Event()
    async with RemoteDB(url) as remote:
        with pytest.raises(Cancelled):
            await replicate(remote, store, batch_size=10, cancel=cancel, progress=lambda d, b: cancel.set())
        rest = await replicate(remote, store, batch_size=10)
    # Resumed after the first checkpoint; the batch the transfer stage was already writing when
    # the cancel came may have landed, so fewer (possibly no) documents are left to write.
    assert rest.start_seq != 0 and rest.docs_written < 30
    assert local_snapshot(store) == await remote_snapshot(url)


async def test_push_from_the_local_store(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = f"{couchdb_url}/{make_db('push')}"
    store = LocalStore(tmp_path / "agent.sqlite")
    seed_local(store)
    async with RemoteDB(url) as remote:
        summary = await replicate(store, remote, batch_size=6)
        scan = store.get(make_case(2)["_id"])
        store.put({**scan, "status": "submitted"})  # new revision, same attachment
        second = await replicate(store, remote)
        got = await remote.get_attachment(
            AttachmentRef(scan["_id"], store.get(scan["_id"])["_rev"], "signature.png", "")
        )
    assert await remote_snapshot(url) == local_snapshot(store)
    assert summary.conflicts_seen == 1 and summary.attachments_fetched == 1
    assert second.attachments_fetched == 0 and second.bytes_sent < 30_000
    assert got == payload(30_000, 7)


async def test_store_to_store_through_the_server_keeps_conflicts(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    """Two devices edit the same case offline; after syncing both hold both leaves, same winner."""
    url = f"{couchdb_url}/{make_db('two')}"
    a, b = LocalStore(tmp_path / "a.sqlite"), LocalStore(tmp_path / "b.sqlite")
    a.put(make_case(1))
    async with RemoteDB(url) as remote:
        await replicate(a, remote)
        await replicate(remote, b)
        a.put({**a.get(make_case(1)["_id"]), "status": "submitted"})
        b.put({**b.get(make_case(1)["_id"]), "status": "withdrawn"})
        for _ in range(2):
            await replicate(a, remote)
            await replicate(b, remote)
            await replicate(remote, a)
            await replicate(remote, b)
    snap = local_snapshot(a)
    assert snap == local_snapshot(b) == await remote_snapshot(url)
    assert len(snap[make_case(1)["_id"]][3]) == 1


async def test_local_to_local(tmp_path: Path) -> None:
    a, b = LocalStore(tmp_path / "a.sqlite"), LocalStore(tmp_path / "b.sqlite")
    seed_local(a)
    summary = await replicate(LocalDB(a), LocalDB(b))
    assert local_snapshot(a) == local_snapshot(b)
    assert summary.attachments_fetched == 1 and summary.bytes_sent == 0
    assert b.get_attachment(make_case(2)["_id"], "signature.png") == payload(30_000, 7)


async def test_big_attachment_base64_round_trip(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    """An attachment uploaded inline (base64) by another client arrives byte-identical."""
    url = f"{couchdb_url}/{make_db('b64')}"
    data = payload(200_000, 3)
    await put_docs(
        url,
        [
            make_case(
                5,
                _attachments={
                    "a-1.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(data).decode()}
                },
            )
        ],
    )
    store = LocalStore(tmp_path / "agent.sqlite")
    async with RemoteDB(url) as remote:
        await replicate(remote, store)
    assert store.get_attachment(make_case(5)["_id"], "a-1.jpg") == data


async def test_attachment_heavy_batches_go_in_bounded_groups(
        couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With groups of one scan (one written while the next is fetched), a batch of scans still arrives
    whole, both ways."""
    monkeypatch.setattr("mobile.replication.transfer.MAX_FETCH_BYTES", 25_000)
    url = f"{couchdb_url}/{make_db('groups')}"
    scans = {make_case(200 + i)["_id"]: payload(20_000, 40 + i) for i in range(6)}
    await put_docs(url, [make_case(200 + i, _attachments={"scan.jpg": {
        "content_type": "image/jpeg", "data": base64.b64encode(scans[make_case(200 + i)["_id"]]).decode()}})
        for i in range(6)])
    store = LocalStore(tmp_path / "agent.sqlite")
    async with RemoteDB(url) as remote:
        pulled = await replicate(remote, store)
    back = f"{couchdb_url}/{make_db('groups')}"
    async with RemoteDB(back) as remote:
        pushed = await replicate(store, remote)
    assert pulled.attachments_fetched == pushed.attachments_fetched == 6
    assert pulled.docs_written == pushed.docs_written == 6
    assert {doc_id: store.get_attachment(doc_id, "scan.jpg") for doc_id in scans} == scans
    assert await remote_snapshot(back) == local_snapshot(store) == await remote_snapshot(url)
