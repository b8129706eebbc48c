"""pouchdb-server's JSON `_bulk_get` answer in CouchDB's multipart form (ADR 0164)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from mobile.replication.multipart import decode_bulk_get
from sync_server.gateway.binarybulk import to_multipart, wants_binary


def _att(data: bytes, revpos: int = 1) -> dict[str, Any]:
    digest = "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()
    return {"content_type": "image/jpeg", "digest": digest, "revpos": revpos,
            "data": base64.b64encode(data).decode()}


def _answer(*entries: tuple[str, dict[str, Any]]) -> bytes:
    return json.dumps({"results": [{"id": i, "docs": [e]} for i, e in entries]}, ensure_ascii=False).encode()


def test_the_multipart_form_reads_back_as_the_engines_documents_with_the_bytes() -> None:
    scan, other = os.urandom(70_000), os.urandom(3)
    doc = {"_id": "case:1", "_rev": "2-b", "name": "张三 \u2028 \"q\"", "n": 1.5,
           "_revisions": {"start": 2, "ids": ["b", "a"]},
           "_attachments": {"id-1.jpg": _att(scan, 2), "b.png": _att(other),
                            "old.jpg": {"stub": True, "digest": "md5-x", "revpos": 1, "length": 9}}}
    plain = {"_id": "case:2", "_rev": "1-c", "x": [1, None, True]}
    raw = _answer(("case:1", {"ok": doc}), ("case:2", {"ok": plain}), ("case:3", {"missing": "1-z"}),
                  ("case:4", {"error": {"id": "case:4", "rev": "1-y", "error": "not_found",
                                        "reason": "missing"}}))
    converted = to_multipart(raw)
    assert converted is not None
    body, content_type = converted
    assert scan in body and base64.b64encode(scan) not in body
    docs = decode_bulk_get(body, content_type)  # checks every part against its md5 digest
    assert len(docs) == 2
    expected = json.loads(json.dumps(doc))
    for name in ("id-1.jpg", "b.png"):
        att = expected["_attachments"][name]
        att["data"] = base64.b64decode(att["data"])
        att["length"] = len(att["data"])
    assert docs[0] == expected
    assert docs[1] == plain


def test_answers_the_conversion_cannot_carry_faithfully_are_left_as_they_are() -> None:
    scan = os.urandom(100)
    named = {"_id": "a", "_rev": "1-a", "_attachments": {'户口 "1".jpg': _att(scan)}}
    assert to_multipart(_answer(("a", {"ok": named}))) is None  # a name a header cannot carry
    broken = {"_id": "a", "_rev": "1-a", "_attachments": {"a.jpg": {**_att(scan), "data": "not base64!"}}}
    assert to_multipart(_answer(("a", {"ok": broken}))) is None
    lone_surrogate = b'{"results": [{"id": "a", "docs": [{"ok": {"s": "\\ud800"}}]}]}'
    assert to_multipart(lone_surrogate) is None
    assert to_multipart(b"<html>proxy error</html>") is None
    assert to_multipart(b'{"rows": []}') is None
    assert to_multipart(b'{"results": [{"id": "a", "docs": [{}]}]}') is None


def test_only_a_read_of_bytes_asked_exactly_as_multipart_is_converted() -> None:
    assert wants_binary("multipart/related", [("revs", "true"), ("attachments", "true")])
    assert not wants_binary("multipart/related, application/json", [("attachments", "true")])
    assert not wants_binary("application/json", [("attachments", "true")])
    assert not wants_binary("multipart/related", [("revs", "true")])
