"""How uvicorn serves the app (HTTP 服务限额): connection and header limits, timeouts.

    config = server_config(app, host, port)     # what `onetrip up` runs

uvicorn's h11 protocol has no deadline for a request's headers and no bound on connections:
~20,000 connections sending half a request line used every file descriptor of the process
(issue 15 F13), and then `/healthz`, the journal's shipping and the workers' leases failed.
`GuardedH11Protocol` adds both (ADR 0104):

- a connection waiting for a request's headers longer than `HEADER_TIMEOUT` is closed
  (a new connection, or a kept-alive one that began another request and stalled);
- a request body must keep coming at `MIN_BODY_RATE` over each `BODY_WINDOW` (windows in
  which the app was not reading do not count), else the connection is closed;
- at most `max_connections` connections: one more closes the one that has waited longest for
  its headers — a flood of idle connections is pushed out by real requests rather than
  locking them out — or, when every connection is busy with a request, the new one.

With `h11_max_incomplete_event_size` (request line and headers, 32 KiB), `limit_concurrency`
(uvicorn answers 503 past it) and `timeout_keep_alive`. Closing a connection logs nothing per
connection: one rate-limited warning (`sync_server.quietlog`).
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import OrderedDict
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

HEADER_TIMEOUT = 10.0  # seconds from connection (or the last answer) to a complete request head
BODY_WINDOW = 30.0  # seconds over which a request body must arrive at MIN_BODY_RATE at least
MIN_BODY_RATE = 1024  # bytes per second: 2G/EDGE sends ten times that; a trickle is an attack
MAX_HEAD = 32 * 1024  # bytes: request line and headers (a JWT is 0.5 KB; query strings ≤ 16 KiB)
KEEP_ALIVE = 5  # seconds an idle kept-alive connection stays open (nginx's upstream keepalive_timeout is 4 s)
FD_RESERVE = 1024  # descriptors kept for CouchDB pools, the journal, the workers and logs


def max_connections() -> int:
    """Connections one process accepts: below its descriptor limit, at most 4,096."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 4096
    return max(64, min(4096, (soft - FD_RESERVE) // 2))


class _Guard:
    """Per server: the connections waiting for a request head, the longest waiting first."""

    def __init__(self, limit: int, header_timeout: float, body_window: float = BODY_WINDOW) -> None:
        self.limit, self.header_timeout, self.body_window = limit, header_timeout, body_window
        self.waiting: OrderedDict[GuardedH11Protocol, None] = OrderedDict()
        self.evicted = 0


class GuardedH11Protocol(H11Protocol):
    guard: _Guard  # set on the subclass `guarded_protocol` makes

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._since = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._received = 0  # bytes from the client, heads and bodies
        self._baseline = 0
        self._body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait_for_head()
        if len(self.connections) > self.guard.limit:
            oldest = next(iter(self.guard.waiting))
            self.guard.evicted += 1
            log.warning("connection limit (%d) reached: closing the connection that waited longest for its "
                        "request", self.guard.limit)
            oldest._close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        self._stop_body_watch()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._received += len(data)
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # a request head arrived
            self._stop_waiting()
        sending = self.conn.their_state is h11.SEND_BODY
        if sending and self._body_timer is None and not self.transport.is_closing():
            self._baseline = self._received
            self._body_timer = self.loop.call_later(self.guard.body_window, self._body_check)

    def _body_check(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.SEND_BODY:
            return
        got, self._baseline = self._received - self._baseline, self._received
        if got < MIN_BODY_RATE * self.guard.body_window and not self.flow.read_paused:
            log.warning("closing connections whose request body came slower than %d bytes/s", MIN_BODY_RATE)
            self._close()
            return
        self._body_timer = self.loop.call_later(self.guard.body_window, self._body_check)

    def _stop_body_watch(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._wait_for_head()

    def _wait_for_head(self) -> None:
        self._stop_waiting()
        self._since = self.loop.time()
        self.guard.waiting[self] = None
        self._timer = self.loop.call_later(self.guard.header_timeout, self._head_overdue)

    def _stop_waiting(self) -> None:
        self.guard.waiting.pop(self, None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _head_overdue(self) -> None:
        self._timer = None
        if self.conn.their_state is h11.IDLE:
            log.warning("closing connections whose request head did not arrive within %.0f s",
                        self.guard.header_timeout)
            self._close()

    def _close(self) -> None:
        self._stop_waiting()
        if not self.transport.is_closing():
            self.transport.abort()  # the descriptor is freed now, nothing is sent
        self.connections.discard(self)  # counted out now, not when the loop reports the loss


def guarded_protocol(limit: int | None = None, header_timeout: float = HEADER_TIMEOUT,
                     body_window: float = BODY_WINDOW) -> type[GuardedH11Protocol]:
    """A protocol class with its own guard (one per server)."""
    guard = _Guard(limit or max_connections(), header_timeout, body_window)
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"guard": guard})


def server_config(app: ASGIApp, host: str, port: int, *, limit: int | None = None,
                  header_timeout: float = HEADER_TIMEOUT, body_window: float = BODY_WINDOW) -> uvicorn.Config:
    """The uvicorn configuration of `onetrip up` (and of the tests that check it)."""
    connections = limit or max_connections()
    protocol = guarded_protocol(connections, header_timeout, body_window)
    return uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on",
                          server_header=False, http=protocol,
                          # uvicorn answers 503 past it, counting connections and requests in
                          # progress: above the connections kept, it bounds the requests.
                          limit_concurrency=2 * connections,
                          h11_max_incomplete_event_size=MAX_HEAD,
                          timeout_keep_alive=KEEP_ALIVE, backlog=2048)
