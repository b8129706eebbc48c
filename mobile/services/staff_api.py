"""Staff API client (online only): township reviews and supervision (`/api/reviews`,
`/api/supervision`), result slips (`/api/delivery/{code}/token`) and the county operator's
hand-offs (`/api/county/cases`, `/api/county/outbox/{case}/retry`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from mobile.services.errors import ServiceError
from mobile.tls import tls_context

TIMEOUT = httpx.Timeout(20.0, connect=10.0)


class StaffApiError(ServiceError):
    """The server could not be reached or refused; the message says which."""


class StaffApi:
    """Bearer-authenticated calls for township staff."""

    def __init__(
        self, server_url: str, token: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.token = token
        self.transport = transport

    async def reviews(self, township: str) -> list[dict[str, Any]]:
        data = await self._call("GET", "/api/reviews", params={"township": township})
        return list(data.get("reviews", []))

    async def decide(self, case_id: str, database: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return await self._call(
            "POST", f"/api/reviews/{case_id}", json={"database": database, "fields": dict(fields)}
        )

    async def supervision(self, township: str) -> dict[str, Any]:
        return await self._call("GET", "/api/supervision", params={"township": township})

    async def issue_delivery_token(self, tracking_code: str) -> dict[str, Any]:
        """A signed delivery token for a case whose result is ready: {token, url, token_id, expires_at}."""
        return await self._call("POST", f"/api/delivery/{quote(tracking_code, safe='')}/token")

    async def county_cases(self) -> list[dict[str, Any]]:
        """Every hand-off in the caller's jurisdiction, each with its `case` (status, code, item…)."""
        data = await self._call("GET", "/api/county/cases")
        return list(data.get("entries", []))

    async def retry_handoff(self, case_id: str) -> dict[str, Any]:
        """Queues a dead hand-off again; the entry as it is now."""
        return await self._call("POST", f"/api/county/outbox/{quote(case_id, safe='')}/retry")

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with httpx.AsyncClient(
                timeout=TIMEOUT, transport=self.transport, verify=tls_context()
            ) as client:
                response = await client.request(method, self.server_url + path, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise StaffApiError("需要网络：请联网后再试 Needs the network: try again when online") from error
        if response.status_code >= 400:
            try:
                reason = str(response.json().get("reason", ""))
            except ValueError:
                reason = ""
            raise StaffApiError(reason or f"服务器出错 Server error {response.status_code}")
        data = response.json()
        return data if isinstance(data, dict) else {}
