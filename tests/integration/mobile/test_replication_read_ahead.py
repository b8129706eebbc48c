"""A pull reads a batch's revisions ahead, and a run cut meanwhile lands them (ADR 0162).

The next batches' stub `_bulk_get`s travel while a batch's scans do. When the run is cut before
the transfer stage took a batch read ahead, the revisions of it that need no byte (no attachment,
or only attachments the phone already holds) are written while the run winds down, so the next
run does not fetch them again (ADR 0135); those still lacking bytes are not written, and the
checkpoint does not move past the batch that failed.

The engine is real; a transport in front of it holds the scans' answers until the next batches'
revisions were answered, then loses every scan answer, as a link that drops would.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mobile.replication import Backoff, RemoteDB, ReplicationError, replicate
from mobile.replication.endpoint import JSON
from mobile.store import LocalStore
from tests.integration.mobile.helpers import local_snapshot, make_case, payload, put_docs, remote_snapshot

# Only bounds a test that would otherwise hang when the code under test waits for the answer it holds.
HOLD_AT_MOST_S = 30
IMPATIENT = Backoff(retries=1, initial=0.01)  # a lost answer ends the run
BATCH = 4

Rev = tuple[str, str]


def _stub_read(request: httpx.Request) -> bool:
    return request.url.path.endswith("/_bulk_get") and "attachments" not in request.url.params


def _bytes_read(request: httpx.Request) -> bool:
    if request.url.path.endswith("/_bulk_get"):
        return "attachments" in request.url.params
    return request.method == "GET" and request.url.path.endswith("/scan.jpg")


def _asked(request: httpx.Request) -> list[Rev]:
    body = request.content
    body = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
    return [(d["id"], d["rev"]) for d in json.loads(body)["docs"]]


class CutAfterReadAhead(httpx.AsyncBaseTransport):
    """The real HTTP transport. While `cutting`, scans' answers wait until `stub_reads` stub reads
    were answered, then are lost (the server answered, the phone never hears it). Records the
    revisions of every stub read answered."""

    def __init__(self, stub_reads: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.stub_reads = stub_reads
        self.cutting = True
        self.enough = asyncio.Event()
        self.gave_up = False
        self.arrived: list[list[Rev]] = []  # per stub read answered, the revisions it asked for
        self.held_answers: list[bool] = []  # per scan answer lost: had the stub reads arrived?

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if _stub_read(request):
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
            await response.aclose()
            self.arrived.append(_asked(request))
            if len(self.arrived) >= self.stub_reads:
                self.enough.set()
            return httpx.Response(
                response.status_code, headers=response.headers, content=raw, extensions=response.extensions
            )
        if self.cutting and _bytes_read(request):
            if not self.gave_up:  # waited once in vain: the code under test reads nothing ahead
                try:
                    await asyncio.wait_for(self.enough.wait(), HOLD_AT_MOST_S)
                except TimeoutError:
                    self.gave_up = True
            self.held_answers.append(self.enough.is_set())
            await response.aclose()
            raise httpx.ReadError("connection lost", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def one_shard(couchdb_url: str) -> AsyncIterator[str]:
    """A fresh database whose changes come in the order they were written (`q=1` on CouchDB; the
    embedded engine has one order anyway), so the test knows which documents share a batch."""
    url = f"{couchdb_url}/readahead-{uuid.uuid4().hex[:12]}"
    async with httpx.AsyncClient(timeout=30) as client:
        (await client.put(url, params={"q": "1"})).raise_for_status()
        yield url
        await client.delete(url)


def scanned(n: int) -> JSON:
    return make_case(
        n,
        _attachments={
            "scan.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(payload(30_000, n)).decode()}
        },
    )


async def test_a_run_cut_while_batches_are_read_ahead_lands_them_and_fetches_nothing_again(
    one_shard: str, tmp_path: Path
) -> None:
    url = one_shard
    store = LocalStore(tmp_path / "agent.sqlite")
    # The phone already holds a case and its scan; a new revision of it keeps the same scan.
    kept = scanned(900)
    await put_docs(url, [kept])
    async with RemoteDB(url) as remote:
        before = await replicate(remote, store, batch_size=BATCH)
    async with httpx.AsyncClient(timeout=30) as client:
        current = (await client.get(f"{url}/{kept['_id']}")).json()
    current["situation"] = "changed"
    # Batch 1: four scanned cases; batches 2-4: two plain cases, two more documents each (in batch
    # 3 the new revision whose scan the phone holds).
    docs = [scanned(n) for n in range(4)]
    docs += [make_case(10), make_case(11), scanned(12), scanned(13)]
    docs += [make_case(20), make_case(21), scanned(22)]
    docs += [make_case(30), make_case(31), scanned(32), scanned(33)]
    for doc in [*docs[:11], current, *docs[11:]]:  # one by one: in this order in the changes
        await put_docs(url, [doc])
    lacking_bytes = {d["_id"] for d in docs if "_attachments" in d}

    # Batch 1's scans are lost once batches 2 and 3 were read ahead.
    link = CutAfterReadAhead(stub_reads=3)
    async with RemoteDB(url, transport=link, backoff=IMPATIENT) as remote:
        with pytest.raises(ReplicationError):
            await replicate(remote, store, batch_size=BATCH)
        assert link.held_answers and all(link.held_answers)
        arrived = {rev for revs in link.arrived for rev in revs}
        # What arrived and needs no byte landed; nothing lacking bytes was written.
        landed = {rev for rev in arrived if rev[0] not in lacking_bytes}
        held = {doc_id: snap[0] for doc_id, snap in local_snapshot(store).items()}
        assert {(i, r) for i, r in landed if held.get(i) == r} == landed
        assert len(landed) >= 5  # batch 2's and 3's plain cases, and the scan the phone holds
        assert not lacking_bytes & held.keys()

        link.cutting = False
        first_read = len(link.arrived)
        after = await replicate(remote, store, batch_size=BATCH)
    # The checkpoint did not move past the batch that failed; nothing that arrived is asked again
    # but the documents still lacking their scans.
    assert after.start_seq == before.last_seq
    asked_again = {rev for revs in link.arrived[first_read:] for rev in revs}
    assert not asked_again & landed
    assert {doc_id for doc_id, _ in asked_again} == lacking_bytes
    assert local_snapshot(store) == await remote_snapshot(url)
    assert store.get_attachment(kept["_id"], "scan.jpg") == payload(30_000, 900)
