"""`/api/auth/login`, `/api/auth/refresh`, `/api/auth/me`, `/api/public-key` (登录与令牌接口)."""

from __future__ import annotations

import logging
from typing import Any

from anyio import CapacityLimiter, to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sync_server import jsonlimits
from sync_server.auth.accounts import databases, load_user, user_from_doc
from sync_server.auth.current import current_user
from sync_server.auth.devices import DEVICE_ID, DeviceRevoked, start_family
from sync_server.auth.directory import directory
from sync_server.auth.passwords import DUMMY_HASH, verify_password
from sync_server.auth.ratelimit import USERNAME_LIMIT
from sync_server.auth.refresh import RefreshGrant, RefreshRefused, issue_refresh, use_refresh
from sync_server.auth.tokens import ACCESS_TTL, issue_access
from sync_server.context import ServerContext, context_of
from sync_server.errors import ApiError
from sync_server.responses import JSONResponse

log = logging.getLogger(__name__)

MAX_BODY = 4096  # bytes: a login body is three short strings
MAX_VERIFICATIONS = 4  # argon2id checks at once per process: 76 MiB, two per core of a 2-core server


async def _json_body(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiError(415, "需要 JSON / Content-Type must be application/json")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError(413, "请求过大 / request body too large")
    try:
        data = jsonlimits.loads(body)
    except ValueError:
        raise ApiError(400, "JSON 格式错误 / malformed JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "需要 JSON 对象 / a JSON object is expected")
    return data


def _string(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"缺少 {name} / {name} is required")
    return value


async def _pair(ctx: ServerContext, username: str, role: str, device: str, family: str) -> dict[str, Any]:
    now = int(ctx.clock())
    access = issue_access(ctx.ring.current(), username=username, role=role, device=device, family=family,
                          now=now)
    refresh = await issue_refresh(ctx.couch, RefreshGrant(username, device, family), now)
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
            "expires_in": ACCESS_TTL}


def _verifications(ctx: ServerContext) -> CapacityLimiter:
    """Password checks run at once (argon2id takes 19 MiB and a core each); the rest queue."""
    if ctx.verifications is None:
        ctx.verifications = CapacityLimiter(MAX_VERIFICATIONS)
    return ctx.verifications


def _too_many(wait: float) -> ApiError:
    seconds = max(1, int(wait + 0.999))
    return ApiError(429, f"尝试次数过多，请 {seconds} 秒后再试 / too many attempts: retry in {seconds} s",
                    headers={"Retry-After": str(seconds)})


async def login(request: Request) -> Response:
    ctx = context_of(request)
    data = await _json_body(request)
    username, password = _string(data, "username"), _string(data, "password")
    device = _string(data, "device_id")
    if not DEVICE_ID.match(device):
        raise ApiError(400, "device_id 不合法 / device_id: 1–64 of A-Z a-z 0-9 _ . : -")
    address = request.client.host if request.client else "unknown"
    user_key, address_key = "u:" + username.lower(), "a:" + address
    now = ctx.clock()
    wait = max(ctx.limits.by_username.retry_after(user_key, now),
               ctx.limits.by_address.retry_after(address_key, now))
    if wait > 0:
        ctx.counters.logins_refused["rate_limited"] += 1
        raise _too_many(wait)
    # Counted as failed before the (slow) password check, with no await since the look above:
    # concurrent attempts see each other's counts, so a burst gets no more tries than a series
    # (issue 15 F11). A success clears the counts below.
    ctx.limits.by_username.failure(user_key, now)
    ctx.limits.by_address.failure(address_key, now)
    # The username's count is also kept for every server process (ADR 0111): alternating
    # between processes gives no more tries than one process.
    wait = await ctx.shared_limits.admit(USERNAME_LIMIT, user_key, now)
    if wait > 0:
        ctx.counters.logins_refused["rate_limited"] += 1
        raise _too_many(wait)
    stored = await load_user(ctx.couch, username)
    stored_hash = stored["password_hash"] if stored else DUMMY_HASH
    ok = await to_thread.run_sync(verify_password, stored_hash, password, limiter=_verifications(ctx))
    if not stored or not ok or stored.get("disabled"):
        ctx.counters.logins_refused["password"] += 1
        log.info("login refused for a user from %s", address)
        raise ApiError(401, "用户名或密码错误 / wrong username or password")
    ctx.limits.by_username.success(user_key)
    ctx.limits.by_address.success(address_key)
    await ctx.shared_limits.forgive(USERNAME_LIMIT, user_key, now)
    user = user_from_doc(stored, device)
    try:
        device, family = await start_family(ctx.couch, device, user.username, ctx.now_iso())
    except DeviceRevoked:
        ctx.counters.logins_refused["device_revoked"] += 1
        raise ApiError(403, "此终端已被注销 / this device has been revoked by an administrator") from None
    body = await _pair(ctx, user.username, user.role.value, device, family)
    body["user"] = {"username": user.username, "role": user.role.value, "divisions": list(user.divisions),
                    "databases": await databases(ctx.couch, user), "device": device,
                    **await directory(ctx.couch, user, stored)}
    log.info("login %s on device %s", user.username, device)
    return JSONResponse(body)


async def refresh(request: Request) -> Response:
    ctx = context_of(request)
    token = _string(await _json_body(request), "refresh_token")
    try:
        grant = await use_refresh(ctx.couch, token, int(ctx.clock()))
    except RefreshRefused as exc:
        log.info("refresh refused: %s", exc)
        raise ApiError(401, "刷新令牌无效，请重新登录 / refresh token refused: log in again") from None
    stored = await load_user(ctx.couch, grant.username)
    if not stored or stored.get("disabled"):
        raise ApiError(401, "账号不存在或已停用 / unknown or disabled account")
    return JSONResponse(await _pair(ctx, grant.username, stored["role"], grant.device, grant.family))


async def me(request: Request) -> Response:
    """The caller as the server sees it now (role, divisions, databases, names: directory.py)."""
    user = await current_user(request)
    couch = context_of(request).couch
    dbs = await databases(couch, user)
    names = await directory(couch, user, await load_user(couch, user.username))
    return JSONResponse({"username": user.username, "role": user.role.value,
                         "divisions": list(user.divisions), "device": user.device, "databases": dbs,
                         **names})


async def public_key(request: Request) -> Response:
    """The current key as before, plus `kid` and every key still accepted (`keys`, current first)."""
    ctx = context_of(request)
    key = ctx.ring.current()
    return JSONResponse({"alg": "EdDSA", "crv": "Ed25519", "kid": key.kid, "pem": key.public_pem,
                         "raw": key.public_raw_b64url, "keys": ctx.ring.published(ctx.clock())})


def routes(ctx: ServerContext) -> list[BaseRoute]:
    return [Route("/api/auth/login", login, methods=["POST"]),
            Route("/api/auth/refresh", refresh, methods=["POST"]),
            Route("/api/auth/me", me, methods=["GET"]),
            Route("/api/public-key", public_key, methods=["GET"])]
