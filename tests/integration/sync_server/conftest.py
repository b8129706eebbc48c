"""Fixtures for the server's integration tests: a running server and fresh townships."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from sync_server.couch import Couch
from tests.integration.sync_server.server_fixtures import RunningServer, Township, make_township, start_server


@pytest.fixture(scope="session")
def api_server(couchdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The Starlette app (health, auth, gateway) under uvicorn on a free port."""
    server = start_server(tmp_path_factory.mktemp("server-data"), couchdb_url)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def couch(couchdb_url: str) -> AsyncIterator[Couch]:
    """An admin client of the engine, closed after the test."""
    client = Couch(couchdb_url)
    yield client
    await client.aclose()


@pytest.fixture
async def township(couchdb_url: str) -> Township:
    return await make_township(couchdb_url)
