"""Longpoll `_changes` (长轮询) with a deadline the gateway keeps itself.

CouchDB answers a longpoll after `timeout` with no results; pouchdb-server ignores `timeout`
and holds the request until a change comes, however long. So the gateway does not rely on
either: it asks first whether anything is there (`limit=1`, no feed). If so, the device's
request is answered as a normal feed at once — what a longpoll would do. If not, it waits
upstream from that probe's `last_seq` for at most the longpoll's `timeout` (≤ 60 s), then
answers what came, or on the deadline `{"results": [], "last_seq": <the probe's>}`: CouchDB's
own answer to a longpoll that timed out, from which the device simply asks again (ADR 0104).
The wait goes through the feeds' pool, its answer is read whole (only changes made during
the wait, capped), and the caller's slot (`gateway.feeds`) is given back as soon as it ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
from starlette.responses import JSONResponse, Response

from sync_server.couch import Couch
from sync_server.gateway.proxy import CONNECT_TIMEOUT, forward, shaped_error, unavailable, upstream_url
from sync_server.gateway.query import ChangesRequest

log = logging.getLogger(__name__)

MAX_ANSWER = 32 * 1024 * 1024  # bytes of changes arriving during one wait; past it: come again
PROBE_TIMEOUT = 30.0  # seconds for the `limit=1` look


async def longpoll(couch: Couch, path: str, changes: ChangesRequest, *, client_gzip: bool) -> Response:
    headers = {"Content-Type": "application/json"} if changes.body is not None else {}
    method = "POST" if changes.body is not None else "GET"
    wait = int(dict(changes.params).get("timeout", "0")) / 1000
    plain = [(k, v) for k, v in changes.params if k not in ("feed", "timeout")]
    probe_params = [(k, v) for k, v in plain if k != "limit"] + [("limit", "1")]
    status, probe = await _fetch(couch, method, path, probe_params, changes.body, headers, PROBE_TIMEOUT)
    if status is None:
        return unavailable()
    if status >= 400:
        return shaped_error(status, probe)
    try:
        answer: Any = json.loads(probe)
        found, last_seq = bool(answer["results"]), answer["last_seq"]
    except (ValueError, KeyError, TypeError):
        log.warning("the engine's _changes answer has no results/last_seq")
        return unavailable()
    if found or wait <= 0:  # something to send already: a longpoll would answer at once
        return await forward(couch, method, path, params=plain, content=changes.body, headers=headers or None,
                             client_gzip=client_gzip, read_timeout=changes.wait)
    since = last_seq if isinstance(last_seq, str) else json.dumps(last_seq)
    held = [(k, v) for k, v in changes.params if k != "since"] + [("since", since)]
    try:
        async with asyncio.timeout(wait + 1.0):  # CouchDB answers on its own at `timeout`
            status, body = await _fetch(couch, method, path, held, changes.body, headers, wait + 5.0)
    except TimeoutError:
        status, body = None, b""
    if status == 200 and body:
        return Response(body, media_type="application/json")
    if status is not None and status >= 400:
        return shaped_error(status, body)
    return JSONResponse({"results": [], "last_seq": last_seq})


async def _fetch(couch: Couch, method: str, path: str, params: list[tuple[str, str]], body: bytes | None,
                 headers: dict[str, str], read_timeout: float) -> tuple[int | None, bytes]:
    """Status and whole body through the feeds' pool; None when unreachable or past MAX_ANSWER."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT, sock_read=read_timeout)
    try:
        async with couch.feeds().request(method, upstream_url(couch, path, params), data=body,
                                         headers={"Accept-Encoding": "identity", **headers},
                                         timeout=timeout) as upstream:
            raw = bytearray()
            async for chunk in upstream.content.iter_any():
                raw += chunk
                if len(raw) > MAX_ANSWER:
                    return None, b""
            return upstream.status, bytes(raw)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.info("longpoll upstream ended: %s", type(exc).__name__)
        return None, b""
