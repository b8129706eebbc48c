"""The gateway route `/sync/{db}/…` and its endpoint table (DESIGN §3).

Order of checks, each before anything reaches CouchDB: bearer token (401) → the database is
inside the caller's jurisdiction (403) → the path is a replication endpoint (404) and the
method one it answers (405) → writes need a writable database (403: ot-catalog is
read-only) → body caps (413) → document rules (per document `forbidden`).
"""

from __future__ import annotations

import json
from functools import partial
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sync_server.auth.accounts import User
from sync_server.auth.current import current_user
from sync_server.context import ServerContext, context_of
from sync_server.couch import doc_path
from sync_server.errors import ApiError
from sync_server.gateway.bodies import MAX_SMALL, read_json
from sync_server.gateway.diff import revs_diff
from sync_server.gateway.paths import METHODS, WRITES, Endpoint, SyncPath, parse_sync_path
from sync_server.gateway.proxy import forward as forward_to
from sync_server.gateway.writes import bulk_docs, put_document
from sync_server.provision import village_of
from sync_server.served import as_file

MAX_LIST = 4 * 1024 * 1024  # bytes: _revs_diff and _bulk_get bodies of a large batch
MAX_FEED_WAIT = 600.0  # seconds a longpoll may hold a connection

CHANGES_PARAMS = frozenset({"since", "limit", "feed", "style", "heartbeat", "timeout", "include_docs",
                            "conflicts", "descending", "filter", "doc_ids", "seq_interval", "attachments",
                            "att_encoding_info"})
DOC_PARAMS = frozenset({"rev", "revs", "open_revs", "atts_since", "latest", "attachments", "conflicts",
                        "revs_info", "deleted_conflicts", "att_encoding_info"})
BULK_GET_PARAMS = frozenset({"revs", "attachments", "latest"})


def _params(request: Request, allowed: frozenset[str]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.query_params.multi_items() if k in allowed]


def _changes_params(request: Request) -> tuple[list[tuple[str, str]], float]:
    params = _params(request, CHANGES_PARAMS)
    values = dict(params)
    if values.get("feed", "normal") not in ("normal", "longpoll"):
        raise ApiError(400, "只支持 normal 和 longpoll / only feed=normal and feed=longpoll are served")
    if values.get("filter", "_doc_ids") != "_doc_ids":
        raise ApiError(400, "只支持 _doc_ids 过滤 / only filter=_doc_ids is served")
    wait = 60.0
    if values.get("feed") == "longpoll":
        try:
            wait = min(float(values.get("timeout", "60000")) / 1000, MAX_FEED_WAIT)
        except ValueError:
            raise ApiError(400, "timeout 必须是数字 / timeout must be a number") from None
    return params, wait + 30.0


async def sync_endpoint(request: Request) -> Response:
    user = await current_user(request)
    path = parse_sync_path(request.scope.get("raw_path", b"").decode("latin-1") or request.url.path)
    if path is None:
        raise ApiError(404, "missing")
    if not user.may_read(path.db):
        raise ApiError(403, f"无权访问数据库 {path.db} / database {path.db} is outside your jurisdiction")
    if path.endpoint is Endpoint.UNKNOWN:
        raise ApiError(404, "同步网关不提供此接口 / not a replication endpoint")
    method = request.method
    if method not in METHODS[path.endpoint]:
        raise ApiError(405, f"{method} 不被允许 / {method} is not allowed here", error="method_not_allowed")
    if (path.endpoint, method) in WRITES and not user.may_write(path.db):
        raise ApiError(403, f"数据库 {path.db} 只读 / database {path.db} is read-only for you")
    return await _dispatch(context_of(request), request, user, path, method)


async def _dispatch(ctx: ServerContext, request: Request, user: User, path: SyncPath,
                    method: str) -> Response:
    db, couch = path.db, ctx.couch
    accept = {"Accept": request.headers.get("accept", "application/json")}
    # The same test as Starlette's GZip middleware: gzip from CouchDB may then pass through.
    forward = partial(forward_to, client_gzip="gzip" in request.headers.get("accept-encoding", ""))
    match path.endpoint:
        case Endpoint.DATABASE:
            return await forward(couch, method, f"/{db}/")
        case Endpoint.LOCAL if method == "PUT":
            doc = await read_json(request, MAX_SMALL)
            if not isinstance(doc, dict):
                raise ApiError(400, "需要 JSON 对象 / the body must be a JSON object")
            return await forward(couch, "PUT", doc_path(db, path.doc_id), content=json.dumps(doc).encode(),
                                 headers={"Content-Type": "application/json"})
        case Endpoint.LOCAL | Endpoint.DESIGN:
            return await forward(couch, method, doc_path(db, path.doc_id))
        case Endpoint.CHANGES:
            params, wait = _changes_params(request)
            if method == "POST":
                body = await read_json(request, MAX_LIST)
                return await forward(couch, "POST", f"/{db}/_changes", params=params,
                                     content=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, read_timeout=wait)
            return await forward(couch, "GET", f"/{db}/_changes", params=params, read_timeout=wait)
        case Endpoint.REVS_DIFF:
            return await revs_diff(ctx, request, db, MAX_LIST)
        case Endpoint.BULK_GET:
            body = await read_json(request, MAX_LIST)
            return await forward(couch, "POST", f"/{db}/_bulk_get", params=_params(request, BULK_GET_PARAMS),
                                 content=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json", **accept})
        case Endpoint.BULK_DOCS:
            return await bulk_docs(ctx, request, user, db, _village(db))
        case Endpoint.DOCUMENT if method == "PUT":
            return await put_document(ctx, request, user, db, _village(db), path.doc_id)
        case Endpoint.DOCUMENT:
            return await forward(couch, method, doc_path(db, path.doc_id),
                                 params=_params(request, DOC_PARAMS), headers=accept)
        case Endpoint.ATTACHMENT:
            target = doc_path(db, path.doc_id) + "/" + quote(path.attachment, safe="/")
            return as_file(await forward(couch, method, target, params=_params(request, frozenset({"rev"}))),
                           path.attachment)
    raise ApiError(404, "missing")


def _village(db: str) -> str:
    village = village_of(db)
    if village is None:  # may_write admits village databases only
        raise ApiError(403, f"数据库 {db} 只读 / database {db} is read-only")
    return village


def routes(ctx: ServerContext) -> list[BaseRoute]:
    # Every method reaches the endpoint so that refusals are decided (and shaped) in one place.
    methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "COPY", "OPTIONS"]
    return [Route("/sync/{rest:path}", sync_endpoint, methods=methods)]
