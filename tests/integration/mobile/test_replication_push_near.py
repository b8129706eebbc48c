"""A push to a near engine (ADR 0151): a first push into a database never written to asks no
`_revs_diff`; any other target is asked, so nothing it holds is sent again. Both engines."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import httpx

from mobile.replication import RemoteDB, replicate
from mobile.store import LocalStore
from tests.integration.mobile.helpers import local_snapshot, make_case, payload, remote_snapshot


class Asked(httpx.AsyncBaseTransport):
    """A real HTTP transport that counts the `_revs_diff` questions (not the empty gzip probe) and
    keeps the revisions asked about."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.revs_diff = 0
        self.revs: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/_revs_diff"):
            body = await request.aread()
            if request.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            if asked := json.loads(body):
                self.revs_diff += 1
                self.revs.update(rev for revs in asked.values() for rev in revs)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _store(path: Path, cases: int, scans: int) -> LocalStore:
    store = LocalStore(path)
    for i in range(scans):
        made = store.put(make_case(700 + i))
        store.put_attachment(made["id"], made["rev"], "scan.jpg", payload(20_000, i), "image/jpeg")
    for i in range(cases):
        store.put(make_case(800 + i))
    return store


async def test_first_push_into_an_empty_database_asks_nothing_and_lands_everything(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    store = _store(tmp_path / "agent.sqlite", cases=30, scans=4)
    url = f"{couchdb_url}/{make_db('near-empty')}"
    asked = Asked()
    async with RemoteDB(url, transport=asked, inline_attachments=True) as remote:
        summary = await replicate(store, remote, batch_size=10)
    # none of the revisions it sent (pouchdb-server is still asked which ancestors of a scan's
    # document it holds, as on every push: `RemoteDB.missing_attachments`)
    sent = {row["changes"][0]["rev"] for row in store.changes(since=0, limit=100)["results"]}
    assert not asked.revs & sent
    assert summary.docs_written == 34 and not summary.doc_write_failures
    assert await remote_snapshot(url) == local_snapshot(store)  # revisions and digests

    # the next push has the target's log: it asks, and sends only the new revision
    doc = store.get(make_case(800)["_id"])
    store.put({**doc, "status": "accepted"})
    asked = Asked()
    async with RemoteDB(url, transport=asked, inline_attachments=True) as remote:
        again = await replicate(store, remote, batch_size=10)
    assert asked.revs_diff >= 1 and again.docs_written == 1
    assert await remote_snapshot(url) == local_snapshot(store)


async def test_a_database_holding_documents_is_asked_and_not_sent_them_again(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    """Another replication filled half of it (a different filter: its log is not this push's)."""
    store = _store(tmp_path / "agent.sqlite", cases=20, scans=2)
    url = f"{couchdb_url}/{make_db('near-held')}"
    half = {make_case(800 + i)["_id"] for i in range(10)} | {make_case(700)["_id"]}
    async with RemoteDB(url, inline_attachments=True) as remote:
        first = await replicate(store, remote, doc_filter=lambda d: d["_id"] in half, filter_id="half")
    assert first.docs_written == 11
    asked = Asked()
    async with RemoteDB(url, transport=asked, inline_attachments=True) as remote:
        rest = await replicate(store, remote, batch_size=10)
    assert asked.revs_diff >= 1
    assert rest.docs_written == 11 and rest.attachments_fetched == 1  # only what it lacked
    assert await remote_snapshot(url) == local_snapshot(store)


async def test_a_database_whose_documents_were_all_deleted_is_asked(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    """No live document, but it was written to: its deleted revisions are history the push must
    not overwrite blindly, so it asks."""
    store = _store(tmp_path / "agent.sqlite", cases=3, scans=0)
    url = f"{couchdb_url}/{make_db('near-deleted')}"
    async with httpx.AsyncClient() as client:
        made = (await client.put(f"{url}/gone", json={"type": "note"})).json()
        (await client.delete(f"{url}/gone", params={"rev": made["rev"]})).raise_for_status()
        assert (await client.get(url)).json()["doc_count"] == 0
    asked = Asked()
    async with RemoteDB(url, transport=asked, inline_attachments=True) as remote:
        summary = await replicate(store, remote)
    assert asked.revs_diff == 1 and summary.docs_written == 3
