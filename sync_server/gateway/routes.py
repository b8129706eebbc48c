"""The gateway route `/sync/{db}/…` and its endpoint table (docs/architecture.md §5).

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
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sync_server.auth.accounts import User
from sync_server.auth.current import current_user
from sync_server.context import ServerContext, context_of
from sync_server.couch import doc_path
from sync_server.errors import ApiError
from sync_server.gateway.binarybulk import binary_bulk_get, wants_binary
from sync_server.gateway.bodies import MAX_SMALL, read_json
from sync_server.gateway.diff import revs_diff
from sync_server.gateway.latest import checked_latest
from sync_server.gateway.longpoll import longpoll
from sync_server.gateway.paths import METHODS, WRITES, Endpoint, SyncPath, parse_sync_path
from sync_server.gateway.proxy import forward as forward_to
from sync_server.gateway.query import Query, bulk_get_docs, changes_request, named_in, named_revs, parse_query
from sync_server.gateway.writes import bulk_docs, put_document
from sync_server.provision import village_of
from sync_server.served import as_file

MAX_LIST = 4 * 1024 * 1024  # bytes: _revs_diff and _bulk_get bodies of a large batch


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
    query = parse_query(request.scope.get("query_string", b""), path.endpoint, method)
    return await _dispatch(context_of(request), request, user, path, method, query)


async def _dispatch(ctx: ServerContext, request: Request, user: User, path: SyncPath,
                    method: str, query: Query) -> Response:
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
            changes = changes_request(query, method, await read_json(request, MAX_LIST)
                                      if method == "POST" else None)
            headers = {"Content-Type": "application/json"} if changes.body is not None else None
            if not changes.longpoll:
                return await forward(couch, method, f"/{db}/_changes", params=changes.params,
                                     content=changes.body, headers=headers, read_timeout=changes.wait)
            slot = ctx.feeds.admit(user.username)
            try:
                return await longpoll(couch, f"/{db}/_changes", changes,
                                      client_gzip="gzip" in request.headers.get("accept-encoding", ""))
            finally:
                slot.release()
        case Endpoint.REVS_DIFF:
            return await revs_diff(ctx, request, db, MAX_LIST)
        case Endpoint.BULK_GET:
            docs = bulk_get_docs(await read_json(request, MAX_LIST))
            if not docs:  # CouchDB's answer; pouchdb-server never answers an empty list
                return JSONResponse({"results": []})
            params = await checked_latest(couch, db, query, named_in(docs), bulk=True)
            body = json.dumps({"docs": docs}, ensure_ascii=False).encode()
            if wants_binary(accept["Accept"], params):  # the app's read of scans (ADR 0164)
                return await binary_bulk_get(couch, db, params, body,
                                             "gzip" in request.headers.get("accept-encoding", ""))
            return await forward(couch, "POST", f"/{db}/_bulk_get", params=params, content=body,
                                 headers={"Content-Type": "application/json", **accept})
        case Endpoint.BULK_DOCS:
            return await bulk_docs(ctx, request, user, db, _village(db))
        case Endpoint.DOCUMENT if method == "PUT":
            return await put_document(ctx, request, user, db, _village(db), path.doc_id)
        case Endpoint.DOCUMENT:
            params = await checked_latest(couch, db, query, {path.doc_id: named_revs(query)})
            return await forward(couch, method, doc_path(db, path.doc_id), params=params, headers=accept)
        case Endpoint.ATTACHMENT:
            target = doc_path(db, path.doc_id) + "/" + quote(path.attachment, safe="/")
            return as_file(await forward(couch, method, target, params=query.items()), path.attachment)
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
