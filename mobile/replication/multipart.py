"""`multipart/related` bodies for `PUT /{db}/{doc}?new_edits=false` (多部分上传).

CouchDB's "Creating Multiple Attachments": the first part is the document as JSON, where every
attachment whose bytes follow is `{"follows": true, "content_type", "length", "digest", "revpos"}`;
then one part per
such attachment, raw bytes, in the order they appear in the JSON. Attachments the target already
holds stay stubs (`{"stub": true, "digest", "revpos", …}`) and have no part. Scans are JPEG and do not
compress, so these bodies are never gzipped.

`revpos` and `digest` always travel: Apache CouchDB stores a `follows` attachment without
`revpos` as `revpos: 0` and later matches stubs by (name, revpos), so a stub of the same
attachment sent with the revpos the device holds would be refused (`412 missing_stub`).
"""

from __future__ import annotations

import base64
import gzip
import json
import secrets
from typing import Any

from mobile.replication.endpoint import JSON, generation
from mobile.store.attachments import digest_of


def has_data(doc: JSON) -> bool:
    return any(isinstance(att.get("data"), bytes) for att in (doc.get("_attachments") or {}).values())


def data_bytes(doc: JSON) -> int:
    """Attachment bytes a fetched document carries."""
    atts = (doc.get("_attachments") or {}).values()
    return sum(len(att["data"]) for att in atts if isinstance(att.get("data"), bytes))


def encode_inline(doc: JSON) -> JSON:
    """`doc` for a JSON body (`_bulk_docs`): bytes as base64 `data`, with the `digest` and `revpos`
    the source holds, as in `encode_related`; stubs and documents without bytes pass unchanged."""
    if not has_data(doc):
        return doc
    atts: dict[str, Any] = {}
    for name, att in (doc.get("_attachments") or {}).items():
        data = att.get("data")
        if isinstance(data, bytes):
            atts[name] = _inline_meta(doc, att, data, base64.b64encode(data).decode("ascii"))
        else:
            atts[name] = att
    return {**doc, "_attachments": atts}


def inline_bulk_body(docs: list[JSON]) -> bytes:
    """The `_bulk_docs` body (`new_edits=false`) of `docs` with their bytes inline, as
    `encode_inline` gives them, built without passing the base64 through the JSON encoder: each
    `data` is encoded as a random placeholder and the base64 bytes (plain ASCII, nothing to
    escape) spliced in its place. `json.dumps` of a 10 MB body of base64 and the `str` → `bytes`
    copy after it were a third of the phone's CPU in a push to a near engine (ADR 0152)."""
    parts = [_inline_doc(doc) for doc in docs]
    return b'{"docs":[' + b",".join(parts) + b'],"new_edits":false}'


def _inline_doc(doc: JSON) -> bytes:
    if not has_data(doc):
        return _json(doc)
    datas: dict[bytes, bytes] = {}
    atts: dict[str, Any] = {}
    for name, att in (doc.get("_attachments") or {}).items():
        data = att.get("data")
        if isinstance(data, bytes):
            token = secrets.token_hex(16)
            datas[f'"{token}"'.encode()] = data
            atts[name] = _inline_meta(doc, att, data, token)
        else:
            atts[name] = att
    out = _json({**doc, "_attachments": atts})
    for mark, data in datas.items():
        before, found, after = out.partition(mark)
        if not found or mark in after:  # a 128-bit random token met in the document itself
            return _json(encode_inline(doc))
        out = b"".join((before, b'"', base64.b64encode(data), b'"', after))
    return out


def _inline_meta(doc: JSON, att: JSON, data: bytes, encoded: str) -> JSON:
    return {
        "content_type": att.get("content_type", "application/octet-stream"),
        "data": encoded,
        "digest": att.get("digest") or digest_of(data),
        "revpos": att.get("revpos", generation(str(doc["_rev"]))),
    }


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def encode_related(doc: JSON) -> tuple[bytes, str]:
    """(body, content type) of a multipart/related request carrying `doc` and its attachment bytes."""
    boundary = secrets.token_hex(16)
    head: JSON = {k: v for k, v in doc.items() if k != "_attachments"}
    atts: dict[str, Any] = {}
    parts: list[tuple[str, JSON, bytes]] = []
    for name, att in (doc.get("_attachments") or {}).items():
        data = att.get("data")
        if isinstance(data, bytes):
            meta = {
                "follows": True,
                "content_type": att.get("content_type", "application/octet-stream"),
                "length": len(data),
                "digest": att.get("digest") or digest_of(data),
                "revpos": att.get("revpos", generation(str(doc["_rev"]))),
            }
            atts[name] = meta
            parts.append((name, meta, data))
        else:
            atts[name] = att
    head["_attachments"] = atts
    chunks = [
        f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode(),
        json.dumps(head, separators=(",", ":"), ensure_ascii=False).encode(),
    ]
    for name, meta, data in parts:
        disposition = json.dumps(name, ensure_ascii=False)  # quoted, escaped filename
        chunks.append(
            (
                f"\r\n--{boundary}\r\nContent-Disposition: attachment; filename={disposition}\r\n"
                f"Content-Type: {meta['content_type']}\r\nContent-Length: {len(data)}\r\n\r\n"
            ).encode()
        )
        chunks.append(data)
    chunks.append(f"\r\n--{boundary}--".encode())
    return b"".join(chunks), f'multipart/related; boundary="{boundary}"'


def decode_bulk_get(body: bytes, content_type: str) -> list[JSON]:
    """The documents of a `_bulk_get?attachments=true` answer sent as `multipart/related`.

    Apache CouchDB's form (asked with `Accept: multipart/related`): one outer part per revision,
    either a nested `multipart/related` (the document as JSON, then one part per attachment in
    the order of its `follows` entries, gzip-encoded where CouchDB stored it so) or a
    plain JSON part (no attachments; an error row carries `error="true"` and is skipped).
    Attachments come back as `"data": bytes`, as the replicator's fetched documents hold them.

    Parts are found by their offsets in `body`, nested ones inside their outer part's span: the
    only copy of a scan's bytes is the `bytes` the store is handed (ADR 0163).
    """
    docs: list[JSON] = []
    for headers, start, end in _parts(body, _boundary(content_type)):
        kind = headers.get("content-type", "")
        if kind.startswith("multipart/related"):
            docs.append(_related_doc(body, start, end, _boundary(kind)))
        elif kind.startswith("application/json") and "error" not in kind:
            docs.append(json.loads(body[start:end]))
    return docs


def _related_doc(body: bytes, start: int, end: int, boundary: str) -> JSON:
    parts = _parts(body, boundary, start, end)
    if not parts:
        raise ValueError("empty multipart/related document")
    _, doc_start, doc_end = parts[0]
    doc: JSON = json.loads(body[doc_start:doc_end])
    atts: dict[str, JSON] = doc.get("_attachments") or {}
    # The parts follow in the order the document names its `follows` attachments, as CouchDB's own
    # parser takes them: the `Content-Disposition` filename is written unescaped (a quote or a
    # semicolon in a name cannot be read back from it), so it is not what names a part.
    follows = [name for name, att in atts.items() if isinstance(att, dict) and att.get("follows")]
    if len(follows) != len(parts) - 1:
        raise ValueError(f"{len(parts) - 1} attachment part(s) for {len(follows)} named in the document")
    for name, (headers, part_start, part_end) in zip(follows, parts[1:], strict=True):
        att = atts[name]
        content = body[part_start:part_end]
        if headers.get("content-encoding", "").strip().lower() == "gzip":
            content = gzip.decompress(content)  # its digest is of the encoded bytes: not checked
        elif att.get("digest", "").startswith("md5-") and digest_of(content) != att["digest"]:
            raise ValueError(f"attachment {name!r} does not match its digest")
        for key in ("follows", "encoding", "encoded_length", "stub"):
            att.pop(key, None)
        att["data"] = content
        att["length"] = len(content)
    return doc


def _boundary(content_type: str) -> str:
    boundary = _param(content_type, "boundary")
    if not boundary:
        raise ValueError("multipart answer without a boundary")
    return boundary


def _param(header: str, name: str) -> str:
    """The value of parameter `name` in a header such as `multipart/related; boundary="x"`."""
    for param in header.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"')
    return ""


def _parts(
    body: bytes, boundary: str, start: int = 0, end: int | None = None
) -> list[tuple[dict[str, str], int, int]]:
    """(headers with lower-case names, content start, content end) of each part of the multipart
    body in `body[start:end]`; `Content-Length` is honoured. Nothing is copied but the headers."""
    stop = len(body) if end is None else end
    delimiter = b"--" + boundary.encode("ascii")
    out: list[tuple[dict[str, str], int, int]] = []
    at = body.find(delimiter, start, stop)
    while at >= 0:
        head_start = at + len(delimiter)
        if body.startswith(b"--", head_start, stop):  # the closing delimiter
            break
        head_end = body.find(b"\r\n\r\n", head_start, stop)
        if head_end < 0:
            raise ValueError("truncated multipart part")
        headers: dict[str, str] = {}
        for line in body[head_start:head_end].decode("latin-1").split("\r\n"):
            key, sep, value = line.partition(":")
            if sep:
                headers[key.strip().lower()] = value.strip()
        content_start = head_end + 4
        length = headers.get("content-length")
        if length is not None and length.isdigit():
            content_end = content_start + int(length)
            at = body.find(delimiter, content_end, stop) if content_end <= stop else -1
        else:
            at = body.find(b"\r\n" + delimiter, content_start, stop)
            content_end = at
            at = at + 2 if at >= 0 else at
        if at < 0:
            raise ValueError("truncated multipart answer")
        out.append((headers, content_start, content_end))
    return out
