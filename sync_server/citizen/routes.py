"""HTTP endpoints of the citizen side (群众端): the tracking page, look-ups, ratings, delivery.

    GET  /t/ , /t/{code}              the page (the same shell for every code)
    GET  /t/sw.js                     the service worker, scoped to /t/
    GET  /pwa/{name}                  CSS, JS, manifest, icons
    POST /api/track                   {code, id_last4} → summary
    POST /api/track/{code}/rating     {id_last4, score, comment} → summary
    POST /api/delivery/check          {code, token} → {summary, can_confirm, used, expires_at}
    POST /api/delivery/confirm        {code, token} → summary, status delivered
    POST /api/delivery/{code}/token   staff only → {token, url, token_id, expires_at}

Every error is `{"error", "reason"}` with a bilingual reason; look-ups are rate-limited per
client address (all requests) and slowed down per address and per code (failed tries,
429 + `Retry-After`; never a lock-out, ADR 0128).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shared.delivery import TokenError, TokenExpired, TokenUsed, TokenWrongCase
from sync_server import jsonlimits
from sync_server.citizen import assets
from sync_server.citizen.service import BadRequest, CitizenError, CitizenService, RateLimited
from sync_server.responses import JSONResponse

log = logging.getLogger(__name__)

# Authenticates the caller (raising the app's 401/403 errors) and answers which village
# databases they may issue delivery tokens for; None: none at all.
Authorize = Callable[[Request], Awaitable[Callable[[str], bool] | None]]
MAX_BODY = 4096  # bytes; every citizen request is a few short fields

SECURITY_HEADERS = {
    # The delivery token rides in the page URL: never send it on as a referrer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "; ".join((
        "default-src 'self'", "img-src 'self' data:", "style-src 'self'", "script-src 'self'",
        "connect-src 'self'", "manifest-src 'self'", "worker-src 'self'", "frame-ancestors 'none'",
        "base-uri 'none'", "form-action 'self'")),
}


async def deny(_request: Request) -> Callable[[str], bool] | None:
    return None


def citizen_routes(service: CitizenService, *, authorize_issue: Authorize = deny) -> list[BaseRoute]:
    """The routes, bound to `service`; `authorize_issue` decides who may issue delivery tokens."""
    bundle = assets.load()

    async def page(request: Request) -> Response:
        return assets.respond(request, bundle.shell, extra=SECURITY_HEADERS)

    async def worker(request: Request) -> Response:
        return assets.respond(request, bundle.worker, extra={"Service-Worker-Allowed": "/t/"})

    async def static(request: Request) -> Response:
        found = bundle.files.get(request.path_params["name"])
        if found is None:
            return error(404, "not_found", "没有这个文件。 No such file.")
        return assets.respond(request, found, extra={"X-Content-Type-Options": "nosniff"})

    async def track(request: Request) -> Response:
        return await answer(request, service, _track)

    async def rating(request: Request) -> Response:
        return await answer(request, service, _rating)

    async def check(request: Request) -> Response:
        return await answer(request, service, _check)

    async def confirm(request: Request) -> Response:
        return await answer(request, service, _confirm)

    async def issue(request: Request) -> Response:
        code = request.path_params["code"]
        may_issue = await authorize_issue(request)
        try:
            entry = await service.entry(code) if may_issue is not None else None
            if may_issue is None or entry is None or not may_issue(entry["db"]):
                return error(403, "forbidden", "只有负责该村的工作人员可以生成送达二维码。 Only staff"
                                               " serving this village can issue delivery QR codes.")
            return JSONResponse(await service.issue(code, entry), status_code=201)
        except CitizenError as exc:
            return error(exc.status, exc.error, exc.reason)

    return [
        Route("/t/sw.js", worker, methods=["GET"]),
        Route("/t/", page, methods=["GET"]),
        Route("/t/{code}", page, methods=["GET"]),
        Route("/pwa/{name}", static, methods=["GET"]),
        Route("/api/track", track, methods=["POST"]),
        Route("/api/track/{code}/rating", rating, methods=["POST"]),
        Route("/api/delivery/check", check, methods=["POST"]),
        Route("/api/delivery/confirm", confirm, methods=["POST"]),
        Route("/api/delivery/{code}/token", issue, methods=["POST"]),
    ]


Handler = Callable[[CitizenService, Request, dict[str, Any]], Awaitable[Any]]


async def answer(request: Request, service: CitizenService, handler: Handler) -> Response:
    """Rate-limit by address, parse the body, run `handler`, map errors to JSON answers."""
    try:
        service.limit_address(address_of(request))
        body = await read_body(request)
        return JSONResponse(await handler(service, request, body), headers={"Cache-Control": "no-store"})
    except RateLimited as exc:
        return error(exc.status, exc.error, exc.reason, headers={"Retry-After": str(exc.retry_after)})
    except CitizenError as exc:
        return error(exc.status, exc.error, exc.reason)
    except TokenError as exc:
        log.info("delivery token refused: %s", exc.code)
        return error(token_status(exc), exc.code, exc.reason)


async def read_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise BadRequest("请求过大。 The request is too large.")
    try:
        body = jsonlimits.loads(raw or b"{}")
    except ValueError:
        raise BadRequest("请求格式错误。 The request is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("请求格式错误。 The request must be a JSON object.")
    return body


def text(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def address_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def _track(service: CitizenService, request: Request, body: dict[str, Any]) -> Any:
    return await service.track(text(body, "code"), text(body, "id_last4"), address_of(request))


async def _rating(service: CitizenService, request: Request, body: dict[str, Any]) -> Any:
    return await service.rate(request.path_params["code"], text(body, "id_last4"), body.get("score"),
                              body.get("comment"), address_of(request))


async def _check(service: CitizenService, _request: Request, body: dict[str, Any]) -> Any:
    content, entry = await service.check_token(text(body, "code"), text(body, "token"))
    summary = await service.summary(entry)
    used = await service.token_used(content)
    return {"summary": summary, "used": used, "expires_at": content.expires_at.isoformat(),
            "can_confirm": not used and summary["status"]["code"] == "result_ready"}


async def _confirm(service: CitizenService, _request: Request, body: dict[str, Any]) -> Any:
    return await service.confirm(text(body, "code"), text(body, "token"))


def token_status(exc: TokenError) -> int:
    if isinstance(exc, TokenExpired):
        return 410
    if isinstance(exc, (TokenUsed, TokenWrongCase)):
        return 409
    return 400


def error(status: int, code: str, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "reason": reason}, status_code=status, headers=headers)
