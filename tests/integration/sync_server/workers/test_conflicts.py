"""The conflict worker against the real engine: leaves made with `new_edits=false`, merged by the worker."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from sync_server.couch import Couch, CouchError
from sync_server.workers.conflicts import _case_answers_in_order, read_leaves, resolve_case
from tests.integration.sync_server.workers.helpers import (
    NOW,
    attachment,
    caught_up,
    conflicts_only,
    edited,
    make_case,
    new_case_id,
    put_conflict,
    running,
    worker_config,
)
from tests.waiting import wait_until


async def test_phone_and_scan_merge_automatically(couch: Couch, make_db: Callable[..., str]) -> None:
    prefix = f"ot-v-t{uuid.uuid4().hex[:8]}"
    db, server_db = make_db(prefix), make_db("ot-server")
    case_id = new_case_id()
    base = make_case(case_id)
    phone = edited(base, "tab-a", {"applicant.phone": "13900000000"})
    scan = edited(
        base,
        "tab-b",
        {
            "answers.address": "村东头 3 号",
            "materials": [{"requirement": "hukou", "attachment": "hukou-1.jpg", "source": "captured"}],
        },
        offset_ms=5,
    )
    scan["_attachments"] = {"hukou-1.jpg": attachment(b"\xff\xd8scan-bytes")}
    revs = await put_conflict(couch, db, base, phone, scan)

    async with running(couch, worker_config(prefix, server_db), conflicts_only):

        async def merged() -> bool:
            doc = await couch.get_doc(db, case_id, conflicts=True)
            return doc is not None and not doc.get("_conflicts")

        await wait_until(merged, what="the merged case")
        await wait_until(lambda: caught_up(couch, server_db, db), what="the checkpoint")

    doc = await couch.get_doc(db, case_id, conflicts=True, deleted_conflicts=True)
    assert doc is not None
    assert doc["applicant"]["phone"] == "13900000000"
    assert doc["answers"]["address"] == "村东头 3 号"
    assert doc["materials"][0]["attachment"] == "hukou-1.jpg"
    assert "hukou-1.jpg" in doc["_attachments"]
    assert not doc.get("needs_review")
    assert doc["_rev"].startswith("3-")
    leaves = await couch.get_json(f"/{db}/{case_id}", open_revs="all")
    live = [row["ok"]["_rev"] for row in leaves if not row["ok"].get("_deleted")]
    deleted = [row["ok"]["_rev"] for row in leaves if row["ok"].get("_deleted")]
    assert live == [doc["_rev"]]
    assert len(deleted) == 1 and deleted[0].startswith("3-")  # the losing leaf, deleted on top of its rev
    assert len(revs) == 2
    data = (await couch.request("GET", f"/{db}/{case_id}/hukou-1.jpg", headers={"Accept": "*/*"})).content
    assert data == b"\xff\xd8scan-bytes"
    events = await events_of(couch, db, case_id)
    assert [e["kind"] for e in events] == ["conflict_resolved"]
    assert events[0]["data"]["losing"]["applicant.phone"][0]["value"] == "13800000000"
    assert await couch.get_doc(db, f"review:{case_id.split(':')[1]}") is None


async def test_two_id_numbers_go_to_review(couch: Couch, make_db: Callable[..., str]) -> None:
    prefix = f"ot-v-t{uuid.uuid4().hex[:8]}"
    db, server_db = make_db(prefix), make_db("ot-server")
    case_id = new_case_id()
    base = make_case(case_id)
    a = edited(base, "tab-a", {"applicant.id_number": "11010519491231002X", "applicant.phone": "1"})
    b = edited(base, "tab-b", {"applicant.id_number": "330212199001011250"}, offset_ms=7)
    a["_attachments"] = {"signature.png": attachment(b"sig-a", "image/png")}
    b["_attachments"] = {"signature.png": attachment(b"sig-b", "image/png")}
    await put_conflict(couch, db, base, a, b)

    async with running(couch, worker_config(prefix, server_db), conflicts_only):
        await wait_until(lambda: review_exists(couch, db, case_id), what="the review document")
        await wait_until(lambda: caught_up(couch, server_db, db), what="the checkpoint")

    doc = await couch.get_doc(db, case_id, conflicts=True)
    assert doc is not None and not doc.get("_conflicts")
    assert doc["needs_review"] is True
    assert doc["applicant"]["phone"] == "1"
    review = await couch.get_doc(db, f"review:{case_id.split(':')[1]}")
    assert review is not None and review["status"] == "open"
    assert sorted(review["fields"]["applicant.id_number"]) == ["11010519491231002X", "330212199001011250"]
    # Both signatures kept: the loser's under a new name, with its bytes.
    names = sorted(doc["_attachments"])
    assert len(names) == 2 and names[0] == "signature.png"
    blobs = {
        (await couch.request("GET", f"/{db}/{case_id}/{n}", headers={"Accept": "*/*"})).content for n in names
    }
    assert blobs == {b"sig-a", b"sig-b"}
    events = await events_of(couch, db, case_id)
    assert events[0]["data"]["review_fields"] == ["applicant.id_number"]


async def review_exists(couch: Couch, db: str, case_id: str) -> bool:
    return await couch.get_doc(db, f"review:{case_id.split(':')[1]}") is not None


async def events_of(couch: Couch, db: str, case_id: str) -> list[dict[str, Any]]:
    ulid = case_id.split(":")[1]
    rows = (
        await couch.get_json(
            f"/{db}/_all_docs", include_docs=True, startkey=f"event:{ulid}:", endkey=f"event:{ulid}:\ufff0"
        )
    )["rows"]
    return [row["doc"] for row in rows]


class RacingCouch(Couch):
    """The real engine, with a device pushing onto the winning leaf just before the merge is written."""

    raced = False

    async def bulk_docs(
        self, db: str, docs: list[dict[str, Any]], *, new_edits: bool = True
    ) -> list[dict[str, Any]]:
        if not self.raced and docs and docs[0].get("type") == "case" and new_edits:
            self.raced = True
            current = await self.get_doc(db, docs[0]["_id"], rev=docs[0]["_rev"])
            assert current is not None
            await self.put_doc(
                db, edited(current, "tab-c", {"notes": "pushed during the merge"}, offset_ms=9)
            )
        return await super().bulk_docs(db, docs, new_edits=new_edits)


async def test_a_lost_race_undoes_the_deletions_and_merges_again(
    couchdb_url: str, make_db: Callable[..., str]
) -> None:
    db = make_db("ot-v-race")
    racing = RacingCouch(couchdb_url)
    try:
        case_id = new_case_id()
        base = make_case(case_id)
        a = edited(base, "tab-a", {"applicant.phone": "139"})
        b = edited(base, "tab-b", {"answers.household": 5}, offset_ms=5)
        b["_attachments"] = {"hukou-1.jpg": attachment(b"scan")}
        a["_attachments"] = {"photo-1.jpg": attachment(b"photo")}
        await put_conflict(racing, db, base, a, b)
        with pytest.raises(CouchError):
            await resolve_case(racing, db, case_id, now=NOW)
        leaves, _ = await read_leaves(racing, db, case_id)
        assert len(leaves) == 2  # the pushed revision and the restored loser: nothing deleted
        assert {leaf.get("notes") for leaf in leaves} >= {"pushed during the merge"}
        assert await events_of(racing, db, case_id) == []  # the event of the failed attempt is withdrawn
        resolution = await resolve_case(racing, db, case_id, now=NOW)
        assert resolution is not None
        doc = await racing.get_doc(db, case_id, conflicts=True)
        assert doc is not None and not doc.get("_conflicts")
        live, phantoms = await read_leaves(racing, db, case_id)
        assert [leaf["_rev"] for leaf in live] == [doc["_rev"]] and phantoms == []
        assert (doc["applicant"]["phone"], doc["answers"]["household"], doc["notes"]) == (
            "139",
            5,
            "pushed during the merge",
        )
        assert sorted(doc["_attachments"]) == ["hukou-1.jpg", "photo-1.jpg"]
    finally:
        await racing.aclose()


async def test_answers_on_the_case_id_are_placed_by_parent(couch: Couch, make_db: Callable[..., str]) -> None:
    """pouchdb-server may answer `_bulk_docs` out of order: a failed merged write is still seen as such."""
    db = make_db("race-order")
    leaves = [{"_id": "case:x", "_rev": f"2-{h}", "_revisions": {"start": 2, "ids": [h, "r"]}}
              for h in ("aa", "bb")]
    await couch.bulk_docs(db, leaves, new_edits=False)
    deleted = (await couch.bulk_docs(db, [{"_id": "case:x", "_rev": "2-bb", "_deleted": True}]))[0]
    docs: list[dict[str, Any]] = [{"_id": "case:x", "_rev": "2-aa", "v": 1},
            {"_id": "case:x", "_rev": "2-bb", "_deleted": True}, {"_id": "event:x:1"}]
    refused = {"id": "case:x", "error": "conflict", "reason": "Document update conflict."}
    arrived = [deleted, refused, {"ok": True, "id": "event:x:1", "rev": "1-e"}]  # the case's two swapped
    ordered = await _case_answers_in_order(couch, db, "case:x", docs, arrived)
    assert [row.get("error") for row in ordered] == ["conflict", None, None]
    assert ordered[1]["rev"] == deleted["rev"] and ordered[2]["rev"] == "1-e"
