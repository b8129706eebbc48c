"""Session-wide fixtures: one CouchDB-compatible engine per test session.

With `COUCHDB_URL` set, tests use that server (Apache CouchDB 3.x) instead of starting the
embedded pouchdb-server. Every test gets its own databases from `make_db`, deleted afterwards.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import settings as hypothesis_settings

from sync_server.engine import Engine

# httpx logs full URLs at INFO, and engine URLs carry the admin password.
logging.getLogger("httpx").setLevel(logging.WARNING)

# Several test runs may share this checkout: no shared example database, and a failing
# example is printed as a blob that replays it (`@reproduce_failure`).
hypothesis_settings.register_profile("onetrip", database=None, print_blob=True, deadline=None)
hypothesis_settings.load_profile("onetrip")


@pytest.fixture(scope="session")
def couchdb_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Admin URL of the engine for this test session (no trailing slash)."""
    external = os.environ.get("COUCHDB_URL")
    if external:
        yield external.rstrip("/")
        return
    engine = Engine(tmp_path_factory.mktemp("engine-data"))
    engine.start()
    try:
        yield engine.url
    finally:
        engine.stop()


@pytest.fixture
def make_db(couchdb_url: str) -> Iterator[Callable[..., str]]:
    """Factory creating uniquely named databases (`name = make_db("prefix")`), dropped after the test."""
    created: list[str] = []

    def make(prefix: str = "test") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        response = httpx.put(f"{couchdb_url}/{name}", timeout=30)
        response.raise_for_status()
        created.append(name)
        return name

    yield make
    for name in created:
        httpx.delete(f"{couchdb_url}/{name}", timeout=30)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty data folder (ONETRIP_DATA) for one test."""
    path = tmp_path / "data"
    path.mkdir()
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests may run once more after a failure (as Playwright does on CI); the run
    reports it as a rerun, so a test that keeps needing one is seen. Nothing else retries."""
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.flaky(reruns=1))
