"""A `_bulk_get` of attachment bytes answered binary (二进制批量读取) when the engine sends base64.

A device asks `POST _bulk_get?attachments=true` with `Accept: multipart/related` (ADR 0135).
Apache CouchDB answers that multipart, the scans' bytes binary, and the gateway streams it
through as it came. pouchdb-server always answers JSON with the bytes base64 (gzipped when
asked), and the app then reads every other scan of its run with one `GET` each: through the
gateway on the embedded engine a pull of 60 scans was 51 requests instead of 19 (ADR 0164).

So for a device that asked exactly `multipart/related` and an engine that is not Apache
CouchDB, the gateway asks the engine for the JSON without gzip (cheapest for its one thread on
loopback or a LAN) and sends CouchDB's multipart form: per revision a nested
`multipart/related` (the document as JSON, each attachment `"follows": true` with its
`length`, then one binary part per attachment named by its `Content-Disposition` filename),
a plain JSON part for a revision without bytes, and `application/json; error="true"` for an
error row (pouchdb-server's `{"missing": rev}` too). Digests, `revpos` and every other field
are the engine's; only `data` becomes a part. An answer the gateway cannot convert faithfully —
larger than `MAX_CONVERTED`, not the JSON shape expected, an attachment name a multipart header
cannot carry as is — goes to the device exactly as the engine sent it (JSON), which the app
reads as before. Nothing is lost.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import secrets
from collections.abc import AsyncIterable, Iterable
from typing import Any

import aiohttp
import orjson
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from sync_server.couch import Couch
from sync_server.gateway.proxy import CONNECT_TIMEOUT, forward, shaped_error, unavailable, upstream_url

log = logging.getLogger(__name__)

MULTIPART = "multipart/related"
# An answer larger than this is not held to be converted: it streams through as JSON. The app
# asks at most 1 MB of scans a request (base64: 1.4 MB); another client may ask for more.
MAX_CONVERTED = 32 * 1024 * 1024
# Attachment names a `filename="…"` parameter carries as is (the app reads it without unescaping).
PLAIN_NAME = re.compile(r'[\x20-\x7e]+')
READ_TIMEOUT = 60.0


def wants_binary(accept: str, params: Iterable[tuple[str, str]]) -> bool:
    """A bulk read of bytes asked in CouchDB's binary form (exactly `multipart/related`)."""
    return accept.strip().lower() == MULTIPART and ("attachments", "true") in list(params)


async def binary_bulk_get(couch: Couch, db: str, params: list[tuple[str, str]], body: bytes,
                          client_gzip: bool) -> Response:
    """The engine's answer to the `_bulk_get`, as multipart when the engine sent JSON."""
    if await couch.is_apache_couchdb():  # it answers multipart itself: streamed through
        return await forward(couch, "POST", f"/{db}/_bulk_get", params=params, content=body,
                             headers={"Content-Type": "application/json", "Accept": MULTIPART},
                             client_gzip=client_gzip)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT)
    try:
        upstream = await couch.forwarding().request(
            "POST", upstream_url(couch, f"/{db}/_bulk_get", params), data=body, timeout=timeout,
            headers={"Content-Type": "application/json", "Accept": "application/json",
                     "Accept-Encoding": "identity"})
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("CouchDB unreachable for _bulk_get: %s", type(exc).__name__)
        return unavailable()
    held = bytearray()
    try:
        async for chunk in upstream.content.iter_any():
            held += chunk
            if len(held) > MAX_CONVERTED:
                return _as_sent(upstream, bytes(held))
    except (aiohttp.ClientError, TimeoutError):
        upstream.close()
        return unavailable()
    upstream.release()
    if upstream.status >= 400:
        return shaped_error(upstream.status, bytes(held))
    raw = bytes(held)
    converted = to_multipart(raw)
    if converted is None:
        return Response(raw, status_code=upstream.status,
                        media_type=upstream.headers.get("content-type", "application/json"))
    content, content_type = converted
    return Response(content, status_code=upstream.status, media_type=content_type)


def _as_sent(upstream: aiohttp.ClientResponse, head: bytes) -> Response:
    """A large answer streams on as the engine sends it: what was read first, then the rest."""

    async def rest() -> AsyncIterable[bytes]:
        yield head
        try:
            async for chunk in upstream.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, TimeoutError):
            return  # the device sees a truncated body and retries

    def let_go() -> None:
        if upstream.content.at_eof():
            upstream.release()
        else:
            upstream.close()

    return StreamingResponse(rest(), status_code=upstream.status,
                             media_type=upstream.headers.get("content-type", "application/json"),
                             background=BackgroundTask(let_go))


def to_multipart(raw: bytes) -> tuple[bytes, str] | None:
    """(body, content type) of CouchDB's multipart form of a JSON `_bulk_get` answer, or None
    when the answer is not one this conversion carries faithfully (it then goes as it came)."""
    try:
        answer = orjson.loads(raw)
        rows = answer["results"]
        chunks: list[bytes] = []
        boundary = secrets.token_hex(16)
        for row in rows:
            for entry in row["docs"]:
                kind, body = _entry(entry)
                size = sum(len(chunk) for chunk in body)
                chunks.append(f"--{boundary}\r\nContent-Type: {kind}\r\n"
                              f"Content-Length: {size}\r\n\r\n".encode())
                chunks.extend(body)
                chunks.append(b"\r\n")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, binascii.Error) as exc:
        log.info("a _bulk_get answer goes as the engine sent it: %s", type(exc).__name__)
        return None
    chunks.append(f"--{boundary}--".encode())
    return b"".join(chunks), f'{MULTIPART}; boundary="{boundary}"'


def _entry(entry: dict[str, Any]) -> tuple[str, list[bytes]]:
    """The content type and body of one `{"ok": doc}` or `{"error": …}` entry's part."""
    if "ok" not in entry:  # pouchdb-server: {"missing": rev} or {"error": {...}}
        if not entry:
            raise ValueError("an empty entry")
        return 'application/json; error="true"', [orjson.dumps(entry.get("error", entry))]
    doc = entry["ok"]
    atts = doc.get("_attachments")
    datas = {name: att for name, att in (atts or {}).items() if isinstance(att.get("data"), str)}
    if not datas:
        return "application/json", [orjson.dumps(doc)]
    inner = secrets.token_hex(16)
    parts: list[bytes] = []
    heads: dict[str, Any] = {}
    for name, att in atts.items():
        if name not in datas:
            heads[name] = att
            continue
        if not PLAIN_NAME.fullmatch(name) or '"' in name or ";" in name or "\\" in name:
            raise ValueError("an attachment name a multipart header cannot carry as is")
        data = base64.b64decode(att["data"], validate=True)
        meta = {k: v for k, v in att.items() if k not in ("data", "stub", "encoding", "encoded_length")}
        heads[name] = {**meta, "follows": True, "length": len(data)}
        content_type = str(att.get("content_type", "application/octet-stream"))
        if "\r" in content_type or "\n" in content_type:
            raise ValueError("a content type a header cannot carry")
        parts.append(f'\r\n--{inner}\r\nContent-Disposition: attachment; filename="{name}"\r\n'
                     f"Content-Type: {content_type}\r\nContent-Length: {len(data)}\r\n\r\n".encode())
        parts.append(data)
    head = orjson.dumps({**doc, "_attachments": heads})
    return (f'{MULTIPART}; boundary="{inner}"',
            [f"--{inner}\r\nContent-Type: application/json\r\n\r\n".encode(), head, *parts,
             f"\r\n--{inner}--".encode()])
