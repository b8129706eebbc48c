"""Issue 15, F13: a flood of connections that never finish their request head."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from sync_server import health
from sync_server.app import create_app
from sync_server.auth import routes as auth_routes
from sync_server.auth.keys import load_signing_key
from sync_server.context import ServerContext
from sync_server.couch import Couch
from sync_server.engine import free_port
from sync_server.provision import provision
from sync_server.quietlog import BURST, QuietFilter
from sync_server.serving import server_config
from sync_server.settings import settings_from_env
from tests.waiting import wait_for

HALF_A_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Guarded:
    url: str
    port: int
    server: _Server


@contextlib.contextmanager
def guarded_server(data: Path, couchdb_url: str, *, limit: int, header_timeout: float,
                   body_window: float = 30.0) -> Iterator[Guarded]:
    """The app under `onetrip up`'s uvicorn configuration, with a small connection limit."""
    asyncio.run(_provisioned(couchdb_url))  # login answers 401, not 404, for an unknown user
    port = free_port()
    settings = settings_from_env({"ONETRIP_DATA": str(data), "COUCHDB_URL": couchdb_url})
    ctx = ServerContext(settings=settings, couchdb_url=couchdb_url,
                        key=load_signing_key(settings.secrets_dir))
    app = create_app(settings, ctx=ctx, route_parts=(health.routes, auth_routes.routes))
    server = _Server(server_config(app, "127.0.0.1", port, limit=limit, header_timeout=header_timeout,
                                   body_window=body_window))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started or not thread.is_alive(), what="the server to start")
    assert server.started
    try:
        yield Guarded(f"http://127.0.0.1:{port}", port, server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def _provisioned(couchdb_url: str) -> None:
    couch = Couch(couchdb_url)
    try:
        await provision(couch)
    finally:
        await couch.aclose()


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        sock.setblocking(False)
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:  # reset: closed with an abort
        return True


def test_a_flood_of_unfinished_requests_does_not_lock_out_real_ones(
        couchdb_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    limit, flood = 40, 400
    quiet = QuietFilter()
    caplog.handler.addFilter(quiet)
    with guarded_server(tmp_path, couchdb_url, limit=limit, header_timeout=600) as served, \
            caplog.at_level(logging.INFO):
        socks = []
        try:
            for _ in range(flood):
                sock = socket.create_connection(("127.0.0.1", served.port))
                sock.sendall(HALF_A_REQUEST)
                socks.append(sock)
            # The server never holds more than its limit: the longest waiting are pushed out.
            wait_for(lambda: len(served.server.server_state.connections) <= limit, what="connections bounded")
            health = httpx.get(served.url + "/healthz", timeout=30)
            assert health.status_code == 200, health.text
            closed = wait_for(lambda: (n := sum(_closed_by_server(s) for s in socks)) >= flood - limit and n,
                              what="the flood's connections closed")
            assert closed >= flood - limit
        finally:
            for sock in socks:
                sock.close()
    from_guard = [r for r in caplog.records if r.name == "sync_server.serving"]
    assert 1 <= len(from_guard) <= BURST  # one line per message and minute, not one per connection
    assert not [r for r in caplog.records if r.exc_info]


def test_a_request_head_that_never_completes_is_closed(couchdb_url: str, tmp_path: Path) -> None:
    with guarded_server(tmp_path, couchdb_url, limit=100, header_timeout=1.0) as served:
        with socket.create_connection(("127.0.0.1", served.port)) as stalled:
            stalled.sendall(HALF_A_REQUEST)
            # Kept alive after an answer, then stalled in the next head: closed too.
            with socket.create_connection(("127.0.0.1", served.port)) as kept:
                kept.sendall(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
                kept.settimeout(30)
                assert kept.recv(65536).startswith(b"HTTP/1.1 404")
                kept.sendall(HALF_A_REQUEST)
                wait_for(lambda: _closed_by_server(stalled) and _closed_by_server(kept),
                         what="stalled heads closed")
        # Complete heads are still served.
        assert httpx.get(served.url + "/nowhere", timeout=30).status_code == 404


def test_a_body_that_trickles_is_closed_without_a_traceback(
        couchdb_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with guarded_server(tmp_path, couchdb_url, limit=100, header_timeout=30, body_window=0.5) as served, \
            caplog.at_level(logging.INFO):
        with socket.create_connection(("127.0.0.1", served.port)) as slow:
            slow.sendall(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100000\r\n\r\n{")
            wait_for(lambda: _closed_by_server(slow), what="the trickling body closed")
        # A body sent at once is served as before.
        answer = httpx.post(served.url + "/api/auth/login", json={"username": "nobody-here", "password": "x",
                                                                 "device_id": "d"}, timeout=30)
        assert answer.status_code == 401
    assert [r for r in caplog.records if r.name == "sync_server.serving" and "slower" in r.getMessage()]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], caplog.text
