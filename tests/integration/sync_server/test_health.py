"""`/healthz` tells whether CouchDB answers; errors are JSON everywhere."""

from __future__ import annotations

from pathlib import Path

import httpx

from sync_server.engine import Engine
from tests.integration.sync_server.gateway_helpers import client
from tests.integration.sync_server.server_fixtures import (
    RunningServer,
    make_township,
    start_server,
    token_for,
)


async def test_healthz_and_the_gateway_report_couchdb_down_when_the_engine_stops(tmp_path: Path) -> None:
    engine = Engine(tmp_path / "engine-data")
    engine.start()
    server = start_server(tmp_path / "server-data", engine.url)
    try:
        township = await make_township(engine.url)
        sync = client(server.url, token_for(server.url, township.agents[0]))
        up = httpx.get(server.url + "/healthz")
        assert up.status_code == 200 and up.json()["ok"] is True and up.json()["couchdb"] == "up"
        assert sync.get(f"/{township.dbs[0]}/").status_code == 200
        engine.stop()
        down = httpx.get(server.url + "/healthz", timeout=10)
        assert down.status_code == 503
        assert down.json()["ok"] is False and down.json()["couchdb"] == "down"
        assert engine.password not in down.text
        for path in ["/", "/_changes?feed=longpoll&timeout=60000", "/case:01JF0000000000000000000000"]:
            gone = sync.get(f"/{township.dbs[0]}{path}", timeout=10)  # a quick 503, not a hang
            assert gone.status_code == 503 and gone.json()["error"] == "service_unavailable", path
            assert engine.password not in gone.text
    finally:
        server.stop()
        engine.stop()


def test_unknown_paths_and_methods_answer_json(api_server: RunningServer) -> None:
    missing = httpx.get(api_server.url + "/no/such/thing")
    assert missing.status_code == 404 and missing.json() == {"error": "not_found", "reason": "missing"}
    wrong = httpx.delete(api_server.url + "/healthz")
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"


def test_json_answers_are_gzipped_when_asked(api_server: RunningServer) -> None:
    response = httpx.get(api_server.url + "/api/public-key", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200  # small bodies stay plain; large ones are checked by the gateway tests
