"""Bearer authentication for API endpoints (接口鉴权).

    user = await current_user(request)                      # 401 unless a valid access token
    user = await require_role(request, AccountRole.TOWNSHIP_STAFF)   # 403 for other roles

Every call checks the user and device documents, so a revoked device, a disabled user or an
ended token family is refused, and the role used is the stored one, not the one frozen in
the token. With `ctx.accounts` (the app `create_app` builds for `onetrip up`) they come from
a cache that follows ot-auth's changes — refused within `auth.cache.STALE_BOUND` seconds at
worst, normally at once; without it, from one `_all_docs` request per call.
"""

from __future__ import annotations

from starlette.requests import Request

from sync_server.auth.accounts import AccountRole, User, user_from_doc
from sync_server.auth.devices import device_key
from sync_server.auth.tokens import InvalidToken, verify_access
from sync_server.context import context_of
from sync_server.errors import ApiError
from sync_server.provision import AUTH_DB

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="onetrip"'}


def unauthorized(reason: str) -> ApiError:
    return ApiError(401, reason, headers=_CHALLENGE)


async def current_user(request: Request) -> User:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("需要登录 / a bearer access token is required")
    ctx = context_of(request)
    try:
        claims = verify_access(ctx.ring, token.strip(), ctx.clock())
    except InvalidToken:
        raise unauthorized("令牌无效或已过期 / invalid or expired access token") from None
    ids = [f"user:{claims['sub']}", device_key(claims["device"])]
    if ctx.accounts is not None:
        user_doc, device_doc = await ctx.accounts.get(ids)
    else:
        rows = (await ctx.couch.request("POST", f"/{AUTH_DB}/_all_docs", params={"include_docs": "true"},
                                        json_body={"keys": ids})).json()["rows"]
        user_doc, device_doc = (row.get("doc") for row in rows)
    if not user_doc or user_doc.get("disabled"):
        raise unauthorized("账号不存在或已停用 / unknown or disabled account")
    if (not device_doc or device_doc.get("revoked") or device_doc.get("username") != claims["sub"]
            or not device_doc.get("family") or device_doc.get("family") != claims["fam"]):
        raise unauthorized("终端已注销，请重新登录 / this device was signed out or revoked: log in again")
    user = user_from_doc(user_doc, claims["device"])
    request.state.user = user
    return user


async def require_role(request: Request, *roles: AccountRole) -> User:
    user = await current_user(request)
    if roles and user.role not in roles:
        raise ApiError(403, f"角色 {user.role} 无此权限 / role {user.role} may not do this")
    return user
