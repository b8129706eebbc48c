"""Replication between two databases of the real engine, through `RemoteDB` on both ends."""

from __future__ import annotations

import base64
from collections.abc import Callable

import httpx
import pytest

from mobile.replication import RemoteDB, Unauthorized, replicate
from tests.integration.mobile.helpers import make_case, payload, put_docs, remote_snapshot


async def seed(url: str) -> None:
    """Cases, a deletion, a conflict and an attachment, as a device would leave them."""
    docs = [make_case(i) for i in range(30)]
    scan = base64.b64encode(payload(40_000, 1)).decode()
    docs.append(make_case(99, _attachments={"scan.jpg": {"content_type": "image/jpeg", "data": scan}}))
    # By id: pouchdb-server may answer a batch with attachments out of order.
    revs = {row["id"]: row["rev"] for row in await put_docs(url, docs)}
    rev0 = revs[docs[0]["_id"]]
    await put_docs(url, [{"_id": docs[1]["_id"], "_rev": revs[docs[1]["_id"]], "_deleted": True}])
    branch = {
        **make_case(0, status="submitted"),
        "_rev": "2-bbbb",
        "_revisions": {"start": 2, "ids": ["bbbb", rev0.split("-")[1]]},
    }
    other = {
        **make_case(0, status="withdrawn"),
        "_rev": "2-aaaa",
        "_revisions": {"start": 2, "ids": ["aaaa", rev0.split("-")[1]]},
    }
    await put_docs(url, [branch, other], new_edits=False)


async def test_copies_docs_deletions_conflicts_and_attachments(
    couchdb_url: str, make_db: Callable[[str], str]
) -> None:
    source, target = f"{couchdb_url}/{make_db('src')}", f"{couchdb_url}/{make_db('tgt')}"
    await seed(source)
    async with RemoteDB(source) as src, RemoteDB(target) as tgt:
        first = await replicate(src, tgt, batch_size=7)
        again = await replicate(src, tgt, batch_size=7)
    snap = await remote_snapshot(source)
    assert await remote_snapshot(target) == snap
    assert snap[make_case(0)["_id"]][3] == ("2-aaaa",)
    assert snap[make_case(1)["_id"]][1] is True
    # 31 documents, 32 leaf revisions: case 0 carries two
    assert first.docs_written == 32 and first.attachments_fetched == 1 and first.ok
    assert again.docs_written == 0 and again.start_seq == first.last_seq
    async with httpx.AsyncClient() as client:
        got = await client.get(f"{target}/{make_case(99)['_id']}/scan.jpg")
    assert got.content == payload(40_000, 1)


async def test_new_revision_keeps_its_attachment_as_a_stub(
    couchdb_url: str, make_db: Callable[[str], str]
) -> None:
    source, target = f"{couchdb_url}/{make_db('src')}", f"{couchdb_url}/{make_db('tgt')}"
    await seed(source)
    async with RemoteDB(source) as src, RemoteDB(target) as tgt:
        await replicate(src, tgt)
        async with httpx.AsyncClient() as client:
            doc = (await client.get(f"{source}/{make_case(99)['_id']}")).json()
            doc["status"] = "submitted"
            (await client.put(f"{source}/{doc['_id']}", json=doc)).raise_for_status()
        second = await replicate(src, tgt)
    assert second.docs_written == 1 and second.attachments_fetched == 0
    assert second.bytes_received < 40_000
    assert await remote_snapshot(target) == await remote_snapshot(source)


async def test_mismatched_checkpoint_falls_back_to_the_last_common_session(
    couchdb_url: str, make_db: Callable[[str], str]
) -> None:
    source, target = f"{couchdb_url}/{make_db('src')}", f"{couchdb_url}/{make_db('tgt')}"
    await put_docs(source, [make_case(i) for i in range(5)])
    async with RemoteDB(source) as src, RemoteDB(target) as tgt:
        first = await replicate(src, tgt)
        log_id = f"_local/{first.replication_id}"
        old_target_log = await tgt.get_local(log_id)
        await put_docs(source, [make_case(i) for i in range(5, 9)])
        await replicate(src, tgt)
        assert old_target_log is not None
        # the target is "restored from a backup" taken after the first session
        await tgt.put_local({k: v for k, v in old_target_log.items() if k != "_rev"})
        await put_docs(source, [make_case(9)])
        third = await replicate(src, tgt)
    assert third.start_seq == first.last_seq
    assert third.docs_written == 1  # the 4 docs of the lost session were re-read but not re-sent
    assert await remote_snapshot(target) == await remote_snapshot(source)


async def test_wrong_password_is_unauthorized_without_retrying(
    couchdb_url: str, make_db: Callable[[str], str]
) -> None:
    name = make_db("auth")
    bad = couchdb_url.replace("admin:", "admin:wrong", 1) + f"/{name}"
    remote = RemoteDB(bad)
    with pytest.raises(Unauthorized):
        await remote.info()
    assert remote.traffic.requests == 1
    await remote.aclose()


class NoBulkGet(httpx.AsyncBaseTransport):
    """The real server, minus `_bulk_get` (as CouchDB 1.x or some proxies answer it)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/_bulk_get"):
            self.refused += 1
            return httpx.Response(405, json={"error": "method_not_allowed", "reason": "Only GET allowed"})
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_falls_back_to_open_revs_without_bulk_get(
    couchdb_url: str, make_db: Callable[[str], str]
) -> None:
    source, target = f"{couchdb_url}/{make_db('src')}", f"{couchdb_url}/{make_db('tgt')}"
    await seed(source)
    transport = NoBulkGet()
    async with RemoteDB(source, transport=transport) as src, RemoteDB(target) as tgt:
        summary = await replicate(src, tgt, batch_size=10)
        assert tgt._gzip is True  # pouchdb-server and CouchDB decode gzipped request bodies
    assert transport.refused == 1 and summary.docs_written == 32
    assert await remote_snapshot(target) == await remote_snapshot(source)
