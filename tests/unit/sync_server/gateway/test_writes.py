"""Answers of a split batch come back in the order the documents came."""

from __future__ import annotations

import base64
import io
import json

from shared.jsontypes import JSON
from sync_server.gateway import multipart
from sync_server.gateway.writes import merge_answers

DOCS: list[JSON] = [{"_id": "a", "_rev": "1-a"}, {"_id": "b", "_rev": "1-b"}, {"_id": "c", "_rev": "1-c"}]


def test_merge_with_new_edits() -> None:
    upstream: list[JSON] = [{"ok": True, "id": "a", "rev": "1-x"},
                            {"id": "c", "error": "conflict", "reason": "c"}]
    answers, accepted = merge_answers(DOCS, [None, "nope", None], upstream, new_edits=True)
    assert [a.get("error") for a in answers] == [None, "forbidden", "conflict"]
    assert answers[1] == {"id": "b", "rev": "1-b", "error": "forbidden", "reason": "nope"}
    assert [(w.doc_id, w.rev) for w in accepted] == [("a", "1-x")]


def test_merge_with_new_edits_matches_answers_by_id() -> None:
    """pouchdb-server answers a batch with attachments out of order; each document gets its own answer."""
    upstream: list[JSON] = [{"id": "c", "error": "conflict", "reason": "c"},
                            {"ok": True, "id": "a", "rev": "1-x"}]
    answers, accepted = merge_answers(DOCS, [None, "nope", None], upstream, new_edits=True)
    assert [(a["id"], a.get("error")) for a in answers] == [
        ("a", None), ("b", "forbidden"), ("c", "conflict")]
    assert [(w.doc_id, w.rev) for w in accepted] == [("a", "1-x")]


def test_merge_without_new_edits_keeps_only_failures() -> None:
    upstream = [{"id": "c", "error": "unknown_error", "reason": "x"}]
    answers, accepted = merge_answers(DOCS, [None, "nope", None], upstream, new_edits=False)
    assert [a["id"] for a in answers] == ["b", "c"]
    assert [(w.doc_id, w.rev) for w in accepted] == [("a", "1-a")]


def test_multipart_scan_and_rebuild() -> None:
    doc = {"_id": "case:1", "_attachments": {"a.jpg": {"follows": True, "content_type": "image/jpeg"}}}
    scan_bytes = b"\xff\xd8\xff" + b"--bnd not a delimiter" + bytes(70_000)
    body = (b"--bnd\r\nContent-Type: application/json\r\n\r\n" + json.dumps(doc).encode()
            + b"\r\n--bnd\r\nContent-Type: image/jpeg\r\n\r\n" + scan_bytes + b"\r\n--bnd--")
    parsed, parts = multipart.scan(io.BytesIO(body), b"bnd")
    assert parsed == doc and len(parts) == 1
    assert parts[0].length == len(scan_bytes) and parts[0].head == scan_bytes[:16]
    inlined = json.loads(multipart.inline(parsed, parts, io.BytesIO(body)))
    assert inlined["_attachments"]["a.jpg"] == {  # revpos from the revision when none came
        "content_type": "image/jpeg", "revpos": 1, "data": base64.b64encode(scan_bytes).decode()}


def test_inline_keeps_stubs_and_the_revpos_sent() -> None:
    doc: JSON = {"_id": "case:1", "_rev": "3-x", "_attachments": {
        "old.png": {"stub": True, "digest": "md5-x", "revpos": 0, "content_type": "image/png", "length": 3},
        "a.jpg": {"follows": True, "content_type": "image/jpeg", "length": 3, "revpos": 3,
                  "digest": "md5-y"}}}
    body = (b"--bnd\r\nContent-Type: application/json\r\n\r\n" + json.dumps(doc).encode()
            + b"\r\n--bnd\r\nContent-Type: image/jpeg\r\n\r\nabc\r\n--bnd--")
    parsed, parts = multipart.scan(io.BytesIO(body), b"bnd")
    atts = json.loads(multipart.inline(parsed, parts, io.BytesIO(body)))["_attachments"]
    assert atts["old.png"] == doc["_attachments"]["old.png"]
    assert atts["a.jpg"] == {"content_type": "image/jpeg", "revpos": 3, "data": "YWJj"}


def test_inline_splices_the_same_json_a_plain_encoding_gives() -> None:
    """The base64 is spliced in as bytes: the result must parse to exactly the document a plain
    `json.dumps` of it gives, whatever the names and members around it."""
    docs: list[JSON] = [
        {"_id": "case:1", "_attachments": {"a.jpg": {"follows": True}}},  # entry with nothing else
        {"_id": "case:2", "_rev": "2-x", "note": "\"}{ 引号 \u2028", "_attachments": {
            'say "曰".jpg': {"follows": True, "content_type": "image/jpeg", "revpos": 2},
            "b.pdf": {"stub": True, "digest": "md5-z", "revpos": 1}}},
    ]
    for doc in docs:
        body = (b"--bnd\r\nContent-Type: application/json\r\n\r\n" + json.dumps(doc).encode()
                + b"\r\n--bnd\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\xff\x00\r\n--bnd--")
        parsed, parts = multipart.scan(io.BytesIO(body), b"bnd")
        spliced = json.loads(multipart.inline(parsed, parts, io.BytesIO(body)))
        expected = json.loads(json.dumps(doc))
        for att in expected["_attachments"].values():
            if att.pop("follows", False):
                att.setdefault("revpos", int(str(doc.get("_rev", "1-")).split("-")[0]))
                att["data"] = base64.b64encode(b"\xff\xd8\xff\x00").decode()
        assert spliced == expected


def test_multipart_errors() -> None:
    import pytest

    for body in [b"", b"--bnd\r\n\r\n{}", b"--bnd\r\nContent-Type: application/json\r\n\r\n[1]\r\n--bnd--",
                 b"--bnd\r\nContent-Type: application/json\r\n\r\nnot json\r\n--bnd--"]:
        with pytest.raises(multipart.MultipartError):
            multipart.scan(io.BytesIO(body), b"bnd")
