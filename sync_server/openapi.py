"""The HTTP API description (接口文档): `GET /api/openapi.json`, an OpenAPI 3.1 document.

Written by hand as data here rather than generated from handler docstrings: the routes live
in modules of several engineers, and the gateway is one catch-all route (`/sync/{rest:path}`)
that answers nine CouchDB replication endpoints a generator cannot see. A test checks the
document against the routes `create_app` mounts and against the gateway's endpoint table
(`sync_server.gateway.paths.METHODS`), both ways, so the document cannot drift silently.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shared.jsontypes import JSON
from sync_server.context import ServerContext
from sync_server.gateway.paths import Endpoint
from sync_server.gateway.query import KNOWN
from sync_server.responses import JSONResponse

VERSION = "1.0.0"

BEARER: list[JSON] = [{"bearer": []}]
ERROR_REF: JSON = {"$ref": "#/components/schemas/Error"}
ANY_OBJECT: JSON = {"type": "object"}


def _error(text: str) -> JSON:
    return {"description": text, "content": {"application/json": {"schema": ERROR_REF}}}


def _json(text: str, schema: JSON | None = None) -> JSON:
    return {"description": text, "content": {"application/json": {"schema": schema or ANY_OBJECT}}}


def _body(schema: JSON, media: str = "application/json") -> JSON:
    return {"required": True, "content": {media: {"schema": schema}}}


def _fields(*required: str, **props: JSON) -> JSON:
    return {"type": "object", "required": list(required), "properties": props}


def _path(*names: str) -> list[JSON]:
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]


def _query(name: str, text: str, required: bool = False) -> JSON:
    return {"name": name, "in": "query", "required": required, "description": text,
            "schema": {"type": "string"}}


def op(tag: str, summary: str, ok: JSON, *, errors: dict[str, str] | None = None,
       security: list[JSON] | None = None, body: JSON | None = None, params: list[JSON] | None = None,
       status: str = "200") -> JSON:
    """One operation; errors are `{"error", "reason"}` with a bilingual reason.

    An operation with a body also declares the answers every body reader gives (BODY_ERRORS)
    unless `errors` words them more precisely.
    """
    declared = {**(BODY_ERRORS if body is not None else {}), **(errors or {})}
    operation: JSON = {"tags": [tag], "summary": summary,
                       "responses": {status: ok, **{k: _error(v) for k, v in sorted(declared.items())}}}
    if security is not None:
        operation["security"] = security
    if body is not None:
        operation["requestBody"] = body
    if params:
        operation["parameters"] = params
    return operation


STRING: JSON = {"type": "string"}
BODY_ERRORS = {"400": "malformed, not an object, missing field or too deeply nested JSON / 请求格式错误",
               "413": "body or a JSON string too large / 请求过大",
               "415": "Content-Type is not one the operation reads / 内容类型不支持"}
AUTH_ERRORS = {"401": "no or invalid bearer token / 未登录或令牌无效",
               "403": "role or jurisdiction does not allow it / 无权限"}
SYNC_ERRORS = {**AUTH_ERRORS, "400": "query string or body outside what the endpoint accepts (ADR 0104)",
               "404": "not a replication endpoint / 非同步接口", "405": "method not allowed",
               "503": "CouchDB unavailable"}
CITIZEN_ERRORS = {"400": "malformed input", "404": "unknown code, or the digits do not match",
                  "429": "too many look-ups (Retry-After)"}
TOWNSHIP_ERRORS = {**AUTH_ERRORS, "400": "township is not a 9-digit division code"}
DB = _path("db")
DOC_QUERY = [_query(n, "as in CouchDB") for n in KNOWN[(Endpoint.DOCUMENT, "GET")]]


def _sync_paths() -> dict[str, JSON]:
    tag = "sync gateway"

    def sync(summary: str, status: str = "200", body: bool = False, params: list[JSON] | None = None,
             errors: dict[str, str] | None = None) -> JSON:
        return op(tag, summary, _json("CouchDB's answer, passed through"),
                  errors={**SYNC_ERRORS, **(errors or {})}, security=BEARER,
                  body=_body(ANY_OBJECT) if body else None, params=params, status=status)

    def known(endpoint: Endpoint, method: str) -> list[JSON]:
        return [_query(n, "as in CouchDB (checked, ADR 0104)") for n in KNOWN[(endpoint, method)]]

    feeds = {"429": "too many longpolls held by this user or in all (Retry-After)",
             "413": "a JSON string or the body too large"}
    return {
        "/sync/{db}/": {"parameters": DB, "get": sync("database information"),
                        "head": sync("database exists")},
        "/sync/{db}/_local/{id}": {"parameters": _path("db", "id"), "get": sync("read a checkpoint"),
                                   "put": sync("write a checkpoint", "201", body=True,
                                                       errors={"409": "checkpoint revision conflict"})},
        "/sync/{db}/_changes": {"parameters": DB,
                                "get": sync("changes feed (normal or longpoll, at most 60 s)",
                                            params=known(Endpoint.CHANGES, "GET"), errors=feeds),
                                "post": sync("changes of listed documents (doc_ids)", body=True,
                                             params=known(Endpoint.CHANGES, "POST"), errors=feeds)},
        "/sync/{db}/_revs_diff": {"parameters": DB, "post": sync("revisions the server lacks", body=True)},
        "/sync/{db}/_bulk_docs": {"parameters": DB, "post": op(
            tag, "write documents; each is validated, refused ones answer error forbidden",
            _json("one result per document", {"type": "array", "items": ANY_OBJECT}), status="201",
            errors={**SYNC_ERRORS, "400": "malformed body", "413": "body too large"}, security=BEARER,
            body=_body(_fields("docs", docs={"type": "array", "items": ANY_OBJECT},
                               new_edits={"type": "boolean"})))},
        "/sync/{db}/_bulk_get": {"parameters": DB,
                                 "post": sync("read documents by id and revision", body=True,
                                              params=known(Endpoint.BULK_GET, "POST"))},
        "/sync/{db}/_design/{ddoc}": {"parameters": _path("db", "ddoc"),
                                      "get": sync("read a design document"),
                                      "head": sync("design document exists")},
        "/sync/{db}/{docid}": {"parameters": _path("db", "docid"),
                               "get": sync("read a document (JSON or multipart with attachments)",
                                           params=DOC_QUERY),
                               "head": sync("document exists"),
                               "put": op(tag, "write one document (JSON or multipart/related), validated",
                                         _json("ok, id, rev"), status="201", security=BEARER,
                                         errors={**SYNC_ERRORS, "409": "document update conflict"},
                                         body={"required": True, "content": {
                                             "application/json": {"schema": ANY_OBJECT},
                                             "multipart/related": {"schema": STRING}}})},
        "/sync/{db}/{docid}/{attachment}": {"parameters": _path("db", "docid", "attachment"),
                                            "get": sync("read an attachment (streamed)",
                                                        params=[_query("rev", "revision")]),
                                            "head": sync("attachment exists")},
    }


def _citizen_paths() -> dict[str, JSON]:
    tag = "citizen"
    summary = _json("case summary for the citizen (status, steps, one-time list)")
    code_token = _body(_fields("code", "token", code=STRING, token=STRING))
    return {
        "/t/": {"get": op(tag, "tracking page (HTML)", {"description": "HTML page"})},
        "/t/{code}": {"parameters": _path("code"),
                      "get": op(tag, "tracking page of one code (HTML); ?d= carries a delivery token",
                                {"description": "HTML page"})},
        "/t/sw.js": {"get": op(tag, "service worker of the tracking page", {"description": "JavaScript"})},
        "/pwa/{name}": {"parameters": _path("name"),
                        "get": op(tag, "page assets (CSS, JS, manifest, icons)", {"description": "the file"},
                                  errors={"404": "no such asset"})},
        "/api/track": {"post": op(tag, "look a case up by tracking code and the ID number's last 4", summary,
                                  errors=CITIZEN_ERRORS,
                                  body=_body(_fields("code", "id_last4", code=STRING, id_last4=STRING)))},
        "/api/track/{code}/rating": {"parameters": _path("code"), "post": op(
            tag, "rate a finished case once (1–5)", summary,
            errors={**CITIZEN_ERRORS, "409": "already rated"},
            body=_body(_fields("id_last4", "score", id_last4=STRING, score={"type": "integer"},
                               comment=STRING)))},
        "/api/delivery/check": {"post": op(tag, "check a delivery QR token",
                                           _json("summary, can_confirm, used, expires_at"),
                                           errors={**CITIZEN_ERRORS, "410": "token expired, used or altered"},
                                           body=code_token)},
        "/api/delivery/confirm": {"post": op(
            tag, "the citizen confirms receipt (status delivered)", summary, body=code_token,
            errors={**CITIZEN_ERRORS, "409": "not ready or already delivered",
                    "410": "token expired, used or altered"})},
        "/api/delivery/{code}/token": {"parameters": _path("code"), "post": op(
            tag, "issue the delivery QR token of a ready result (staff, agents)",
            _json("token, url, token_id, expires_at"),
            errors={**AUTH_ERRORS, "404": "unknown tracking code", "409": "result not ready"},
            security=BEARER)},
    }


def _staff_and_county_paths() -> dict[str, JSON]:
    township = [_query("township", "9-digit township code", required=True)]
    signed: list[JSON] = [{"countySignature": [], "countyTimestamp": []}]
    return {
        "/api/reviews": {"get": op("township", "open conflict reviews, who sent each candidate and when",
                                   _json("township, reviews"), errors=TOWNSHIP_ERRORS, security=BEARER,
                                   params=township)},
        "/api/reviews/{case_id}": {"parameters": _path("case_id"), "post": op(
            "township", "decide a review: one candidate value per field", _json("the decided review"),
            errors={**AUTH_ERRORS, "404": "no open review", "409": "changed meanwhile"}, security=BEARER,
            body=_body(_fields("database", "fields", database=STRING, fields=ANY_OBJECT)))},
        "/api/supervision": {"get": op("township", "cards, handling time, ratings, the cases behind them",
                                       _json("supervision figures"), errors=TOWNSHIP_ERRORS, security=BEARER,
                                       params=township)},
        "/api/county/callback": {"post": op(
            "county", "the county platform reports ack / approved / rejected / result_ready",
            _json("ok, case_id, status, event_written"), security=signed,
            errors={"400": "malformed body", "401": "bad, stale or replayed signature", "404": "unknown case",
                    "409": "the status machine refuses it"},
            body=_body(_fields("case_id", "county_ref", "event_id", "kind", "time", case_id=STRING,
                               county_ref=STRING, event_id=STRING, time=STRING, handler=STRING, office=STRING,
                               opinion=STRING,
                               kind={"enum": ["ack", "approved", "rejected", "result_ready"]})))},
        "/api/county/outbox": {"get": op("county", "county hand-offs in one state (default dead)",
                                         _json("entries"), errors={**AUTH_ERRORS, "400": "unknown state"},
                                         security=BEARER,
                                         params=[_query("state", "pending|sent|acked|dead|cancelled")])},
        "/api/county/cases": {"get": op("county", "every hand-off in the caller's jurisdiction, with the"
                                        " case's status, tracking code, item, village, masked applicant",
                                        _json("entries"), errors=AUTH_ERRORS, security=BEARER)},
        "/api/county/outbox/{case}/retry": {"parameters": _path("case"), "post": op(
            "county", "queue a dead or cancelled hand-off again", _json("the entry"),
            errors={**AUTH_ERRORS, "404": "no such entry", "409": "not dead or cancelled"}, security=BEARER)},
        "/api/county/files/{db}/{doc}/{name}": {"parameters": _path("db", "doc", "name"), "get": op(
            "county", "a material file through a signed link from a hand-off record",
            {"description": "the file"},
            errors={"403": "link invalid or expired", "404": "no such file"}, security=[],
            params=[_query("expires", "unix seconds", True), _query("sig", "HMAC-SHA256 hex", True)])},
    }


def _server_paths() -> dict[str, JSON]:
    tokens = _json("token pair", _fields("access_token", "refresh_token", "token_type", "expires_in",
                                         access_token=STRING, refresh_token=STRING, token_type=STRING,
                                         expires_in={"type": "integer"}, user=ANY_OBJECT))
    key = {"type": "object", "properties": {"kid": STRING, "pem": STRING, "raw": STRING,
                                            "current": {"type": "boolean"}}}
    return {
        "/healthz": {"get": op("server", "liveness and CouchDB reachability", _json("ok, couchdb, engine"),
                               errors={"503": "CouchDB does not answer"})},
        "/metrics": {"get": op("server",
                               "Prometheus metrics (loopback without a proxy, or an operator of every "
                               "county served)",
                               {"description": "Prometheus text format",
                                "content": {"text/plain": {"schema": STRING}}},
                               errors=AUTH_ERRORS, security=[{}, {"bearer": []}])},
        "/api/openapi.json": {"get": op("server", "this document", _json("OpenAPI 3.1"))},
        "/api/auth/login": {"post": op(
            "auth", "log in with username, password and device id (registers the device; on a device id "
            "another user registered, the caller gets a seat of its own, `user.device`)", tokens,
            errors={"400": "missing field, malformed or too deeply nested JSON",
                    "401": "wrong username or password", "403": "device revoked",
                    "409": "the device was registered by another user at that moment",
                    "413": "body too large", "429": "too many failures (Retry-After)"},
            body=_body(_fields("username", "password", "device_id", username=STRING, password=STRING,
                               device_id=STRING)))},
        "/api/auth/refresh": {"post": op("auth", "trade a refresh token for a new pair (single use)", tokens,
                                         errors={"401": "refresh token refused: log in again"},
                                         body=_body(_fields("refresh_token", refresh_token=STRING)))},
        "/api/auth/me": {"get": op("auth", "the caller: role, divisions, device, databases, and the names "
                                   "screens show (display_name, people, places)",
                                   _json("the user"), errors=AUTH_ERRORS, security=BEARER)},
        "/api/public-key": {"get": op("auth", "the signing key (current) and every key still accepted",
                                      _json("alg, crv, kid, pem, raw, keys", {
                                          "type": "object", "properties": {
                                              "kid": STRING, "pem": STRING, "raw": STRING,
                                              "keys": {"type": "array", "items": key}}}))},
    }


def document() -> JSON:
    """The OpenAPI 3.1 document of every route `create_app` mounts."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "OneTrip 最多跑一次 API", "version": VERSION,
                 "description": "Errors are {\"error\", \"reason\"} with a Chinese and English reason. "
                                "Devices replicate only through /sync (CouchDB replication protocol)."},
        "paths": {**_server_paths(), **_sync_paths(), **_citizen_paths(), **_staff_and_county_paths()},
        "components": {
            "schemas": {"Error": _fields("error", "reason", error=STRING, reason=STRING)},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA, header kid)"},
                "countySignature": {"type": "apiKey", "in": "header", "name": "X-OneTrip-Signature",
                                    "description": "HMAC-SHA256 with the county secret (docs/county-api.md)"},
                "countyTimestamp": {"type": "apiKey", "in": "header", "name": "X-OneTrip-Timestamp"},
            },
        },
    }


def routes(ctx: ServerContext) -> list[BaseRoute]:
    body = document()

    async def openapi(request: Request) -> Response:
        return JSONResponse(body)

    return [Route("/api/openapi.json", openapi, methods=["GET"])]
