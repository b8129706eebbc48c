"""A CouchDB database over HTTP (远程数据库): Apache CouchDB 3.x, pouchdb-server or the gateway `/sync/{db}`.

Only the replication subset of the CouchDB API is used. JSON request bodies above `GZIP_MIN_BYTES` go
gzip-compressed once a probe, sent when the client opens, showed the server accepts them (the gateway
and pouchdb-server do; a server answering the probe with an error simply gets plain bodies, and so
does a body sent before the probe answered), answers are asked for with
`Accept-Encoding: gzip`, except reads from a near engine (`plain_answers`, ADR 0149). Network errors
and 5xx are retried with exponential backoff; 401/403 raise
`Unauthorized` at once.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx

from mobile.replication.backoff import Backoff, with_retries
from mobile.replication.endpoint import (
    JSON,
    AttachmentRef,
    Seq,
    Traffic,
    attachment_stubs,
    generation,
    revision_ancestry,
)
from mobile.replication.errors import MissingStub, RemoteError, Unauthorized, Unreachable
from mobile.replication.multipart import (
    data_bytes,
    decode_bulk_get,
    encode_related,
    has_data,
    inline_bulk_body,
)
from mobile.tls import tls_context
from shared.couchparams import encode_params

log = logging.getLogger(__name__)

# Below about one TCP segment gzip saves nothing worth a CPU cycle on a phone.
GZIP_MIN_BYTES = 1400
# Four attachment transfers at once fill a village link without starving the JSON requests
# (docs/design.md §Bytes on a village link).
ATTACHMENT_CONCURRENCY = 4
# Scans go base64 inside `_bulk_docs` (instead of one binary multipart PUT each) only to an engine
# this near: loopback or LAN, even on a busy machine (the fastest small request of a run on loopback
# took up to 56 ms at load 8; a village link's is 300 ms). Measured on loopback, the engines ingest
# scans so with less CPU, while on a slow link the third more bytes of base64 cost more than the
# requests saved (ADR 0142). Never through the gateway (a bearer token): there the link carries binary.
NEAR_RTT = 0.100
# Answers come without gzip, and a pull writes the source's log once per 5 s, over a round trip this
# short, through the gateway too: loopback, or the township office's LAN or Wi-Fi (1–5 ms). A
# mobile link's round trip is 30–100 ms and its bandwidth too low for plain JSON (gzip takes ~85 %
# off a `_changes` page), so there everything stays gzipped (ADR 0168).
LAN_RTT = 0.020
# Raw attachment bytes per `_bulk_docs` when they go inline: ~50 scans of 150 KB.
INLINE_BYTES = 8 * 1024 * 1024
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
DEFAULT_BACKOFF = Backoff()
# Answers that mean "this server has no _bulk_get": CouchDB < 2.0 (404/405), some proxies (400).
NO_BULK_GET = (400, 404, 405, 501)


def split_url(url: str) -> tuple[str, httpx.BasicAuth | None]:
    """`http://u:p@host:5984/db` → (`http://host:5984/db`, BasicAuth(u, p))."""
    parts = urlsplit(url.rstrip("/"))
    auth = None
    if parts.username is not None:
        auth = httpx.BasicAuth(unquote(parts.username), unquote(parts.password or ""))
    host = parts.hostname or "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")), auth


def doc_path(doc_id: str) -> str:
    for prefix in ("_design/", "_local/"):
        if doc_id.startswith(prefix):
            return prefix + quote(doc_id[len(prefix) :], safe="")
    return quote(doc_id, safe="")


class RemoteDB:
    """One remote database; `url` is the database URL, credentials either in it or as a bearer `token`."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        backoff: Backoff = DEFAULT_BACKOFF,
        compress_requests: bool | None = None,
        attachment_concurrency: int = ATTACHMENT_CONCURRENCY,
        inline_attachments: bool | None = None,
        slots: asyncio.Semaphore | None = None,
    ) -> None:
        """`inline_attachments`: the link as configured (tests and benchmarks emulating one). True:
        a near engine (scans base64 in `_bulk_docs`, answers plain); False: a far one (one binary
        PUT per scan, answers gzipped). None decides: to the gateway (`token`) scans binary and
        answers plain only over a LAN's round trip, else by the measured round trip (`near`).
        `slots`: the attachment transfers this database may have in flight, shared with other
        databases when given (a sync round's, ADR 0158); else its own `attachment_concurrency`."""
        self.url, auth = split_url(url)
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.AsyncClient(
            base_url=self.url + "/", auth=auth, headers=headers, timeout=timeout, transport=transport,
            verify=tls_context(),
        )
        self.backoff = backoff
        self.traffic = Traffic()
        self._gzip: bool | None = compress_requests  # None: not known (yet): plain bodies
        self._probe: asyncio.Task[None] | None = None
        self._bulk_get = True
        self._binary_bulk = True  # until the server answers a bulk read of bytes with base64
        self._slots = slots if slots is not None else asyncio.Semaphore(attachment_concurrency)
        self.inline_attachments = inline_attachments
        self.gateway = token is not None
        self.rtt: float | None = None  # the shortest round trip of a small request so far, seconds

    def __repr__(self) -> str:
        return f"RemoteDB({self.url!r})"

    async def aclose(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
        await self.client.aclose()

    async def __aenter__(self) -> RemoteDB:
        self._probe_gzip_soon()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- transport ---------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        compress: bool = True,
    ) -> httpx.Response:
        """One request with retries; raises `Unauthorized`, `RemoteError` or `Unreachable`."""
        if self._probe is None:  # the first use of a client not opened with `async with`
            self._probe_gzip_soon()
        hdrs = dict(headers or {})
        body = content
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode()
            hdrs["Content-Type"] = "application/json"
            if compress and len(body) >= GZIP_MIN_BYTES:
                if self._gzip:
                    body = gzip.compress(body, compresslevel=6)
                    hdrs["Content-Encoding"] = "gzip"
                else:
                    self._probe_gzip_soon()  # asked again after a probe the network lost
        query = encode_params(params)

        async def send() -> httpx.Response:
            self.traffic.requests += 1
            self.traffic.bytes_sent += len(body or b"")
            started = time.perf_counter()
            try:
                response = await self.client.request(method, path, params=query, content=body, headers=hdrs)
            except httpx.TransportError as exc:
                raise Unreachable(f"{type(exc).__name__} talking to {self.url}") from exc
            self._timed(time.perf_counter() - started, len(body or b""), response)
            self.traffic.bytes_received += response.num_bytes_downloaded
            if response.status_code >= 400:
                raise _error(response)
            return response

        try:
            return await with_retries(send, self.backoff, _retryable)
        except RemoteError as exc:
            if exc.status >= 500:
                raise Unreachable(str(exc)) from exc
            raise

    def _timed(self, seconds: float, sent: int, response: httpx.Response) -> None:
        """Keep the shortest round trip of small exchanges: the link's latency plus the least the
        server takes to answer (a request that moved many bytes says more about bandwidth)."""
        if sent < GZIP_MIN_BYTES and response.num_bytes_downloaded < GZIP_MIN_BYTES:
            self.rtt = seconds if self.rtt is None else min(self.rtt, seconds)

    def near(self) -> bool:
        """Whether scans go base64 in `_bulk_docs` (ADR 0142): as configured (never through the
        gateway unless asked), else when a round trip was measured and is a loopback's or a LAN's."""
        if self.inline_attachments is not None:
            return self.inline_attachments
        return not self.gateway and self.rtt is not None and self.rtt < NEAR_RTT

    def _probe_gzip_soon(self) -> None:
        """Send the gzip probe unless its answer is known or on its way. It starts when the client
        opens (or at its first request), alongside the replication logs' reads, so no body waits
        for it: one sent before the answer goes plain (ADR 0159)."""
        if self._gzip is None and (self._probe is None or self._probe.done()):
            self._probe = asyncio.create_task(self._learn_gzip())

    async def _learn_gzip(self) -> None:
        try:
            self._gzip = await self._probe_gzip()
        except Exception as exc:  # nobody awaits this task: whatever broke stays unknown, bodies plain
            log.info("gzip probe to %s failed: %s", self.url, exc)

    async def _probe_gzip(self) -> bool | None:
        """POST an empty gzipped `_revs_diff`; a server that decodes it answers `{}`.

        None (asked again by the next large body) when the network or the server failed, or the
        credentials were refused (the request that needs them says so): a flaky first minute must
        not cost gzip for the rest of the sync.
        """
        started = time.perf_counter()
        try:
            response = await self.client.post(
                "_revs_diff",
                content=gzip.compress(b"{}"),
                headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            )
        except httpx.TransportError:
            return None
        self._timed(time.perf_counter() - started, 0, response)
        self.traffic.requests += 1
        if response.status_code in (401, 403) or response.status_code >= 500:
            return None
        try:
            return response.status_code == 200 and response.json() == {}
        except ValueError:
            return False

    async def get_json(self, path: str, **params: Any) -> Any:
        return (await self.request("GET", path, params=params)).json()

    # -- Endpoint ----------------------------------------------------------------------------------

    async def identity(self) -> str:
        return self.url

    async def info(self) -> JSON:
        result: JSON = await self.get_json("")
        return result

    async def get_local(self, doc_id: str) -> JSON | None:
        """A `_local/` doc (None when there is none)."""
        try:
            result: JSON = await self.get_json(doc_path(doc_id))
        except RemoteError as exc:
            if exc.status == 404:
                return None
            raise
        return result

    async def put_local(self, doc: JSON) -> str:
        """Overwrite a `_local/` document: a 409 (e.g. after a retried PUT that had arrived) takes its rev."""
        try:
            response = await self.request("PUT", doc_path(doc["_id"]), json_body=doc)
        except RemoteError as exc:
            if exc.status != 409:
                raise
            current = await self.get_local(doc["_id"]) or {}
            fresh = (
                {**doc, "_rev": current["_rev"]}
                if "_rev" in current
                else {k: v for k, v in doc.items() if k != "_rev"}
            )
            response = await self.request("PUT", doc_path(doc["_id"]), json_body=fresh)
        return str(response.json().get("rev", ""))

    def plain_answers(self) -> bool:
        """Whether answers are asked for without gzip (ADRs 0149, 0168): from a `near` engine (or
        as configured), and through the gateway when its round trip is a LAN's (`LAN_RTT`): there
        gzip costs both sides CPU and saves no time; over a mobile or village link the bytes
        matter, so gzip stays."""
        if self.inline_attachments is not None or not self.gateway:
            return self.near()
        return self.rtt is not None and self.rtt < LAN_RTT

    def _read_headers(self, accept: str | None = None) -> dict[str, str]:
        headers = {"Accept-Encoding": "identity"} if self.plain_answers() else {}
        if accept is not None:
            headers["Accept"] = accept
        return headers

    async def changes(self, since: Seq, limit: int) -> JSON:
        response = await self.request(
            "GET",
            "_changes",
            params={"style": "all_docs", "since": since, "limit": limit},
            headers=self._read_headers(),
        )
        result: JSON = response.json()
        return result

    async def revs_diff(self, revs: Mapping[str, list[str]]) -> dict[str, JSON]:
        if not revs:
            return {}
        result: dict[str, JSON] = (await self.request("POST", "_revs_diff", json_body=dict(revs))).json()
        return result

    async def bulk_get(self, wanted: list[tuple[str, str]]) -> list[JSON]:
        if not wanted:
            return []
        if self._bulk_get:
            try:
                response = await self.request(
                    "POST",
                    "_bulk_get",
                    params={"revs": True},
                    json_body={"docs": [{"id": i, "rev": r} for i, r in wanted]},
                    headers=self._read_headers(),
                    compress=not self.plain_answers(),
                )
            except RemoteError as exc:
                if exc.status not in NO_BULK_GET:
                    raise
                log.info("%s has no _bulk_get (%s): falling back to open_revs", self.url, exc.status)
                self._bulk_get = False
            else:
                return [d["ok"] for row in response.json()["results"] for d in row["docs"] if "ok" in d]
        return await self._open_revs(wanted)

    async def _open_revs(self, wanted: list[tuple[str, str]]) -> list[JSON]:
        by_id: dict[str, list[str]] = {}
        for doc_id, rev in wanted:
            by_id.setdefault(doc_id, []).append(rev)

        async def one(doc_id: str, revs: list[str]) -> list[JSON]:
            async with self._slots:
                rows = await self.get_json(doc_path(doc_id), open_revs=revs, revs=True)
            return [row["ok"] for row in rows if "ok" in row]

        found = await asyncio.gather(*(one(i, r) for i, r in by_id.items()))
        return [doc for docs in found for doc in docs]

    async def get_attachment(self, ref: AttachmentRef) -> bytes:
        async with self._slots:
            response = await self.request(
                "GET",
                f"{doc_path(ref.doc_id)}/{quote(ref.name, safe='')}",
                params={"rev": ref.rev},
                headers=self._read_headers("*/*"),
            )
        return response.content

    async def get_with_attachments(
        self, wanted: list[tuple[str, str]]
    ) -> dict[tuple[str, str], dict[str, bytes]] | None:
        """One `_bulk_get?attachments=true` instead of one `GET` per attachment (ADR 0135).

        Asked with `Accept: multipart/related`: Apache CouchDB then sends the bytes binary;
        pouchdb-server answers JSON (base64). From a near engine that JSON comes without gzip
        (`plain_answers`) and costs the engine less than binary `GET`s (ADR 0149). From a far one
        it comes gzipped, about 1 % more bytes than binary on the link but, measured on loopback,
        more time than binary `GET`s (the engine encodes, the phone decodes 4/3 of the bytes): after
        one such answer that database is asked one attachment at a time again. None (fetch one by
        one) when the server has no `_bulk_get`.
        """
        if not wanted or not self._bulk_get:
            return None
        async with self._slots:
            # checked in the slot: requests queued behind a base64 answer
            if not self._binary_bulk and not self.plain_answers():
                return None
            try:
                response = await self.request(
                    "POST",
                    "_bulk_get",
                    params={"revs": True, "attachments": True},
                    json_body={"docs": [{"id": i, "rev": r} for i, r in wanted]},
                    # exactly this: CouchDB 3.5 answers JSON to a list, even one that prefers multipart
                    headers=self._read_headers("multipart/related"),
                    compress=not self.plain_answers(),
                )
            except RemoteError as exc:
                if exc.status in NO_BULK_GET:
                    return None
                raise
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("multipart/"):
            docs = decode_bulk_get(response.content, content_type)
        else:  # base64: take what came, then go back to binary GETs
            self._binary_bulk = False
            docs = [d["ok"] for row in response.json()["results"] for d in row["docs"] if "ok" in d]
        found: dict[tuple[str, str], dict[str, bytes]] = {}
        for doc in docs:
            datas: dict[str, bytes] = {}
            for name, att in attachment_stubs(doc).items():
                data = att.get("data")
                if isinstance(data, bytes):
                    datas[name] = data
                elif isinstance(data, str):
                    datas[name] = base64.b64decode(data)
            found[(str(doc.get("_id")), str(doc.get("_rev")))] = datas
        return found

    async def missing_attachments(
        self, docs: list[JSON], ancestors: Mapping[str, list[str]]
    ) -> set[tuple[str, str, str]]:
        """Stubs newer than the newest ancestor this database holds (CouchDB's `revpos` rule).

        Apache CouchDB reports `possible_ancestors` in `_revs_diff`; pouchdb-server does not, so the
        ancestors of such documents are asked for in one more `_revs_diff`.
        """
        with_atts = [d for d in docs if attachment_stubs(d)]
        held: dict[tuple[str, str], int] = {}
        probe: dict[str, list[str]] = {}
        for doc in with_atts:
            ancestry = revision_ancestry(doc)
            known = set(ancestors.get(doc["_id"], [])) & set(ancestry[1:])
            if known:
                held[(doc["_id"], doc["_rev"])] = max(generation(r) for r in known)
            elif len(ancestry) > 1:
                probe.setdefault(doc["_id"], []).extend(ancestry[1:])
        if probe:
            diff = await self.revs_diff({k: sorted(set(v)) for k, v in probe.items()})
            for doc in with_atts:
                if doc["_id"] not in probe:
                    continue
                missing = set(diff.get(doc["_id"], {}).get("missing", []))
                present = [r for r in revision_ancestry(doc)[1:] if r not in missing]
                if present:
                    held[(doc["_id"], doc["_rev"])] = max(generation(r) for r in present)
        lacking: set[tuple[str, str, str]] = set()
        for doc in with_atts:
            base = held.get((doc["_id"], doc["_rev"]), 0)
            for name, att in attachment_stubs(doc).items():
                if int(att.get("revpos", generation(doc["_rev"]))) > base:
                    lacking.add((doc["_id"], doc["_rev"], name))
        return lacking

    async def write_docs(self, docs: list[JSON]) -> list[JSON]:
        """Documents carrying bytes go one by one as multipart/related, the rest in one `_bulk_docs`.

        All of them at once: on a slow link the JSON batch travels while the scans upload. To a
        `near` server the bytes go base64 in `_bulk_docs` instead, `INLINE_BYTES` per request.
        """
        if self.near() and any(has_data(d) for d in docs):
            return await self._write_inline(docs)
        plain = [d for d in docs if not has_data(d)]
        rich = [d for d in docs if has_data(d)]

        async def bulk() -> list[JSON]:
            if not plain:
                return []
            response = await self.request("POST", "_bulk_docs", json_body={"docs": plain, "new_edits": False})
            return [row for row in response.json() if "error" in row]

        results = await asyncio.gather(bulk(), *(self._put_related(d) for d in rich), return_exceptions=True)
        failures: list[JSON] = []
        for result in results:  # what went through stays written even when one request failed
            if isinstance(result, BaseException):
                raise result
            if isinstance(result, list):
                failures.extend(result)
            elif result is not None:
                failures.append(result)
        return failures

    async def _write_inline(self, docs: list[JSON]) -> list[JSON]:
        """`_bulk_docs` with the attachment bytes base64 (`encode_inline`: digest and revpos as the
        source holds them), in groups of at most `INLINE_BYTES`, not gzipped (base64 of a JPEG
        gzips back to about the binary size: CPU spent for nothing on a fast link)."""
        groups: list[list[JSON]] = [[]]
        size = 0
        for doc in docs:
            need = data_bytes(doc)
            if groups[-1] and size + need > INLINE_BYTES:
                groups.append([])
                size = 0
            groups[-1].append(doc)
            size += need

        async def bulk(group: list[JSON]) -> list[JSON]:
            async with self._slots:
                if any(has_data(d) for d in group):  # base64 spliced in, not through json.dumps
                    response = await self.request(
                        "POST",
                        "_bulk_docs",
                        content=inline_bulk_body(group),
                        headers={"Content-Type": "application/json"},
                    )
                else:
                    response = await self.request(
                        "POST", "_bulk_docs", json_body={"docs": group, "new_edits": False}
                    )
            return [row for row in response.json() if "error" in row]

        results = await asyncio.gather(*(bulk(g) for g in groups), return_exceptions=True)
        failures: list[JSON] = []
        for result in results:  # what went through stays written even when one request failed
            if isinstance(result, BaseException):
                raise result
            failures.extend(result)
        stub = next((f for f in failures if f.get("error") == "missing_stub"), None)
        if stub is not None:
            raise MissingStub(412, "missing_stub", str(stub.get("reason", "")))
        return failures

    async def _put_related(self, doc: JSON) -> JSON | None:
        body, content_type = encode_related(doc)
        async with self._slots:
            try:
                await self.request(
                    "PUT",
                    doc_path(doc["_id"]),
                    params={"new_edits": False},
                    content=body,
                    headers={"Content-Type": content_type},
                )
            except MissingStub:
                raise
            except Unauthorized as exc:
                if exc.status == 401:
                    raise
                return {"id": doc["_id"], "error": "forbidden", "reason": exc.reason}
            except RemoteError as exc:
                return {"id": doc["_id"], "error": exc.error, "reason": exc.reason}
        return None

    async def conflicted(self, ids: Iterable[str]) -> set[str] | None:
        return None


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, Unreachable):
        return True
    return isinstance(exc, RemoteError) and exc.retryable


def _error(response: httpx.Response) -> Exception:
    try:
        body = response.json()
        error = str(body.get("error", "unknown_error"))
        reason = str(body.get("reason", ""))
    except (ValueError, AttributeError):
        error, reason = "unknown_error", response.reason_phrase
    if response.status_code in (401, 403):
        return Unauthorized(response.status_code, reason or error)
    if response.status_code == 412 and error == "missing_stub":
        return MissingStub(412, error, reason)
    return RemoteError(response.status_code, error, reason)
