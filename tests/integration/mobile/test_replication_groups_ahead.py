"""A batch's next scan group is fetched while one is written (ADR 0149); when that write fails, what
the group fetched ahead brought is still written, so the next run does not fetch it again."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mobile.replication import RemoteDB, Unreachable, replicate
from mobile.store import LocalStore
from tests.integration.mobile.helpers import (
    FailingWrites,
    local_snapshot,
    make_case,
    payload,
    put_docs,
    remote_snapshot,
)


class ScanReads(httpx.AsyncBaseTransport):
    """The real HTTP transport, counting the scans each request asked for, by document id."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.scans: Counter[str] = Counter()
        self.seen: list[str] = []  # every request and how it ended, for a failure's message

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path.endswith("/scan.jpg"):
            self.scans[path.split("/")[-2]] += 1
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as exc:
            self.seen.append(f"{request.method} {path} {exc!r}")
            raise
        self.seen.append(f"{request.method} {path} {response.status_code}")
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_group_fetched_ahead_of_a_failed_write_lands(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mobile.replication.transfer.MAX_FETCH_BYTES", 25_000)  # one scan a group
    url = f"{couchdb_url}/{make_db('ahead')}"
    docs = [
        make_case(
            300 + i,
            _attachments={
                "scan.jpg": {
                    "content_type": "image/jpeg",
                    "data": base64.b64encode(payload(20_000, i)).decode(),
                }
            },
        )
        for i in range(6)
    ]
    await put_docs(url, docs)
    store = LocalStore(tmp_path / "agent.sqlite")
    wire = ScanReads()
    async with RemoteDB(url, transport=wire) as remote:
        with pytest.raises(Unreachable):
            await replicate(remote, FailingWrites(store, fail_at=2, once=True))
        # the first group, and the third, fetched while the second's write failed (in the
        # source's order of changes, which Apache CouchDB's shards choose)
        landed = set(local_snapshot(store))
        assert len(landed) == 2, wire.seen
        rest = await replicate(remote, store)
    assert rest.docs_written == 6 - len(landed)
    assert local_snapshot(store) == await remote_snapshot(url)
    # each scan came once, but the one whose write was lost: nothing that landed travelled again
    twice = [doc_id for doc_id, n in wire.scans.items() if n > 1]
    assert len(twice) == 1 and twice[0] not in landed and wire.scans[twice[0]] == 2
    assert set(wire.scans) == {d["_id"] for d in docs} and sum(wire.scans.values()) == 7
