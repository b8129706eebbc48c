"""API errors (接口错误): every error answers CouchDB-shaped JSON `{"error", "reason"}`.

    ApiError            raised by handlers: status, error code, reason, optional headers
    CouchError          from `sync_server.couch`, answered with CouchDB's own status and body
    HTTPException       Starlette's 404 / 405 …, re-shaped
    ClientDisconnect    the client left mid-request: logged at INFO, the answer goes nowhere
    anything else       500 `internal_error`, logged with its traceback, never sent
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from sync_server.couch import CouchError
from sync_server.responses import JSONResponse

log = logging.getLogger(__name__)

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "request_entity_too_large",
          415: "bad_content_type", 429: "too_many_requests", 503: "service_unavailable"}


class ApiError(Exception):
    """An answer other than success, with CouchDB's error vocabulary."""

    def __init__(self, status: int, reason: str, error: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.error = error or _CODES.get(status, "error")
        self.reason = reason
        self.headers = dict(headers or {})


def error_response(status: int, error: str, reason: str,
                   headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"error": error, "reason": reason}, status_code=status, headers=headers)


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.error, exc.reason, exc.headers)


async def couch_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CouchError)
    return error_response(exc.status, exc.error, exc.reason)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    reason = {404: "missing", 405: "method not allowed here"}.get(exc.status_code, str(exc.detail))
    return error_response(exc.status_code, _CODES.get(exc.status_code, "error"), reason, exc.headers)


async def client_gone(request: Request, exc: Exception) -> Response:
    """The client went away mid-request (or was closed for sending too slowly): no traceback."""
    log.info("client disconnected during %s %s", request.method, request.url.path)
    return error_response(400, "bad_request", "client disconnected")


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "服务器内部错误 / internal server error")


EXCEPTION_HANDLERS = {ApiError: api_error, CouchError: couch_error, HTTPException: http_error,
                      ClientDisconnect: client_gone, Exception: server_error}
