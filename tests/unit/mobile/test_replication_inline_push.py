"""Pushing scans to a near server (ADR 0142): base64 in `_bulk_docs` with the digest and revpos the
device holds, chosen only for a server whose round trip is a loopback's or a LAN's; the batch's
scans read from the local store in one query."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from mobile.replication import RemoteDB
from mobile.replication.local import LocalDB
from mobile.replication.multipart import encode_inline
from mobile.replication.remote import INLINE_BYTES, NEAR_RTT
from mobile.store import LocalStore
from mobile.store.attachments import digest_of


def test_inline_form_keeps_digest_and_revpos_and_leaves_stubs() -> None:
    data = bytes(range(256)) * 8
    stub = {"stub": True, "digest": "md5-old", "revpos": 1, "content_type": "image/png", "length": 3}
    doc: dict[str, Any] = {
        "_id": "case:1",
        "_rev": "3-c",
        "_attachments": {
            "scan.jpg": {"content_type": "image/jpeg", "data": data, "revpos": 2, "length": len(data)},
            "old.png": stub,
        },
    }
    sent = encode_inline(doc)
    scan = sent["_attachments"]["scan.jpg"]
    assert base64.b64decode(scan["data"]) == data
    assert scan["digest"] == digest_of(data) and scan["revpos"] == 2  # as held, not the doc's generation
    assert sent["_attachments"]["old.png"] == stub
    assert isinstance(doc["_attachments"]["scan.jpg"]["data"], bytes)  # not changed
    plain = {"_id": "case:2", "_rev": "1-a"}
    assert encode_inline(plain) is plain


@pytest.mark.parametrize(
    ("configured", "rtt", "near"),
    [
        (None, None, False),
        (None, NEAR_RTT / 10, True),
        (None, NEAR_RTT * 12, False),
        (False, 0.0, False),
        (True, 1.0, True),
    ],
)
def test_scans_go_inline_only_to_a_near_server_or_when_configured(
    configured: bool | None, rtt: float | None, near: bool
) -> None:
    remote = RemoteDB("http://h/db", inline_attachments=configured)
    remote.rtt = rtt
    assert remote.near() is near


def test_through_the_gateway_scans_stay_binary_however_near() -> None:
    remote = RemoteDB("http://gw/sync/db", token="t")
    remote.rtt = 0.0001
    assert remote.near() is False
    asked = RemoteDB("http://gw/sync/db", token="t", inline_attachments=True)
    assert asked.near() is True


def _scan_doc(n: int, size: int) -> dict[str, object]:
    data = bytes([n % 256]) * size
    return {
        "_id": f"case:{n}",
        "_rev": "1-a",
        "_revisions": {"start": 1, "ids": ["a"]},
        "_attachments": {"scan.jpg": {"content_type": "image/jpeg", "data": data, "revpos": 1}},
    }


@pytest.mark.parametrize(("inline", "bulk_posts", "puts"), [(True, 3, 0), (False, 1, 5)])
async def test_near_push_sends_scans_in_bulk_groups_not_gzipped(
    inline: bool, bulk_posts: int, puts: int
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("_revs_diff"):
            return httpx.Response(200, json={})
        seen.append(request)
        return httpx.Response(201, json=[] if request.method == "POST" else {"ok": True})

    size = INLINE_BYTES // 2 - 1000  # two per group
    docs = [_scan_doc(n, size) for n in range(5)] + [{"_id": "case:p", "_rev": "1-b", "pad": "x" * 2000}]
    async with RemoteDB(
        "http://h/db", transport=httpx.MockTransport(handler), inline_attachments=inline
    ) as remote:
        assert await remote.write_docs(docs) == []
    posts = [r for r in seen if r.method == "POST"]
    assert (len(posts), sum(r.method == "PUT" for r in seen)) == (bulk_posts, puts)
    if inline:
        assert all("Content-Encoding" not in r.headers for r in posts)
        sent = [d for r in posts for d in json.loads(r.content)["docs"]]
        assert sorted(d["_id"] for d in sent) == sorted(str(d["_id"]) for d in docs)
        scan = next(d for d in sent if d["_id"] == "case:3")["_attachments"]["scan.jpg"]
        assert base64.b64decode(scan["data"]) == bytes([3]) * size and scan["revpos"] == 1


async def test_a_missing_stub_row_in_an_inline_bulk_is_raised_for_a_resend() -> None:
    from mobile.replication.errors import MissingStub

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json=[{"id": "case:1", "error": "missing_stub", "reason": "no att"}])

    async with RemoteDB(
        "http://h/db", transport=httpx.MockTransport(handler), inline_attachments=True
    ) as remote:
        with pytest.raises(MissingStub):
            await remote.write_docs([_scan_doc(1, 10)])


async def test_a_batch_of_scans_is_read_from_the_store_in_one_call(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s.sqlite")
    revs = []
    for n in range(3):
        made = store.put({"_id": f"case:{n}"})
        rev = store.put_attachment(made["id"], made["rev"], "a.jpg", bytes([n]) * 50, "image/jpeg")["rev"]
        rev = store.put_attachment(made["id"], rev, "b.jpg", bytes([n + 10]) * 60, "image/jpeg")["rev"]
        revs.append((made["id"], rev))
    plain = store.put({"_id": "case:plain"})
    found = await LocalDB(store).get_with_attachments([*revs, (plain["id"], plain["rev"]), ("case:x", "1-z")])
    assert found == {
        (doc_id, rev): {"a.jpg": bytes([n]) * 50, "b.jpg": bytes([n + 10]) * 60}
        for n, (doc_id, rev) in enumerate(revs)
    }
    store.close()
