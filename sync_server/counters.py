"""In-process counters (运行计数) for `/metrics`: requests, gateway traffic, refused logins.

One `Counters` per server process (`ServerContext.counters`); Prometheus adds the processes
up. `RequestCounting` is a pure ASGI middleware: it counts every HTTP request by route class
and status, and the body bytes that pass through the gateway in each direction, without
buffering anything. Route classes are a fixed list, so a scan of random paths cannot grow
the number of series.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# (path prefix, route class), first match wins; anything else is "other" (mostly 404s).
ROUTE_CLASSES: tuple[tuple[str, str], ...] = (
    ("/sync/", "sync"),
    ("/api/auth/", "auth"),
    ("/api/public-key", "auth"),
    ("/api/track", "citizen"),
    ("/api/delivery/", "citizen"),
    ("/t/", "citizen"),
    ("/pwa/", "citizen"),
    ("/api/county/", "county"),
    ("/api/reviews", "staff"),
    ("/api/supervision", "staff"),
    ("/healthz", "health"),
    ("/metrics", "meta"),
    ("/api/openapi.json", "meta"),
)


def route_class(path: str) -> str:
    for prefix, name in ROUTE_CLASSES:
        if path == prefix.rstrip("/") or path.startswith(prefix):
            return name
    return "other"


@dataclass
class Counters:
    """Monotonic counts since the process started."""

    requests: Counter[tuple[str, int]] = field(default_factory=Counter)  # (route class, status)
    sync_bytes: Counter[str] = field(default_factory=Counter)  # "in" (request bodies) / "out"
    sync_docs: Counter[str] = field(default_factory=Counter)  # "accepted" / "refused"
    logins_refused: Counter[str] = field(default_factory=Counter)  # "password" / "rate_limited" / …

    def documents(self, accepted: int, refused: int) -> None:
        self.sync_docs["accepted"] += accepted
        self.sync_docs["refused"] += refused


class RequestCounting:
    """ASGI middleware feeding `Counters` of the app's `state.ctx`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        counters: Counters = scope["app"].state.ctx.counters
        kind = route_class(scope["path"])
        status = 500  # an exception before the response started ends as a 500
        sync = kind == "sync"

        async def counting_receive() -> Message:
            message = await receive()
            if sync and message["type"] == "http.request":
                counters.sync_bytes["in"] += len(message.get("body", b""))
            return message

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif sync and message["type"] == "http.response.body":
                counters.sync_bytes["out"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, counting_receive, counting_send)
        finally:
            counters.requests[(kind, status)] += 1
