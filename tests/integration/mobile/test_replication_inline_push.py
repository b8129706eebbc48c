"""Scans pushed base64 in `_bulk_docs` (to a near engine, ADR 0142) land exactly as binary ones do:
same digests, same `revpos`, so a later revision's stub is accepted on both engines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from mobile.replication import RemoteDB, replicate, replicator
from mobile.store import LocalStore
from tests.integration.mobile.helpers import local_snapshot, make_case, payload, remote_snapshot


def _attachments(doc: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        name: (att["digest"], att["revpos"], att["length"], att["content_type"])
        for name, att in (doc.get("_attachments") or {}).items()
    }


async def _stored(url: str, doc_id: str) -> dict[str, tuple[Any, ...]]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{url}/{doc_id}")
        response.raise_for_status()
        return _attachments(response.json())


def _agent_store(path: Path) -> tuple[LocalStore, list[str]]:
    """Cases with scans; two of them edited after their scan (revpos below the generation)."""
    store = LocalStore(path)
    ids = []
    for i in range(6):
        made = store.put(make_case(300 + i))
        store.put_attachment(made["id"], made["rev"], "scan.jpg", payload(30_000, i), "image/jpeg")
        if i < 2:
            doc = store.get(made["id"])
            doc["status"] = "submitted"
            store.put(doc)
            rev = store.get(made["id"])["_rev"]
            store.put_attachment(made["id"], rev, "back.jpg", payload(12_000, 50 + i), "image/jpeg")
        ids.append(made["id"])
    for i in range(20):
        store.put(make_case(400 + i))
    return store, ids


async def test_scans_land_as_binary_ones_do_and_later_stubs_are_accepted(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    store, ids = _agent_store(tmp_path / "agent.sqlite")
    urls = {inline: f"{couchdb_url}/{make_db('inline')}" for inline in (True, False)}
    requests = {}
    for inline, url in urls.items():
        async with RemoteDB(url, inline_attachments=inline) as remote:
            summary = await replicate(store, remote)
            requests[inline] = remote.traffic.requests
        assert summary.docs_written == 26 and not summary.doc_write_failures
        assert await remote_snapshot(url) == local_snapshot(store)  # digests included
    # inline: the scans ride in the one _bulk_docs; binary: one PUT per document with scans
    assert requests[True] < 10 <= requests[False]
    for doc_id in ids:
        # digest, revpos, length and type as the binary form stores them (Apache CouchDB keeps the
        # device's revpos, 2 for a scan added at revision 2 of a revision 4; pouchdb-server sets the
        # revision's generation either way)
        assert await _stored(urls[True], doc_id) == await _stored(urls[False], doc_id)
    assert _attachments(store.get(ids[0]))["scan.jpg"][1] == 2

    # The next revision sends its scans as stubs: refused (412 missing_stub) had revpos changed.
    for doc_id in ids:
        doc = store.get(doc_id)
        doc["status"] = "accepted"
        store.put(doc)
    for inline, url in urls.items():
        async with RemoteDB(url, inline_attachments=inline) as remote:
            again = await replicate(store, remote)
        assert again.docs_written == 6 and again.attachments_fetched == 0 and not again.doc_write_failures
        assert await remote_snapshot(url) == local_snapshot(store)
    store.close()


class CountingRemote(RemoteDB):
    """The real RemoteDB, counting the replication logs it writes."""

    logs_written = 0

    async def put_local(self, doc: dict[str, Any]) -> str:
        self.logs_written += 1
        return await super().put_local(doc)


@pytest.mark.parametrize(("near", "logs"), [(True, 1), (False, 6)])
async def test_a_near_push_writes_the_target_log_once_at_the_end_and_resumes_there(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    near: bool, logs: int
) -> None:
    monkeypatch.setattr(replicator, "NEAR_CHECKPOINT_SECONDS", 3600.0)  # no interval passes in a test
    url = f"{couchdb_url}/{make_db('nearlog')}"
    store = LocalStore(tmp_path / "agent.sqlite")
    for i in range(55):
        store.put(make_case(i))
    remote = CountingRemote(url, inline_attachments=near)
    async with remote:
        summary = await replicate(store, remote, batch_size=10)
        written = remote.logs_written
        again = await replicate(store, remote, batch_size=10)
        target_log = await remote.get_local(f"_local/{summary.replication_id}")
    # the log of a near push names the last batch, written after it was acknowledged
    assert written == logs and target_log is not None
    assert target_log["source_last_seq"] == summary.last_seq
    assert again.start_seq == summary.last_seq and again.docs_written == 0
    assert await remote_snapshot(url) == local_snapshot(store)
    store.close()
