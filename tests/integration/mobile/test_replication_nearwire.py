"""Reads from a near engine leave through aiohttp (ADR 0150) and come back as httpx's own would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from mobile.replication import Backoff, RemoteDB, Unreachable, replicate
from mobile.replication.nearwire import NearTransport
from mobile.store import LocalStore
from tests.integration.mobile.helpers import local_snapshot, make_case, put_docs, remote_snapshot
from tests.integration.mobile.proxy import Exchange, Fault, FaultProxy


class Counted(httpx.AsyncBaseTransport):
    """httpx's own transport, counting what it was given (what aiohttp was not)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(f"{request.method} {request.url.path}")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def proxied(
    couchdb_url: str, make_db: Callable[[str], str]
) -> AsyncIterator[tuple[str, str, FaultProxy]]:
    """(direct URL, URL through a fault proxy, proxy) of a fresh database."""
    name = make_db("nearwire")
    parts = urlsplit(couchdb_url)
    proxy = FaultProxy(parts.hostname or "127.0.0.1", parts.port or 5984)
    port = await proxy.start()
    yield f"{couchdb_url}/{name}", f"http://{parts.username}:{parts.password}@127.0.0.1:{port}/{name}", proxy
    await proxy.stop()


async def test_a_gzipped_answer_is_decoded_and_counted_as_it_came(
    couchdb_url: str, make_db: Callable[[str], str]
) -> None:
    url = f"{couchdb_url}/{make_db('nearwire')}"
    await put_docs(url, [make_case(i) for i in range(40)])
    fallback = Counted()
    parts = urlsplit(url)
    base = f"http://{parts.hostname}:{parts.port}{parts.path}"
    auth = httpx.BasicAuth(parts.username or "", parts.password or "")
    got: dict[str, httpx.Response] = {}
    for name, transport in (("aiohttp", NearTransport(lambda r: True, fallback)), ("httpx", None)):
        async with httpx.AsyncClient(auth=auth, transport=transport) as client:
            got[name] = await client.get(
                f"{base}/_all_docs", params={"include_docs": "true"}, headers={"Accept-Encoding": "gzip"}
            )
    near, own = got["aiohttp"], got["httpx"]
    assert not fallback.paths  # every request went through aiohttp
    assert near.status_code == own.status_code == 200
    assert near.json()["total_rows"] == own.json()["total_rows"] == 40
    assert near.headers.get("content-encoding") == own.headers.get("content-encoding")
    assert near.num_bytes_downloaded == own.num_bytes_downloaded
    assert near.json()["rows"] == own.json()["rows"]
    if near.headers.get("content-encoding") == "gzip":  # pouchdb-server gzips, CouchDB does not
        assert near.num_bytes_downloaded < len(near.content)


async def test_requests_not_chosen_and_errors_stay_httpx_s(couchdb_url: str) -> None:
    fallback = Counted()
    async with httpx.AsyncClient(transport=NearTransport(lambda r: r.method == "GET", fallback)) as client:
        await client.post(f"{couchdb_url}/_session", json={})
        with pytest.raises(httpx.ConnectError):  # nothing listens on port 9 of loopback
            await client.get("http://127.0.0.1:9/db")
    assert fallback.paths == ["POST /_session"]


async def test_tls_always_takes_httpx_s_transport() -> None:
    fallback = Counted()
    async with httpx.AsyncClient(transport=NearTransport(lambda r: True, fallback)) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("https://127.0.0.1:9/db")
    assert fallback.paths == ["GET /db"]


@pytest.mark.parametrize("fault", [Fault("cut", cut_fraction=0.5), Fault("drop")])
async def test_a_cut_or_dropped_answer_is_a_transport_error_the_pull_retries(
    proxied: tuple[str, str, FaultProxy], tmp_path: Path, fault: Fault
) -> None:
    direct, via_proxy, proxy = proxied
    await put_docs(direct, [make_case(i) for i in range(30)])
    faulted: list[Exchange] = []

    def plan(exchange: Exchange) -> Fault:
        if "_changes" in exchange.path and not faulted:
            faulted.append(exchange)
            return fault
        return Fault()

    proxy.plan = plan
    store = LocalStore(tmp_path / "agent.sqlite")
    fallback = Counted()  # to see which way each request went
    made: list[RemoteDB] = []
    wire = NearTransport(lambda request: made[0]._near_read(request), fallback)
    async with RemoteDB(via_proxy, transport=wire, inline_attachments=True) as remote:  # near
        made.append(remote)
        summary = await replicate(remote, store)
    assert faulted and summary.docs_written == 30
    assert not [p for p in fallback.paths if p.startswith("GET") or p.endswith("/_bulk_get")]
    assert local_snapshot(store) == await remote_snapshot(direct)


async def test_a_refused_connection_is_unreachable(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "agent.sqlite")
    at_once = Backoff(retries=0, initial=0.01)
    async with RemoteDB("http://127.0.0.1:9/db", inline_attachments=True, backoff=at_once) as remote:
        with pytest.raises(Unreachable):
            await replicate(remote, store)
