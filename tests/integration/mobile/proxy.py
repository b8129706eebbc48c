"""A small fault-injecting HTTP/1.1 proxy for replication tests (故障注入代理).

One request per upstream connection (`Connection: close` is forced both ways), so every exchange is
seen whole: the proxy records method, path, request body and how many response bytes it delivered,
and a `plan` decides per exchange whether to pass it, delay it, cut the response after some bytes,
or drop it (the request reaches the server, the answer never reaches the client).
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fault:
    kind: str = "pass"  # pass | delay | cut | drop
    delay: float = 0.0  # seconds before the answer
    cut_fraction: float = 0.5  # share of the answer delivered before the connection is cut


@dataclass
class Exchange:
    index: int
    method: str
    path: str
    request_body: bytes
    status: int = 0
    response_bytes: int = 0  # bytes delivered to the client, head included
    response_total: int = 0
    fault: str = "pass"

    @property
    def complete(self) -> bool:
        return self.fault in ("pass", "delay") and self.response_bytes == self.response_total > 0

    def json_body(self) -> bytes:
        body = self.request_body
        return gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body


Plan = Callable[[Exchange], Fault]


@dataclass
class FaultProxy:
    upstream_host: str
    upstream_port: int
    plan: Plan = lambda exchange: Fault()
    exchanges: list[Exchange] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._handlers):  # exchanges still delayed or in flight
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self._exchange(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            self._handlers.discard(task)

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = [line for line in lines[1:] if line]
        length = next(
            (int(h.split(":", 1)[1]) for h in headers if h.lower().startswith("content-length:")), 0
        )
        body = await reader.readexactly(length) if length else b""
        kept = [h for h in headers if not h.lower().startswith(("connection:", "keep-alive:"))]
        request = "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1") + body
        exchange = Exchange(len(self.exchanges), method, path, body)
        self.exchanges.append(exchange)
        fault = self.plan(exchange)
        exchange.fault = fault.kind
        up_reader, up_writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        up_writer.write(request)
        await up_writer.drain()
        response = await up_reader.read()
        up_writer.close()
        exchange.response_total = len(response)
        if response.startswith(b"HTTP/"):
            exchange.status = int(response.split(b" ", 2)[1])
        response = _force_close(response)
        exchange.response_total = len(response)
        if fault.kind == "drop":
            return
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.kind == "cut":
            response = response[: max(1, int(len(response) * fault.cut_fraction))]
        writer.write(response)
        await writer.drain()
        exchange.response_bytes = len(response)


def _force_close(response: bytes) -> bytes:
    """Tell the client this connection ends with the answer (the upstream said so already, mostly)."""
    head, sep, rest = response.partition(b"\r\n\r\n")
    lines = [h for h in head.split(b"\r\n") if not h.lower().startswith((b"connection:", b"keep-alive:"))]
    return b"\r\n".join([*lines, b"Connection: close"]) + sep + rest
