"""Local store attachments: digests, dedupe, stubs, atts_since, survival across revisions, GC."""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from mobile.store import BadRequest, Conflict, LocalStore, MissingStub, NotFound
from mobile.store.attachments import digest_of

SCAN = bytes(range(256)) * 40
SIGNATURE = b"\x89PNG fake signature"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[LocalStore]:
    with LocalStore(tmp_path / "agent.sqlite") as store:
        yield store


def blob_count(db: LocalStore) -> int:
    with sqlite3.connect(db.path) as cx:
        return int(cx.execute("SELECT COUNT(*) FROM blobs").fetchone()[0])


def test_digest_is_couchdbs() -> None:
    assert digest_of(b"hello") == "md5-XUFAKrxLKna5cZ2REBfFkg=="


def test_put_attachment_creates_and_reads_back(db: LocalStore) -> None:
    res = db.put_attachment("case:1", None, "scan.jpg", SCAN, "image/jpeg")
    assert res["rev"].startswith("1-")
    assert db.get_attachment("case:1", "scan.jpg") == SCAN
    stub = db.get("case:1")["_attachments"]["scan.jpg"]
    assert stub == {
        "content_type": "image/jpeg",
        "digest": digest_of(SCAN),
        "length": len(SCAN),
        "revpos": 1,
        "stub": True,
    }
    assert db.has_attachment(digest_of(SCAN))
    assert db.attachment_by_digest(digest_of(SCAN)) == SCAN


def test_attachments_survive_edits_without_copies(db: LocalStore) -> None:
    rev = db.put_attachment("case:1", None, "scan.jpg", SCAN, "image/jpeg")["rev"]
    rev = db.put_attachment("case:1", rev, "signature.png", SIGNATURE, "image/png")["rev"]
    doc = db.get("case:1")
    doc["status"] = "submitted"
    rev = db.put(doc)["rev"]
    atts = db.get("case:1")["_attachments"]
    assert atts["scan.jpg"]["revpos"] == 1 and atts["signature.png"]["revpos"] == 2
    assert db.get_attachment("case:1", "scan.jpg") == SCAN
    assert blob_count(db) == 2


def test_same_content_stored_once(db: LocalStore) -> None:
    db.put_attachment("material:1", None, "id.jpg", SCAN, "image/jpeg")
    db.put_attachment("material:2", None, "copy.jpg", SCAN, "image/jpeg")
    assert blob_count(db) == 1


def test_inline_base64_and_attachments_option(db: LocalStore) -> None:
    data = base64.b64encode(SIGNATURE).decode()
    db.put({"_id": "d", "_attachments": {"s.png": {"content_type": "image/png", "data": data}}})
    doc = db.get("d", attachments=True)
    assert doc["_attachments"]["s.png"]["data"] == data
    assert "stub" not in doc["_attachments"]["s.png"]


def test_atts_since_sends_only_newer_content(db: LocalStore) -> None:
    rev1 = db.put_attachment("d", None, "old.jpg", SCAN, "image/jpeg")["rev"]
    db.put_attachment("d", rev1, "new.png", SIGNATURE, "image/png")
    atts = db.get("d", atts_since=[rev1])["_attachments"]
    assert atts["old.jpg"]["stub"] is True
    assert base64.b64decode(atts["new.png"]["data"]) == SIGNATURE
    unknown = db.get("d", atts_since=["1-unknown"])["_attachments"]
    assert "data" in unknown["old.jpg"] and "data" in unknown["new.png"]
    opened = db.get_open_revs("d", "all", atts_since=[rev1])[0]["ok"]["_attachments"]
    assert opened["old.jpg"]["stub"] is True and "data" in opened["new.png"]


def test_removing_an_attachment_frees_its_content(db: LocalStore) -> None:
    rev = db.put_attachment("d", None, "scan.jpg", SCAN, "image/jpeg")["rev"]
    doc = db.get("d")
    del doc["_attachments"]
    db.put(doc)
    assert blob_count(db) == 0
    with pytest.raises(NotFound):
        db.get_attachment("d", "scan.jpg")
    with pytest.raises(NotFound):
        db.attachment_by_digest(digest_of(SCAN))
    assert not db.has_attachment(digest_of(SCAN))
    assert rev.startswith("1-")


def test_content_shared_by_a_conflict_leaf_is_kept(db: LocalStore) -> None:
    rev1 = db.put_attachment("d", None, "scan.jpg", SCAN, "image/jpeg")["rev"]
    hash1 = rev1.split("-")[1]
    mine = db.put({"_id": "d", "_rev": rev1, "edited": True, "_attachments": {"scan.jpg": {"stub": True}}})
    stub = {"scan.jpg": {"stub": True, "digest": digest_of(SCAN), "revpos": 1, "content_type": "image/jpeg"}}
    other = {
        "_id": "d",
        "_rev": "2-zzz",
        "_revisions": {"start": 2, "ids": ["zzz", hash1]},
        "_attachments": stub,
    }
    assert db.bulk_docs([other], new_edits=False)[0]["ok"]
    doc = db.get("d", rev="2-zzz")
    assert doc["_attachments"]["scan.jpg"]["revpos"] == 1
    assert len(db.get_open_revs("d", "all")) == 2
    db.remove("d", "2-zzz")
    assert db.get_attachment("d", "scan.jpg") == SCAN
    assert db.get("d")["_rev"] == mine["rev"]
    assert blob_count(db) == 1


def test_replicated_attachments_as_bytes_or_stubs(db: LocalStore) -> None:
    with_bytes = {
        "_id": "m",
        "_rev": "1-a",
        "_revisions": {"start": 1, "ids": ["a"]},
        "_attachments": {"x.jpg": {"content_type": "image/jpeg", "data": SCAN, "revpos": 1}},
    }
    stub_only = {
        "_id": "n",
        "_rev": "3-c",
        "_revisions": {"start": 3, "ids": ["c", "b"]},
        "_attachments": {
            "y.jpg": {"stub": True, "digest": digest_of(SCAN), "revpos": 2, "length": len(SCAN)}
        },
    }
    unknown_stub = {
        "_id": "o",
        "_rev": "1-a",
        "_attachments": {"z.jpg": {"stub": True, "digest": "md5-AAAAAAAAAAAAAAAAAAAAAA==", "revpos": 1}},
    }
    results = db.bulk_docs([with_bytes, stub_only, unknown_stub], new_edits=False)
    assert results[0]["ok"] and results[1]["ok"]
    assert results[2]["error"] == "missing_stub"
    assert db.get_attachment("n", "y.jpg") == SCAN
    assert db.get("n")["_attachments"]["y.jpg"]["revpos"] == 2
    assert blob_count(db) == 1


def test_stub_without_parent_attachment_is_refused(db: LocalStore) -> None:
    rev = db.put({"_id": "d"})["rev"]
    with pytest.raises(MissingStub) as err:
        db.put({"_id": "d", "_rev": rev, "_attachments": {"x": {"stub": True}}})
    assert err.value.status == 412


def test_bad_attachment_data_is_refused(db: LocalStore) -> None:
    with pytest.raises(BadRequest):
        db.put({"_id": "d", "_attachments": {"x": {"data": "not base64!!"}}})
    with pytest.raises(BadRequest):
        db.put({"_id": "d", "_attachments": {"x": {"content_type": "image/png"}}})
    assert db.info()["update_seq"] == 0


def test_put_attachment_with_stale_rev(db: LocalStore) -> None:
    rev = db.put_attachment("d", None, "a", b"1", "text/plain")["rev"]
    db.put_attachment("d", rev, "b", b"2", "text/plain")
    with pytest.raises(Conflict):
        db.put_attachment("d", rev, "c", b"3", "text/plain")
    with pytest.raises(Conflict):
        db.put_attachment("d", None, "c", b"3", "text/plain")


def test_compact_sweeps_and_keeps_referenced(db: LocalStore) -> None:
    db.put_attachment("d", None, "a", SCAN, "image/jpeg")
    db.compact()
    assert db.get_attachment("d", "a") == SCAN


def test_remove_attachment_keeps_the_others(db: LocalStore) -> None:
    rev = db.put_attachment("d", None, "a.jpg", SCAN, "image/jpeg")["rev"]
    rev = db.put_attachment("d", rev, "b.png", SIGNATURE, "image/png")["rev"]
    rev = db.remove_attachment("d", rev, "a.jpg")["rev"]
    assert list(db.get("d")["_attachments"]) == ["b.png"]
    assert blob_count(db) == 1
    with pytest.raises(NotFound):
        db.remove_attachment("d", rev, "a.jpg")
