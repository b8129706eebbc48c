"""An httpx transport that sends a near engine's reads through aiohttp (近端读取通道).

A loopback pull reads 50–60 MB in a few seconds, and on Apache CouchDB the phone's CPU is half of
the pull's: httpx's own HTTP/1.1 stack (httpcore, h11, anyio) took about a third of it, mostly
reading bodies in 64 KB events. aiohttp parses in C and reads the same 27 MB of `_bulk_get`
answers with a third of httpx's CPU (ADR 0150). So `RemoteDB` keeps httpx as its client — its
retries, traffic counts, error mapping and the transports tests put in front of it — and only the
requests `chosen` (reads from a near engine over plain HTTP) leave through an
`aiohttp.ClientSession`; every other request, and every request over TLS, takes httpx's own
transport as before.

The answer is handed back to httpx as it came off the wire (aiohttp's decompression is off), so
httpx decodes gzip and counts the bytes received as for its own transport. aiohttp's errors
become httpx's: `ConnectError`, `ReadTimeout`, `ReadError` (a cut or dropped answer), all of them
`httpx.TransportError`, which `RemoteDB` retries. aiohttp is imported on the first request chosen:
a phone, which syncs through the gateway, never loads it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    import aiohttp

Chooser = Callable[[httpx.Request], bool]


class _Body(httpx.AsyncByteStream):
    """An answer already read whole, as one chunk."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.content


class NearTransport(httpx.AsyncBaseTransport):
    """Requests `chosen` go through aiohttp, the others through `fallback` (httpx's own)."""

    def __init__(self, chosen: Chooser, fallback: httpx.AsyncBaseTransport | None = None) -> None:
        self.chosen = chosen
        self.fallback = fallback or httpx.AsyncHTTPTransport()
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None:  # created in the running loop, on first use
            self._session = aiohttp.ClientSession(
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                connector=aiohttp.TCPConnector(limit=16),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http" or not self.chosen(request):
            return await self.fallback.handle_async_request(request)
        import aiohttp
        from yarl import URL

        body = await request.aread()
        limits = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=limits.get("connect"), sock_read=limits.get("read")
        )
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        try:
            async with self._open().request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=timeout,
                skip_auto_headers=("Accept-Encoding", "User-Agent", "Content-Type"),
            ) as answer:
                content = await answer.read()
                raw = [(bytes(k), bytes(v)) for k, v in answer.raw_headers]
                status = answer.status
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or type(exc).__name__, request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        return httpx.Response(status, headers=raw, stream=_Body(content), request=request)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self.fallback.aclose()
