"""A pulled batch's attachments come in one `_bulk_get` (ADR 0135), binary where the engine can."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

from mobile.replication import RemoteDB, replicate
from mobile.store import LocalStore
from tests.integration.mobile.helpers import local_snapshot, make_case, payload, put_docs, remote_snapshot


def _with_scan(n: int, *names: str) -> dict[str, object]:
    atts = {
        name: {
            "content_type": "image/jpeg",
            "data": base64.b64encode(payload(20_000 + i, n * 10 + i)).decode(),
        }
        for i, name in enumerate(names)
    }
    return make_case(n, _attachments=atts)


async def test_a_batch_of_scans_arrives_in_one_request(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = f"{couchdb_url}/{make_db('bulkatt')}"
    await put_docs(url, [_with_scan(n, "scan.jpg", "id.jpg") for n in range(12)] + [make_case(50)])
    store = LocalStore(tmp_path / "agent.sqlite")
    async with RemoteDB(url) as remote:
        summary = await replicate(remote, store)
        requests = remote.traffic.requests
        received = remote.traffic.bytes_received
    # binary (CouchDB's multipart) or gzipped base64 (pouchdb-server): never a third more
    scans = sum(20_000 + i for i in range(2)) * 12
    assert received < scans * 1.1 + 60_000
    assert summary.attachments_fetched == 24 and summary.docs_written == 13
    # get_local, gzip probe, _changes, _bulk_get (stubs), _bulk_get (bytes), checkpoint: not 24 GETs
    assert requests < 10
    assert local_snapshot(store) == await remote_snapshot(url)
    assert store.get_attachment(make_case(3)["_id"], "id.jpg") == payload(20_001, 31)


async def test_a_document_holding_some_attachments_gets_only_the_new_ones(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = f"{couchdb_url}/{make_db('bulkatt')}"
    revs = {r["id"]: r["rev"] for r in await put_docs(url, [_with_scan(n, "scan.jpg") for n in range(3)])}
    store = LocalStore(tmp_path / "agent.sqlite")
    async with RemoteDB(url) as remote:
        await replicate(remote, store)
        edits = []
        for n in range(3):
            doc = store.get(make_case(n)["_id"])
            doc["_attachments"]["back.jpg"] = {
                "content_type": "image/jpeg",
                "data": base64.b64encode(payload(9_000, 100 + n)).decode(),
            }
            doc["_rev"] = revs[doc["_id"]]
            edits.append(doc)
        await put_docs(url, edits)
        received = remote.traffic.bytes_received
        again = await replicate(remote, store)
        moved = remote.traffic.bytes_received - received
    assert again.attachments_fetched == 3
    assert moved < 3 * 20_000  # the scans the store held did not travel again
    assert local_snapshot(store) == await remote_snapshot(url)
    assert store.get_attachment(make_case(2)["_id"], "back.jpg") == payload(9_000, 102)
