"""Forwarding to CouchDB (转发): streamed answers, CouchDB-shaped errors, quick 503.

Answers stream through chunk by chunk (attachments are never held whole), in the encoding
CouchDB sent when the device accepts it (gzip passes through undecoded), else decoded and
compressed by the app's GZip middleware as before.
An unreachable CouchDB gives 503 after the connect timeout, not a hang.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterable, Iterable, Mapping
from urllib.parse import quote, urlencode

import aiohttp
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, Response, StreamingResponse
from yarl import URL

from sync_server.couch import Couch

PASS_HEADERS = ("content-type", "etag", "content-md5", "cache-control", "x-couch-request-id")
log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0  # seconds: loopback or LAN; longer means CouchDB is down


def couch_error(status: int, error: str, reason: str) -> Response:
    return JSONResponse({"error": error, "reason": reason}, status_code=status)


def unavailable() -> Response:
    return couch_error(503, "service_unavailable", "数据库暂时不可用 / CouchDB is unreachable: retry later")


async def forward(couch: Couch, method: str, path: str, *, params: Iterable[tuple[str, str]] = (),
                  content: bytes | AsyncIterable[bytes] | None = None,
                  headers: Mapping[str, str] | None = None,
                  read_timeout: float = 60.0, client_gzip: bool = False, buffered: bool = False) -> Response:
    """Send one request upstream and stream its answer back (`buffered`: read it whole first).

    `client_gzip`: the device accepts gzip. Then CouchDB is asked for gzip and a gzipped answer
    passes through as it came (the app's GZip middleware leaves an encoded answer alone); else
    CouchDB is asked for the identity encoding. Either way the gateway never decodes and
    re-encodes a body (ADR 0047). A streamed request body (`content` an async iterable) needs
    its `Content-Length` in `headers`. `params` are the checked ones (`gateway.query`), sent
    percent-encoded in full so the engine's query parser sees exactly them (ADR 0104).
    """
    wanted = {"Accept-Encoding": "gzip" if client_gzip else "identity", **(headers or {})}
    url = upstream_url(couch, path, params)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT, sock_read=read_timeout)
    try:
        upstream = await couch.forwarding().request(
            method, url, data=content, headers=wanted, timeout=timeout, auto_decompress=not client_gzip)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("CouchDB unreachable for %s %s: %s", method, path, type(exc).__name__)
        return unavailable()
    if upstream.status >= 400:
        raw = await _read_whole(upstream)
        return unavailable() if raw is None else shaped_error(upstream.status, raw)
    kept = {k: v for k, v in upstream.headers.items() if k.lower() in PASS_HEADERS}
    if method == "HEAD":
        upstream.release()
        return Response(status_code=upstream.status, headers=kept)
    if buffered:  # a small answer (a write's {"ok", "id", "rev"}): no streaming machinery
        body = await _read_whole(upstream)
        if body is None:
            return unavailable()
        return Response(body, status_code=upstream.status, headers=kept)
    encoding = upstream.headers.get("content-encoding", "identity").strip().lower()
    if client_gzip and encoding != "identity":  # passed through undecoded
        kept.update({"Content-Encoding": encoding, "Vary": "Accept-Encoding"})
    return StreamingResponse(_chunks(upstream), status_code=upstream.status, headers=kept,
                             background=BackgroundTask(_let_go, upstream))


def upstream_url(couch: Couch, path: str, params: Iterable[tuple[str, str]] = ()) -> URL:
    """`path` (quoted already: `couch.doc_path`) with `params` percent-encoded in full."""
    query = urlencode(list(params), quote_via=quote, safe="")
    return URL(couch.base_url + path + (f"?{query}" if query else ""), encoded=True)


async def _read_whole(upstream: aiohttp.ClientResponse) -> bytes | None:
    """The whole (small) answer, or None when CouchDB went away while sending it."""
    try:
        return await upstream.read()
    except (aiohttp.ClientError, TimeoutError):
        return None
    finally:
        upstream.release()


async def _chunks(upstream: aiohttp.ClientResponse) -> AsyncIterable[bytes]:
    try:
        async for chunk in upstream.content.iter_any():
            yield chunk
    except (aiohttp.ClientError, TimeoutError):
        return  # CouchDB went away mid-answer: the client sees a truncated body and retries
    finally:
        await _let_go(upstream)


async def _let_go(upstream: aiohttp.ClientResponse) -> None:
    """Back to the pool when read to the end; else (a longpoll the device abandoned) closed."""
    if upstream.content.at_eof():
        upstream.release()
    else:
        upstream.close()


def shaped_error(status: int, raw: bytes) -> Response:
    """CouchDB's own `{"error", "reason"}` when it sent one, else one in its shape."""
    try:
        body = json.loads(raw)
        error, reason = str(body["error"]), str(body.get("reason", ""))
    except (ValueError, KeyError, TypeError):
        error, reason = "unknown_error", f"CouchDB answered {status}"
    return couch_error(status, error, reason)
