"""Body cap (请求体上限): a request body past 1 MiB is refused outside the gateway.

The API endpoints read their (small) bodies whole — a login, a look-up, a callback — and
checked the size after reading, so an anonymous 1 GB POST was held in memory first. This pure
ASGI middleware answers 413 at once when `Content-Length` says so, and stops the body as it
streams past the cap otherwise. `/sync/` has its own caps (ADR 0044) and is left alone.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync_server.errors import ApiError, error_response

MAX_API_BODY = 1024 * 1024  # bytes: far above any API body (a login is 4 KB, a callback 64 KB)
EXEMPT = ("/sync/",)


def _too_large() -> ApiError:
    return ApiError(413, f"请求过大（上限 {MAX_API_BODY // 1024} KiB）/ request body larger than "
                    f"{MAX_API_BODY // 1024} KiB", error="request_entity_too_large")


class BodyCap:
    def __init__(self, app: ASGIApp, limit: int = MAX_API_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.limit):
                refused = _too_large()
                await error_response(refused.status, refused.error, refused.reason)(scope, receive, send)
                return
        seen = 0

        async def capped() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _too_large()  # inside the endpoint: answered by the app's ApiError handler
            return message

        await self.app(scope, capped, send)
