"""`COUCHDB_URL=… make run` on an empty Apache CouchDB seeds the whole demo township."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sync_server.engine import free_port
from tests.waiting import wait_for

pytestmark = pytest.mark.cluster

STATUSES = {"draft", "submitted", "needs_materials", "accepted", "forwarded", "approved", "result_ready",
            "delivered", "withdrawn", "rejected"}


def _cases(demo: Path) -> list[dict[str, object]]:
    try:
        return list(json.loads(demo.read_text())["cases"])
    except (OSError, ValueError, KeyError):
        return []


def test_up_on_an_empty_couchdb_seeds_the_demo_township(fresh_node: str, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "COUCHDB_URL": fresh_node, "ONETRIP_DATA": str(tmp_path / "data"),
           "ONETRIP_PORT": str(port), "ONETRIP_COUNTY_PORT": str(free_port())}
    env.pop("COUNTY_PLATFORM_URL", None)
    with (tmp_path / "up.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "sync_server.cli", "up", "--no-app"], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        demo = tmp_path / "data" / "demo.json"
        # The seeder rewrites demo.json with the cases once every one of them went through.
        wait_for(lambda: _cases(demo) or proc.poll() is not None, timeout=300, what="the demo cases")
        assert proc.poll() is None, (tmp_path / "up.log").read_text()[-3000:]
        cases = _cases(demo)
        assert {c["status"] for c in cases} >= STATUSES
        users = json.loads(demo.read_text())["users"]
        agent = next(u for u in users if u["role"] == "village_agent")
        login = httpx.post(f"http://127.0.0.1:{port}/api/auth/login", timeout=30, json={
            "username": agent["username"], "password": agent["password"], "device_id": "demo-check"})
        assert login.status_code == 200, login.text
        assert "seeding the demo cases failed" not in (tmp_path / "up.log").read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
