"""Gateway query strings (查询参数): parsed, checked and re-emitted, never copied through.

Every forwarded request carries only the parameters this module wrote: each endpoint has a
table of the parameters it knows, each with a checker that returns the value to send (CouchDB's
documented meaning, ADR 0104). A parameter given twice, one the endpoint does not know, or a
value outside its documented form is answered 400 `bad_request` before anything reaches the
engine — pouchdb-server exits on some malformed queries (`filter=_doc_ids` without `doc_ids`)
and answers others with 500 (`open_revs=garbage`); CouchDB and pouchdb-server disagree on
which of two duplicated values wins.

    parse_query(raw_query, endpoint, method) -> Query   # raises ApiError(400)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from sync_server.errors import ApiError
from sync_server.gateway.paths import Endpoint

MAX_QUERY = 16 * 1024  # bytes of a query string (longer `doc_ids` lists go in a POST body)
MAX_LIST = 1000  # entries of `doc_ids`, `open_revs`, `atts_since`
MAX_ID = 1024  # characters of one document id in `doc_ids`
MAX_FEED_WAIT_MS = 60_000  # a longpoll is answered after at most this long (ADR 0104)
MAX_LIMIT = 10_000_000

# CouchDB's revisions: generation, dash, hash. pouchdb-server and CouchDB write 32 hex digits;
# a device pushing with new_edits=false may bring its own (the write rules allow 1–64 of [0-9A-Za-z]).
REV = re.compile(r"^[1-9][0-9]{0,9}-[0-9a-zA-Z]{1,64}$")
# `since`: "now", a number (pouchdb-server) or CouchDB 2+'s opaque "<number>-<base64url>".
SINCE = re.compile(r"^(now|[0-9]{1,20}|[0-9]{1,20}-[A-Za-z0-9_\-]{1,16000}={0,2})$")

Checker = Callable[[str, str], str]


def bad(reason: str) -> ApiError:
    return ApiError(400, reason, error="bad_request")


def boolean(name: str, value: str) -> str:
    if value not in ("true", "false"):
        raise bad(f"{name} 只能是 true 或 false / {name} must be true or false")
    return value


def natural(limit: int) -> Checker:
    def check(name: str, value: str) -> str:
        if not value.isascii() or not value.isdigit() or int(value) > limit:
            raise bad(f"{name} 必须是 0 到 {limit} 的整数 / {name} must be an integer from 0 to {limit}")
        return str(int(value))
    return check


def one_of(*allowed: str) -> Checker:
    def check(name: str, value: str) -> str:
        if value not in allowed:
            raise bad(f"{name} 只能是 {' | '.join(allowed)} / {name} must be one of {', '.join(allowed)}")
        return value
    return check


def since(name: str, value: str) -> str:
    if not SINCE.match(value):
        raise bad(f"{name} 不是有效的序号 / {name} must be now, 0 or a seq this server sent")
    return value


def rev(name: str, value: str) -> str:
    if not REV.match(value):
        raise bad(f"{name} 不是有效的版本号 / {name} must be a revision like 1-abc…")
    return value


def _json_list(name: str, value: str) -> list[object]:
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        parsed = None
    if not isinstance(parsed, list) or len(parsed) > MAX_LIST:
        raise bad(f"{name} 必须是 JSON 数组（至多 {MAX_LIST} 项）/ {name} must be a JSON array "
                  f"of at most {MAX_LIST} entries")
    return parsed


def rev_list(name: str, value: str) -> str:
    revs = _json_list(name, value)
    if not all(isinstance(r, str) and REV.match(r) for r in revs):
        raise bad(f"{name} 必须是版本号数组 / {name} must be a JSON array of revisions")
    return json.dumps(revs, separators=(",", ":"))


def open_revs(name: str, value: str) -> str:
    return "all" if value == "all" else rev_list(name, value)


def id_list(name: str, value: str) -> str:
    ids = _json_list(name, value)
    if not ids or not all(isinstance(i, str) and 0 < len(i) <= MAX_ID for i in ids):
        raise bad(f"{name} 必须是非空的文档标识数组 / {name} must be a non-empty JSON array of document ids")
    return json.dumps(ids, separators=(",", ":"), ensure_ascii=False)


def heartbeat(name: str, value: str) -> str:
    return value if value == "true" else natural(MAX_FEED_WAIT_MS * 10)(name, value)


CHANGES: Mapping[str, Checker] = {
    "feed": one_of("normal", "longpoll"), "filter": one_of("_doc_ids"), "doc_ids": id_list,
    "since": since, "limit": natural(MAX_LIMIT), "style": one_of("main_only", "all_docs"),
    "heartbeat": heartbeat, "timeout": natural(10 * 24 * 3600 * 1000), "include_docs": boolean,
    "conflicts": boolean, "descending": boolean, "attachments": boolean, "att_encoding_info": boolean,
    "seq_interval": natural(MAX_LIMIT)}
DOCUMENT_GET: Mapping[str, Checker] = {
    "rev": rev, "revs": boolean, "revs_info": boolean, "open_revs": open_revs, "atts_since": rev_list,
    "latest": boolean, "attachments": boolean, "att_encoding_info": boolean, "conflicts": boolean,
    "deleted_conflicts": boolean, "local_seq": boolean, "meta": boolean}
KNOWN: Mapping[tuple[Endpoint, str], Mapping[str, Checker]] = {
    (Endpoint.CHANGES, "GET"): CHANGES,
    (Endpoint.CHANGES, "POST"): {k: v for k, v in CHANGES.items() if k != "doc_ids"},  # ids in the body
    (Endpoint.DOCUMENT, "GET"): DOCUMENT_GET,
    (Endpoint.DOCUMENT, "HEAD"): DOCUMENT_GET,
    (Endpoint.DOCUMENT, "PUT"): {"new_edits": boolean},
    (Endpoint.ATTACHMENT, "GET"): {"rev": rev},
    (Endpoint.ATTACHMENT, "HEAD"): {"rev": rev},
    (Endpoint.BULK_GET, "POST"): {"revs": boolean, "attachments": boolean, "latest": boolean},
}


@dataclass(frozen=True)
class Query:
    """The checked parameters of one request, in the order they came."""

    params: dict[str, str] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        return self.params.get(name, default)

    def items(self, *leave_out: str) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.params.items() if k not in leave_out]


def parse_query(raw: bytes, endpoint: Endpoint, method: str) -> Query:
    """The query string of a request to `endpoint`, checked; ApiError(400) for anything else."""
    if not raw:
        return Query()
    if len(raw) > MAX_QUERY:
        raise ApiError(414, f"查询串过长 / query string longer than {MAX_QUERY} bytes", error="bad_request")
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, strict_parsing=True,
                          encoding="utf-8", errors="strict", max_num_fields=64)
    except (ValueError, UnicodeError):
        raise bad("查询串格式错误 / malformed query string") from None
    known = KNOWN.get((endpoint, method), {})
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise bad(f"参数 {name[:64]} 重复 / parameter {name[:64]!r} is given more than once")
        checker = known.get(name)
        if checker is None:
            raise bad(f"此接口不接受参数 {name[:64]} / parameter {name[:64]!r} is not accepted here")
        params[name] = checker(name, value)
    return Query(params)


@dataclass(frozen=True)
class ChangesRequest:
    """What the gateway sends upstream for one `_changes` request."""

    params: list[tuple[str, str]]
    body: bytes | None  # POST: `{"doc_ids": [...]}` re-serialized
    longpoll: bool
    wait: float  # seconds the engine may take to answer


MAX_BODY_IDS = 100_000  # `doc_ids` of a POST body (a device asking about every case it holds)


def changes_request(query: Query, method: str, body: object = None) -> ChangesRequest:
    """`_changes` as CouchDB documents it, re-emitted in the one form the gateway serves.

    `filter=_doc_ids` needs its ids (the query's `doc_ids` on GET, the body's on POST) and
    `doc_ids` needs the filter. A longpoll waits at most `MAX_FEED_WAIT_MS`: its `timeout` is
    capped and `heartbeat` is not forwarded, because CouchDB lets a heartbeat override the
    timeout and hold the connection for ever. A normal feed answers at once: both are dropped.
    """
    filtered = query.get("filter") == "_doc_ids"
    data: bytes | None = None
    if method == "POST":
        if not isinstance(body, dict) or set(body) - {"doc_ids"}:
            raise bad("_changes 的请求体只能是 {\"doc_ids\": [...]} / the body must be {\"doc_ids\": [...]}")
        ids = body.get("doc_ids")
        if ids is not None and (not isinstance(ids, list) or not ids or len(ids) > MAX_BODY_IDS or not all(
                isinstance(i, str) and 0 < len(i) <= MAX_ID for i in ids)):
            raise bad(f"doc_ids 必须是非空的文档标识数组 / doc_ids must be a non-empty JSON array of at "
                      f"most {MAX_BODY_IDS} document ids")
        if filtered and ids is None:
            raise bad("filter=_doc_ids 需要请求体中的 doc_ids / filter=_doc_ids needs doc_ids in the body")
        if ids is not None and not filtered:
            raise bad("doc_ids 需要 filter=_doc_ids / doc_ids needs filter=_doc_ids")
        data = json.dumps({"doc_ids": ids} if ids is not None else {}, ensure_ascii=False).encode()
    elif filtered != ("doc_ids" in query.params):
        raise bad("filter=_doc_ids 与 doc_ids 必须同时给出 / filter=_doc_ids and doc_ids go together")
    longpoll = query.get("feed", "normal") == "longpoll"
    if longpoll and query.get("descending") == "true":
        raise bad("长轮询不能倒序 / a longpoll feed cannot be descending")
    params = query.items("heartbeat", "timeout")
    wait_ms = 0
    if longpoll:
        wait_ms = min(int(query.get("timeout", str(MAX_FEED_WAIT_MS))), MAX_FEED_WAIT_MS)
        params.append(("timeout", str(wait_ms)))
    return ChangesRequest(params, data, longpoll, wait_ms / 1000 + 30.0)


MAX_BULK_GET = 10_000  # documents asked for in one `_bulk_get` (a replicator asks for 100 or so)


def bulk_get_docs(body: object) -> list[dict[str, object]]:
    """The entries of `{"docs": [{"id", "rev"?, "atts_since"?}]}`, checked, with those keys only."""
    docs = body.get("docs") if isinstance(body, dict) else None
    if not isinstance(docs, list) or len(docs) > MAX_BULK_GET:
        raise bad(f"_bulk_get 需要 {{\"docs\": [...]}}（至多 {MAX_BULK_GET} 项）/ the body must be "
                  f"{{\"docs\": [...]}} with at most {MAX_BULK_GET} entries")
    asked: list[dict[str, object]] = []
    for doc in docs:
        if (not isinstance(doc, dict) or set(doc) - {"id", "rev", "atts_since"}
                or not isinstance(doc.get("id"), str) or not 0 < len(doc["id"]) <= MAX_ID):
            raise bad("_bulk_get 的每一项是 {\"id\", \"rev\", \"atts_since\"} / each entry is "
                      "{\"id\", \"rev\"?, \"atts_since\"?}")
        entry: dict[str, object] = {"id": doc["id"]}
        if "rev" in doc:
            entry["rev"] = rev("rev", doc["rev"]) if isinstance(doc["rev"], str) else rev("rev", "")
        if "atts_since" in doc:
            revs = doc["atts_since"]
            if not isinstance(revs, list) or len(revs) > MAX_LIST or not all(
                    isinstance(r, str) and REV.match(r) for r in revs):
                raise bad("atts_since 必须是版本号数组 / atts_since must be a JSON array of revisions")
            entry["atts_since"] = revs
        asked.append(entry)
    return asked


def named_in(docs: list[dict[str, object]]) -> dict[str, list[str]]:
    """The revisions `_bulk_get` entries name, by document id."""
    named: dict[str, list[str]] = {}
    for doc in docs:
        if isinstance(doc.get("rev"), str):
            named.setdefault(str(doc["id"]), []).append(str(doc["rev"]))
    return named


def named_revs(query: Query) -> list[str]:
    """The revisions a document GET names (`rev`, `open_revs` unless `all`)."""
    revs = [query.get("rev")] if query.get("rev") else []
    if query.get("open_revs") not in ("", "all"):
        revs += json.loads(query.get("open_revs"))
    return revs
