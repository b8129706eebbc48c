"""Fixtures for the server's integration tests: a running server and fresh townships."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
async def township(couchdb_url: str) -> Township:
    return await make_township(couchdb_url)
