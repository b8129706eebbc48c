"""Decoding `_bulk_get?attachments=true` answered as multipart/related (Apache CouchDB's form)."""

from __future__ import annotations

import gzip
import json

import pytest

from mobile.replication.multipart import decode_bulk_get
from mobile.store.attachments import digest_of

SCAN = b"\xff\xd8\xff\xe0\r\n--not-a-boundary\r\n\r\n" + bytes(range(256)) + b"\r\n"


def _answer(scan: bytes = SCAN, name: str = "scan.jpg") -> tuple[bytes, str]:
    inner = b"--inner1"
    doc = {
        "_id": "case:1",
        "_rev": "2-b",
        "_revisions": {"start": 2, "ids": ["b", "a"]},
        "_attachments": {
            name: {
                "content_type": "image/jpeg",
                "revpos": 2,
                "digest": digest_of(SCAN),
                "length": len(SCAN),
                "follows": True,
            },
            "note.txt": {
                "content_type": "text/plain",
                "revpos": 1,
                "digest": "md5-encoded",
                "length": 3,
                "follows": True,
                "encoding": "gzip",
                "encoded_length": 23,
            },
        },
    }
    zipped = gzip.compress(b"bee")
    related = b"".join(
        [
            b"\r\n--" + inner + b"\r\nContent-Type: application/json\r\n\r\n",
            json.dumps(doc).encode(),
            # the name as Apache CouchDB 3.5 writes it: UTF-8, quotes not escaped
            b"\r\n--" + inner + b'\r\nContent-Disposition: attachment; filename="' + name.encode() + b'"\r\n'
            b"Content-Type: image/jpeg\r\nContent-Length: " + str(len(scan)).encode() + b"\r\n\r\n",
            scan,
            b"\r\n--" + inner + b'\r\nContent-Disposition: attachment; filename="note.txt"\r\n'
            b"Content-Encoding: gzip\r\nContent-Length: " + str(len(zipped)).encode() + b"\r\n\r\n",
            zipped,
            b"\r\n--" + inner + b"--",
        ]
    )
    outer = b"--outer0"
    body = b"".join(
        [
            b"\r\n--"
            + outer
            + b"\r\nX-Doc-Id: case:1\r\nContent-Type: multipart/related; boundary="
            + inner
            + b"\r\n\r\n",
            related,
            b"\r\n--" + outer + b'\r\nContent-Type: application/json\r\n\r\n{"_id":"case:2","_rev":"1-c"}',
            b"\r\n--"
            + outer
            + b'\r\nContent-Type: application/json; error="true"\r\n\r\n{"error":"not_found"}',
            b"\r\n--" + outer + b"--",
        ]
    )
    return body, f'multipart/related; boundary="{outer.decode()}"'


def test_documents_come_with_their_bytes() -> None:
    docs = decode_bulk_get(*_answer())
    assert [d["_id"] for d in docs] == ["case:1", "case:2"]
    atts = docs[0]["_attachments"]
    assert atts["scan.jpg"]["data"] == SCAN and atts["scan.jpg"]["length"] == len(SCAN)
    assert "follows" not in atts["scan.jpg"] and atts["scan.jpg"]["revpos"] == 2
    assert atts["note.txt"]["data"] == b"bee" and "encoding" not in atts["note.txt"]
    assert docs[0]["_revisions"] == {"start": 2, "ids": ["b", "a"]}


def test_a_name_with_quotes_and_chinese_is_matched_by_the_documents_order() -> None:
    """CouchDB writes a part's filename unescaped (`filename="户口 "1";x.jpg"`): the parts are
    taken in the order the document lists its `follows` attachments, as CouchDB itself reads them."""
    name = '户口 "1";x\\.jpg'
    docs = decode_bulk_get(*_answer(name=name))
    atts = docs[0]["_attachments"]
    assert atts[name]["data"] == SCAN and atts["note.txt"]["data"] == b"bee"


def test_a_document_naming_more_attachments_than_its_parts_is_refused() -> None:
    body, content_type = _answer()
    one_more = b'"note.txt": {"content_type": "text/plain"'
    assert body.count(one_more) == 1
    body = body.replace(one_more, b'"more.txt": {"follows": true}, ' + one_more)
    with pytest.raises(ValueError, match="attachment part"):
        decode_bulk_get(body, content_type)


def test_bytes_that_do_not_match_their_digest_are_refused() -> None:
    damaged = SCAN[:-3] + b"xyz"
    with pytest.raises(ValueError, match="digest"):
        decode_bulk_get(*_answer(damaged))


def test_a_truncated_answer_is_refused() -> None:
    body, content_type = _answer()
    with pytest.raises(ValueError):
        decode_bulk_get(body[: len(body) // 2], content_type)


def test_scan_bytes_are_plain_bytes_for_the_stores_digest_memo() -> None:
    """Parts are read by offset in the answer; what the store is handed is one `bytes` object
    (the digest checked here is taken back by the store only for that very object)."""
    docs = decode_bulk_get(*_answer())
    data = docs[0]["_attachments"]["scan.jpg"]["data"]
    assert type(data) is bytes and data == SCAN


def test_a_part_longer_than_its_document_is_refused() -> None:
    """A nested part's `Content-Length` reaching past its document's outer part is a broken
    answer, not bytes borrowed from the next document."""
    body, content_type = _answer()
    stated = b"Content-Length: " + str(len(SCAN)).encode() + b"\r\n"
    assert body.count(stated) == 1
    with pytest.raises(ValueError, match="truncated"):
        decode_bulk_get(body.replace(stated, b"Content-Length: " + str(len(SCAN) + 300).encode() + b"\r\n"),
                        content_type)
