"""`multipart/related` document bodies (多部分文档): scanned from a spooled file.

CouchDB's `PUT /{db}/{doc}?new_edits=false` body: the document JSON first, then one part per
attachment marked `"follows": true`, in the order of `_attachments`. The scan finds the
part boundaries by reading the file in blocks, so a body with 30 MB of scans never sits in
memory; only the JSON part and the first bytes of each attachment are read.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import IO, Any

import pybase64

from sync_server import jsonlimits
from sync_server.couch import encoded
from sync_server.gateway.sniff import SNIFF_BYTES

BLOCK = 64 * 1024
MAX_JSON_PART = 8 * 1024 * 1024  # bytes: CouchDB's default max_document_size


class MultipartError(ValueError):
    """The body is not a well-formed multipart/related document."""


@dataclass(frozen=True)
class Part:
    headers: dict[str, str]
    start: int  # offset of the part's body in the file
    length: int
    head: bytes  # the first SNIFF_BYTES of the body


def boundary_of(content_type: str) -> bytes:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise MultipartError("multipart/related without a boundary")
    return match.group(1).encode("latin-1")


def _delimiters(file: IO[bytes], marker: bytes) -> list[int]:
    """Offsets of every `marker` in the file."""
    found: list[int] = []
    file.seek(0)
    offset, carry = 0, b""
    while block := file.read(BLOCK):
        data = carry + block
        base = offset - len(carry)
        start = 0
        while (hit := data.find(marker, start)) != -1:
            if not found or base + hit > found[-1]:
                found.append(base + hit)
            start = hit + 1
        carry = data[-(len(marker) - 1):] if len(marker) > 1 else b""
        offset += len(block)
    return found


def scan(file: IO[bytes], boundary: bytes) -> tuple[dict[str, Any], list[Part]]:
    """The document and the attachment parts of a multipart/related body."""
    dash = b"--" + boundary
    # A delimiter is CRLF + "--boundary" (RFC 2046); the first may open the body without the CRLF.
    hits = _delimiters(file, b"\r\n" + dash)
    file.seek(0)
    if file.read(len(dash)) == dash:
        hits.insert(0, -2)
    hits = [h for h in hits if _followed_by_line_end(file, h + 2 + len(dash))]
    if len(hits) < 2:
        raise MultipartError("multipart body without parts")
    parts: list[Part] = []
    for this, nxt in itertools.pairwise(hits):
        header_start = this + 2 + len(dash)
        file.seek(header_start)
        if file.read(2) != b"\r\n":
            raise MultipartError("malformed multipart delimiter")
        header_start += 2
        header_block = file.read(min(8192, max(nxt - header_start, 0)))
        if header_block.startswith(b"\r\n"):  # a part without headers
            split, skip = 0, 2
        else:
            split, skip = header_block.find(b"\r\n\r\n"), 4
            if split == -1:
                raise MultipartError("multipart part without a header end")
        body_start = header_start + split + skip
        if nxt < body_start:
            raise MultipartError("malformed multipart part")
        file.seek(body_start)
        parts.append(Part(_headers(header_block[:split]), body_start, nxt - body_start,
                          file.read(min(SNIFF_BYTES, nxt - body_start))))
    file.seek(hits[-1] + 2 + len(dash))
    if file.read(2) != b"--":
        raise MultipartError("multipart body without its closing delimiter")
    first = parts[0]
    if first.length > MAX_JSON_PART:
        raise MultipartError("the document part is too large")
    file.seek(first.start)
    try:
        doc = jsonlimits.loads(file.read(first.length))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MultipartError("the first part is not a JSON document") from exc
    if not isinstance(doc, dict):
        raise MultipartError("the first part is not a JSON object")
    return doc, parts[1:]


def _followed_by_line_end(file: IO[bytes], offset: int) -> bool:
    file.seek(offset)
    return file.read(2) in (b"\r\n", b"--")


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.decode("latin-1").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers




def inline(doc: dict[str, Any], parts: list[Part], file: IO[bytes]) -> bytes:
    """The document as JSON with each `follows` attachment's bytes inline (base64), for CouchDB.

    `revpos` is kept as sent, or set to the revision's generation when the device sent none
    (Apache CouchDB would store 0, and then refuse the device's later stubs). Content types
    were checked and made canonical before; each part's bytes are read from the spool once.
    The base64 text is spliced into the JSON as bytes: it never needs escaping, and running
    `json.dumps` over 200 KB of it cost the gateway about 2 ms per scan.
    """
    generation = int(str(doc.get("_rev", "1-")).split("-", 1)[0] or 1)
    atts = dict(doc.get("_attachments") or {})
    follows = [name for name, att in atts.items() if isinstance(att, dict) and att.get("follows") is True]
    if not follows:
        return _dumps(doc)
    data: dict[str, bytes] = {}
    for name, part in zip(follows, parts, strict=True):
        file.seek(part.start)
        data[name] = pybase64.b64encode(file.read(part.length))  # SIMD: 0.004 ms per 150 KB scan, not 0.25
        entry = {k: v for k, v in atts[name].items() if k not in ("follows", "length", "digest")}
        entry.setdefault("revpos", generation)
        atts[name] = entry
    rest = _dumps({k: v for k, v in doc.items() if k != "_attachments"})
    chunks = [rest[:-1], b"," if len(rest) > 2 else b"", b'"_attachments":{']
    for n, (name, entry) in enumerate(atts.items()):
        meta = _dumps(entry)
        chunks += [b"," if n else b"", _dumps(name), b":"]
        if name in data:  # `{…}` with `"data":"…"` as its last member
            chunks += [meta[:-1], b"," if len(meta) > 2 else b"", b'"data":"', data[name], b'"}']
        else:
            chunks.append(meta)
    chunks.append(b"}}")
    return b"".join(chunks)  # one copy of the bytes


def _dumps(value: Any) -> bytes:
    return encoded(value)
