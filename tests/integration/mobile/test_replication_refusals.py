"""Nothing the server holds is skipped for good: a refused revision is held and retried.

Also the attachment `revpos` rules that made Apache CouchDB and the local store disagree:
uploads carry `revpos` and `digest`, and an attachment stored with `revpos: 0` (by code that
sent none) is taken as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx

from mobile.replication import LocalDB, RemoteDB, replicate
from mobile.replication.endpoint import JSON
from mobile.store import LocalStore
from tests.integration.mobile.helpers import make_case, payload, put_docs


class RefusingDB(LocalDB):
    """The local store, refusing the ids in `refuse` as a store that cannot take them would."""

    def __init__(self, store: LocalStore, refuse: set[str]) -> None:
        super().__init__(store)
        self.refuse = refuse

    async def write_docs(self, docs: list[JSON]) -> list[JSON]:
        taken = [d for d in docs if d["_id"] not in self.refuse]
        failures = await super().write_docs(taken)
        return failures + [{"id": d["_id"], "error": "bad_request", "reason": "injected refusal"}
                           for d in docs if d["_id"] in self.refuse]


async def test_a_refused_pull_is_held_and_retried_at_the_next_sync(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = f"{couchdb_url}/{make_db('refused')}"
    await put_docs(url, [make_case(i) for i in range(30)])
    victim = make_case(7)["_id"]
    store = LocalStore(tmp_path / "agent.sqlite")
    async with RemoteDB(url) as remote:
        first = await replicate(remote, RefusingDB(store, {victim}), batch_size=10)
        assert [f["id"] for f in first.doc_write_failures] == [victim]
        assert first.doc_write_failures[0]["rev"].startswith("1-")
        assert first.docs_written == 29
        held = (await LocalDB(store).get_local(f"_local/{first.replication_id}") or {})["held"]
        assert [(h["id"], h["reason"]) for h in held] == [(victim, "injected refusal")]

        # Refused again: still held, and still counted, although the source did not change.
        again = await replicate(remote, RefusingDB(store, {victim}), batch_size=10)
        assert [f["id"] for f in again.doc_write_failures] == [victim]
        assert again.docs_read == 1

        # The store takes it now: it arrives with no new change on the server.
        fixed = await replicate(remote, store, batch_size=10)
        assert fixed.ok and fixed.docs_written == 1
        assert store.get(victim)["_rev"] == first.doc_write_failures[0]["rev"]
        assert "held" not in (await LocalDB(store).get_local(f"_local/{first.replication_id}") or {})
        quiet = await replicate(remote, store)
        assert quiet.docs_read == 0 and quiet.ok
    store.close()


async def test_uploads_carry_revpos_and_a_revpos_0_attachment_is_taken(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    url = f"{couchdb_url}/{make_db('revpos')}"
    store = LocalStore(tmp_path / "agent.sqlite")
    case = make_case(1)
    put = store.put(case)
    store.put_attachment(case["_id"], put["rev"], "scan.jpg", payload(20_000, 3), "image/jpeg")
    async with RemoteDB(url) as remote:
        assert (await replicate(store, remote)).ok
        stored = httpx.get(f"{url}/{case['_id']}").json()
        assert stored["_attachments"]["scan.jpg"]["revpos"] == 2
        # An edit on the phone sends the scan as a stub: the server matches it, no bytes again.
        doc = store.get(case["_id"])
        store.put({**doc, "status": "submitted"})
        edit = await replicate(store, remote)
        assert edit.ok and edit.attachments_fetched == 0

    # What the old upload left on Apache CouchDB: a `follows` attachment without revpos or
    # digest, stored there as revpos 0 (pouchdb-server stores 1). A phone pulls it and pushes an edit.
    old = make_case(2)
    data = payload(10_000, 4)
    head = {**old, "_attachments": {"scan.jpg": {"follows": True, "content_type": "image/jpeg",
                                                 "length": len(data)}}}
    body = (b"--b\r\nContent-Type: application/json\r\n\r\n" + json.dumps(head).encode()
            + b'\r\n--b\r\nContent-Disposition: attachment; filename="scan.jpg"\r\n'
            + b"Content-Type: image/jpeg\r\n\r\n" + data + b"\r\n--b--")
    answer = httpx.put(f"{url}/{old['_id']}", content=body,
                       headers={"Content-Type": 'multipart/related; boundary="b"'})
    assert answer.status_code == 201, answer.text
    phone = LocalStore(tmp_path / "phone.sqlite")
    async with RemoteDB(url) as remote:
        pulled = await replicate(remote, phone)
        assert pulled.ok, pulled.doc_write_failures
        assert phone.get_attachment(old["_id"], "scan.jpg") == data
        revpos = phone.get(old["_id"])["_attachments"]["scan.jpg"]["revpos"]
        assert revpos == httpx.get(f"{url}/{old['_id']}").json()["_attachments"]["scan.jpg"]["revpos"]
        doc = phone.get(old["_id"])
        phone.put({**doc, "status": "submitted"})
        pushed = await replicate(phone, remote)
        assert pushed.ok and pushed.docs_written == 1
    assert httpx.get(f"{url}/{old['_id']}/scan.jpg").content == data
    store.close()
    phone.close()


async def test_a_lone_surrogate_on_the_server_is_held_not_a_crash(
    couchdb_url: str, make_db: Callable[[str], str], tmp_path: Path
) -> None:
    """Old data or an admin's write may hold a lone UTF-16 surrogate, which JSON can escape but
    UTF-8 cannot carry. Apache CouchDB refuses it; where the engine took it, the pull holds that
    document with its reason and brings the rest."""
    url = f"{couchdb_url}/{make_db('surrogate')}"
    body = json.dumps({"docs": [make_case(1) | {"note": "\ud800x"}, make_case(2)]}).encode()
    written = httpx.post(f"{url}/_bulk_docs", content=body, headers={"Content-Type": "application/json"})
    if written.status_code == 400:  # Apache CouchDB: "invalid UTF-8 JSON", nothing stored
        assert httpx.get(f"{url}/_all_docs").json()["rows"] == []
        return
    assert written.status_code == 201
    store = LocalStore(tmp_path / "agent.sqlite")
    async with RemoteDB(url) as remote:
        pulled = await replicate(remote, store)
    assert pulled.docs_written == 1
    assert [f["id"] for f in pulled.doc_write_failures] == [make_case(1)["_id"]]
    assert store.get(make_case(2)["_id"])["_id"] == make_case(2)["_id"]
    store.close()
