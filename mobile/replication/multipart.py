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

import json
import secrets
from typing import Any

from mobile.replication.endpoint import JSON, generation
from mobile.store.attachments import digest_of


def has_data(doc: JSON) -> bool:
    return any(isinstance(att.get("data"), bytes) for att in (doc.get("_attachments") or {}).values())


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
