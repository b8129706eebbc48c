"""Async CouchDB client (CouchDB 客户端) used by the server, gateway and workers.

A thin layer over `httpx.AsyncClient` that speaks to Apache CouchDB 3.x or pouchdb-server
with admin credentials taken from the base URL. It follows CouchDB's documented API only:
`seq` values are passed back untouched, errors are CouchDB's `{"error", "reason"}` bodies.
The gateway's forwards go through a second pool, an `aiohttp.ClientSession`
(`Couch.forwarding`), which costs a sixth of httpx's CPU per request (ADR 0102); so do the
look-ups a gateway write makes before it is forwarded (`Couch.post_json`, ADR 0153).

    CouchError                 any non-2xx answer (status, error, reason)
    └── CouchUnavailable       the server could not be reached (connection refused, timeout)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

import aiohttp
import httpx
import orjson
from yarl import URL

from shared.couchparams import encode_params
from shared.jsontypes import JSON as JSON

# Workers use longpoll feeds: the client timeout must outlast CouchDB's feed timeout.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# Connections of the gateway's two forwarding pools (ADR 0104). Longpolls are admitted below
# FEED_POOL (`gateway.feeds`), so they never queue for a connection nor take a forward's.
FORWARD_POOL = 100
FEED_POOL = 72
LOOKUP_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=30.0)  # as DEFAULT_TIMEOUT


class CouchError(Exception):
    """A CouchDB answer outside 2xx, carrying CouchDB's error and reason."""

    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(f"{status} {error}: {reason}")
        self.status = status
        self.error = error
        self.reason = reason


class CouchUnavailable(CouchError):
    """CouchDB could not be reached at all."""

    def __init__(self, reason: str) -> None:
        super().__init__(503, "service_unavailable", reason)


def split_credentials(url: str) -> tuple[str, httpx.BasicAuth | None]:
    """`http://u:p@host:5984/` → (`http://host:5984`, BasicAuth(u, p))."""
    parts = urlsplit(url.rstrip("/"))
    auth = None
    if parts.username is not None:
        auth = httpx.BasicAuth(unquote(parts.username), unquote(parts.password or ""))
    host = parts.hostname or "127.0.0.1"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")), auth


def doc_path(db: str, doc_id: str) -> str:
    """URL path of a document; `_design/` and `_local/` keep their slash."""
    for prefix in ("_design/", "_local/"):
        if doc_id.startswith(prefix):
            return f"/{quote(db, safe='')}/{prefix}{quote(doc_id[len(prefix):], safe='')}"
    return f"/{quote(db, safe='')}/{quote(doc_id, safe='')}"


class Couch:
    """One connection pool to one CouchDB server, with admin rights."""

    def __init__(self, url: str, *, timeout: httpx.Timeout = DEFAULT_TIMEOUT,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        base, auth = split_credentials(url)
        self.base_url = base
        self.client = httpx.AsyncClient(base_url=base, auth=auth, timeout=timeout, transport=transport,
                                        headers={"Accept": "application/json"})
        self._forward_auth = aiohttp.BasicAuth.from_url(URL(url))
        self._forwarding: aiohttp.ClientSession | None = None
        self._feeds: aiohttp.ClientSession | None = None
        self._apache: bool | None = None  # the engine's kind, once asked

    def forwarding(self) -> aiohttp.ClientSession:
        """The pool the gateway forwards devices' requests through, made on first use in the running loop."""
        if self._forwarding is None or self._forwarding.closed:
            self._forwarding = self._session(FORWARD_POOL)
        return self._forwarding

    def feeds(self) -> aiohttp.ClientSession:
        """The longpolls' own pool: a held feed never takes a connection a write or read needs (ADR 0104)."""
        if self._feeds is None or self._feeds.closed:
            self._feeds = self._session(FEED_POOL)
        return self._feeds

    def _session(self, size: int) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(headers={"Accept": "application/json"}, auth=self._forward_auth,
                                     connector=aiohttp.TCPConnector(limit=size, limit_per_host=size))

    async def aclose(self) -> None:
        for session in (self._forwarding, self._feeds):
            if session is not None:
                await session.close()
        await self.client.aclose()

    async def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                      json_body: Any = None, content: bytes | None = None,
                      headers: Mapping[str, str] | None = None,
                      timeout: float | None = None) -> httpx.Response:
        """Send one request; raise `CouchError` on a non-2xx answer, `CouchUnavailable` when unreachable."""
        body = content if json_body is None else json.dumps(json_body).encode()
        hdrs = dict(headers or {})
        if json_body is not None:
            hdrs.setdefault("Content-Type", "application/json")
        try:
            response = await self.client.request(
                method, path, params=encode_params(params), content=body, headers=hdrs,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT)
        except (httpx.ConnectError, httpx.TimeoutException, httpx.RemoteProtocolError,
                httpx.ReadError, httpx.WriteError) as exc:
            raise CouchUnavailable(f"CouchDB is unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise _error(response)
        return response

    async def post_json(self, path: str, body: Any, *, params: Mapping[str, Any] | None = None,
                        headers: Mapping[str, str] | None = None) -> Any:
        """`request("POST", path, json_body=body).json()` through the aiohttp pool (ADR 0153):
        the gateway's look-ups, a few per write, at under half httpx's CPU each. The answer is
        parsed by the standard library, exactly as `httpx.Response.json` does."""
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        return json.loads(await self.post_bytes(path, encoded(body), params=params, headers=hdrs))

    async def post_bytes(self, path: str, data: bytes, *, params: Mapping[str, Any] | None = None,
                         headers: Mapping[str, str] | None = None,
                         timeout: aiohttp.ClientTimeout = LOOKUP_TIMEOUT) -> bytes:
        """One `POST` of `data` through the aiohttp pool (ADRs 0102, 0153); the raw answer.

        Raises `CouchError` on a non-2xx answer, `CouchUnavailable` when CouchDB is unreachable.
        """
        query = encode_params(params)
        url = URL(self.base_url + path + (f"?{urlencode(query, quote_via=quote, safe='')}" if query else ""),
                  encoded=True)
        try:
            async with self.forwarding().post(url, data=data, headers=headers, timeout=timeout) as answer:
                raw = await answer.read()
                status = answer.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CouchUnavailable(f"CouchDB is unreachable: {type(exc).__name__}") from exc
        if status >= 400:
            raise _error_of(status, raw)
        return raw

    async def get_json(self, path: str, **params: Any) -> Any:
        return (await self.request("GET", path, params=params)).json()

    async def up(self) -> bool:
        """True when the server answers `GET /` with its welcome."""
        try:
            await self.request("GET", "/", timeout=5.0)
        except CouchError:
            return False
        return True

    async def has_db_updates(self) -> bool:
        """True on Apache CouchDB, whose `_db_updates` feed announces database creations;
        pouchdb-server welcomes as `express-pouchdb` and has no such feed."""
        welcome: JSON = await self.get_json("/")
        return "couchdb" in welcome and "express-pouchdb" not in welcome

    async def is_apache_couchdb(self) -> bool:
        """`has_db_updates`, asked once per client: the engine behind a URL does not change kind."""
        if self._apache is None:
            self._apache = await self.has_db_updates()
        return self._apache

    async def db_exists(self, db: str) -> bool:
        try:
            await self.request("HEAD", f"/{quote(db, safe='')}")
        except CouchError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def create_db(self, db: str) -> bool:
        """Create `db`; False when it already exists."""
        try:
            await self.request("PUT", f"/{quote(db, safe='')}")
        except CouchError as exc:
            if exc.status == 412:
                return False
            raise
        return True

    async def get_doc(self, db: str, doc_id: str, **params: Any) -> JSON | None:
        """The document, or None when missing or deleted."""
        try:
            result: JSON = await self.get_json(doc_path(db, doc_id), **params)
        except CouchError as exc:
            if exc.status == 404:
                return None
            raise
        return result

    async def put_doc(self, db: str, doc: JSON, **params: Any) -> JSON:
        response = await self.request("PUT", doc_path(db, doc["_id"]), params=params, json_body=doc)
        result: JSON = response.json()
        return result

    async def bulk_docs(self, db: str, docs: list[JSON], *, new_edits: bool = True) -> list[JSON]:
        body: JSON = {"docs": docs}
        if not new_edits:
            body["new_edits"] = False
        response = await self.request("POST", f"/{quote(db, safe='')}/_bulk_docs", json_body=body)
        result: list[JSON] = response.json()
        return in_doc_order(docs, result) if new_edits else result

    async def changes(self, db: str, **params: Any) -> JSON:
        result: JSON = await self.get_json(f"/{quote(db, safe='')}/_changes", **params)
        return result

    async def all_dbs(self) -> list[str]:
        result: list[str] = await self.get_json("/_all_dbs")
        return result


def in_doc_order(docs: list[JSON], answers: list[JSON]) -> list[JSON]:
    """`_bulk_docs` answers (`new_edits` true: one per document) in the order of `docs`.

    CouchDB answers in the documents' order; pouchdb-server does not when the batch carries
    attachments (31 of 200 six-document batches here). Answers are matched by id; answers for
    the same id keep the order they came in, which pouchdb-server may also have swapped — a
    caller writing one id twice in a batch must tell them apart itself. Documents without an
    `_id` (CouchDB names them) leave the answers as they came.
    """
    if any(not isinstance(doc.get("_id"), str) for doc in docs):
        return answers
    by_id: dict[str, list[JSON]] = {}
    for row in answers:
        by_id.setdefault(str(row.get("id")), []).append(row)
    return [rows.pop(0) if (rows := by_id.get(doc["_id"])) else
            {"id": doc["_id"], "error": "unknown_error", "reason": "no answer"} for doc in docs]


def encoded(value: Any) -> bytes:
    """Compact UTF-8 JSON of `value`, by orjson: about ten times the standard library on a case
    (ADR 0153). What orjson does not encode — an integer past 64 bits, a string with a lone
    surrogate — goes through `json.dumps`, a lone surrogate as its `\\u` escape. Non-finite
    floats never get here: `jsonlimits.loads` refuses `NaN` and numbers past a double, and orjson
    would write them as `null`.
    """
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError
        pass
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate: only an ASCII escape carries it
        return json.dumps(value, separators=(",", ":")).encode()


def _error(response: httpx.Response) -> CouchError:
    return _error_of(response.status_code, response.content)


def _error_of(status: int, raw: bytes) -> CouchError:
    try:
        body = json.loads(raw)
        error = str(body.get("error", "unknown_error"))
        reason = str(body.get("reason", ""))
    except (ValueError, AttributeError):
        error, reason = "unknown_error", raw.decode("utf-8", "replace")[:200]
    return CouchError(status, error, reason)
