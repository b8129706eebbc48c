"""A link-shaping TCP proxy (链路模拟) for benchmarks: a village link of fixed bandwidth and latency.

Every connection shares one pipe per direction, like one phone's mobile link: a chunk leaves when
the pipe is free and takes `len / rate` seconds to cross, then arrives `latency` seconds later.
Order within a connection is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

CHUNK = 16 * 1024  # bytes read at a time; small enough that shaping stays smooth at 2 Mbit/s


@dataclass
class Pipe:
    rate: float  # bytes per second
    latency: float  # seconds, one way
    free_at: float = 0.0
    bytes: int = 0

    def schedule(self, size: int) -> float:
        """Arrival time of a chunk of `size` bytes sent now."""
        start = max(time.monotonic(), self.free_at)
        self.free_at = start + size / self.rate
        self.bytes += size
        return self.free_at + self.latency


@dataclass
class ShapingProxy:
    upstream_host: str
    upstream_port: int
    rate: float
    latency: float
    up: Pipe = field(init=False)
    down: Pipe = field(init=False)
    _server: asyncio.Server | None = None

    def __post_init__(self) -> None:
        self.up = Pipe(self.rate, self.latency)
        self.down = Pipe(self.rate, self.latency)

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        await asyncio.gather(_pump(reader, up_writer, self.up), _pump(up_reader, writer, self.down),
                             return_exceptions=True)
        for w in (writer, up_writer):
            w.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pipe: Pipe) -> None:
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()

    async def deliver() -> None:
        while (item := await queue.get()) is not None:
            arrival, data = item
            await asyncio.sleep(max(0.0, arrival - time.monotonic()))
            writer.write(data)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        with contextlib.suppress(OSError):
            writer.write_eof()

    task = asyncio.create_task(deliver())
    try:
        while data := await reader.read(CHUNK):
            await queue.put((pipe.schedule(len(data)), data))
    finally:
        await queue.put(None)
        await task
