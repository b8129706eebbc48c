"""Sign-in against the server (`POST /api/auth/login`, `/api/auth/refresh`, see docs/design.md §Contracts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from mobile.services.device_state import Account, pairs
from mobile.services.errors import ServiceError
from mobile.tls import tls_context

TIMEOUT = httpx.Timeout(20.0, connect=10.0)  # village 3G: slow, but a dead link must end


class AuthError(ServiceError):
    """Sign-in failed; the message says why and what to do."""


class BadCredentials(AuthError):
    """401: wrong username or password."""


class Offline(AuthError):
    """The server could not be reached."""


@dataclass(frozen=True)
class Tokens:
    """What a successful login or refresh returns."""

    access_token: str
    refresh_token: str
    expires_in: int
    account: Account


class AuthClient(Protocol):
    """The server's auth API as the app uses it; tests pass their own."""

    async def login(self, server_url: str, username: str, password: str, device_id: str) -> Tokens: ...

    async def refresh(self, server_url: str, refresh_token: str) -> Tokens: ...


class HttpAuthClient:
    """AuthClient over httpx."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.transport = transport

    async def login(self, server_url: str, username: str, password: str, device_id: str) -> Tokens:
        body = {"username": username, "password": password, "device_id": device_id}
        return await self._post(server_url, "/api/auth/login", body)

    async def refresh(self, server_url: str, refresh_token: str) -> Tokens:
        return await self._post(server_url, "/api/auth/refresh", {"refresh_token": refresh_token})

    async def _post(self, server_url: str, path: str, body: dict[str, str]) -> Tokens:
        try:
            async with httpx.AsyncClient(
                timeout=TIMEOUT, transport=self.transport, verify=tls_context()
            ) as client:
                response = await client.post(server_url.rstrip("/") + path, json=body)
        except httpx.HTTPError as error:
            raise Offline(
                "连不上服务器，请检查网络和服务器地址 Cannot reach the server: check the network and address"
            ) from error
        if response.status_code == 401:
            raise BadCredentials("用户名或密码不对 Wrong username or password")
        if response.status_code == 429:
            raise AuthError("尝试次数太多，请稍后再试 Too many attempts: wait a few minutes")
        if response.status_code != 200:
            raise AuthError(f"服务器出错（{response.status_code}），请稍后再试 Server error: try again later")
        return _tokens(response.json())


def _tokens(data: dict[str, Any]) -> Tokens:
    user = data.get("user", {})
    account = Account(
        username=str(user.get("username", "")),
        role=str(user.get("role", "")),
        divisions=tuple(str(d) for d in user.get("divisions", ())),
        databases=tuple(str(d) for d in user.get("databases", ())),
        display_name=str(user.get("display_name") or ""),
        people=pairs(user.get("people")),
        places=pairs(user.get("places")),
    )
    return Tokens(
        access_token=str(data["access_token"]),
        refresh_token=str(data["refresh_token"]),
        expires_in=int(data.get("expires_in", 900)),
        account=account,
    )
