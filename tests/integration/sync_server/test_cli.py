"""`onetrip up` runs the stack; admin commands work while it runs (all as real processes)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_server.engine import free_port, running_engine_url
from tests.waiting import wait_for

ONETRIP = [sys.executable, "-m", "sync_server.cli"]


def healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[bytes]]]:
    port = free_port()
    env = {**os.environ, "ONETRIP_DATA": str(tmp_path / "data"), "ONETRIP_PORT": str(port)}
    log = open(tmp_path / "up.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([*ONETRIP, "up", "--no-app"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: healthy(url) or proc.poll() is not None, timeout=60)
        assert proc.poll() is None, (tmp_path / "up.log").read_text()
        yield url, env, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        log.close()


def admin(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ONETRIP, "admin", *args], env=env, capture_output=True, text=True, timeout=60)


def _demo_agent(data: Path, env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """The first demo login; on a server whose `ot-auth` already has users (a shared Apache
    CouchDB) `up` must refuse to seed demo passwords over them, so an agent is added instead."""
    if (data / "demo.json").exists():
        demo = json.loads((data / "demo.json").read_text())
        assert (data / "demo.json").stat().st_mode & 0o077 == 0
        assert {u["role"] for u in demo["users"]} == {"village_agent", "township_staff", "county_operator"}
        assert all(u["display_name"].endswith("(示例)") for u in demo["users"])  # named samples
        assert demo["cases"] == [] or all("tracking_code" in c for c in demo["cases"])
        return dict(demo["users"][0])
    assert os.environ.get("COUCHDB_URL"), "the embedded engine starts empty: the demo must be seeded"
    assert "not seeding the demo" in (tmp_path / "up.log").read_text()
    name = f"cli-agent-{uuid.uuid4().hex[:8]}"
    assert admin(env, "add-division", "330212001001", "演示村").returncode == 0
    made = admin(env, "add-user", name, "--role", "village_agent", "--division", "330212001001",
                 "--password", "a long password")
    assert made.returncode == 0, made.stderr
    return {"username": name, "password": "a long password", "divisions": ["330212001001"]}


def test_up_seeds_the_demo_and_admin_commands_work_while_it_runs(
    stack: tuple[str, dict[str, str], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    url, env, proc = stack
    data = Path(env["ONETRIP_DATA"])
    agent = _demo_agent(data, env, tmp_path)
    credentials = {"username": agent["username"], "password": agent["password"], "device_id": "cli-test"}
    logged = httpx.post(url + "/api/auth/login", json=credentials).json()
    assert logged["user"]["databases"][1] == f"ot-v-{agent['divisions'][0]}"

    assert admin(env, "add-division", "330212001099", "新村").returncode == 0
    newagent, phone = f"newagent-{uuid.uuid4().hex[:8]}", f"new-phone-{uuid.uuid4().hex[:8]}"
    made = admin(env, "add-user", newagent, "--role", "village_agent", "--division", "330212001099",
                 "--password", "a long password", "--name", "新代办")
    assert made.returncode == 0, made.stderr
    pair = httpx.post(url + "/api/auth/login", json={"username": newagent, "password": "a long password",
                                                     "device_id": phone}).json()
    assert pair["user"]["databases"] == ["ot-catalog", "ot-v-330212001099"]
    # Names for the screens (ADR 0126): the agent's own, the village's.
    assert pair["user"]["display_name"] == "新代办" and pair["user"]["places"]["330212001099"] == "新村"
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert httpx.get(url + "/api/auth/me", headers=headers).status_code == 200
    assert admin(env, "revoke-device", phone).returncode == 0
    # `onetrip up` answers from the account cache: the revocation arrives through ot-auth's
    # changes feed, normally at once, at worst within auth.cache.STALE_BOUND seconds.
    wait_for(lambda: httpx.get(url + "/api/auth/me", headers=headers).status_code == 401, timeout=25)

    bad_role = admin(env, "add-user", "x1", "--role", "mayor", "--division", "330212001099",
                     "--password", "pw123456")
    assert bad_role.returncode == 2 and "mayor" in bad_role.stderr
    unknown = admin(env, "add-user", "x2", "--role", "village_agent", "--division", "330212001777",
                    "--password", "pw123456")
    assert unknown.returncode == 2 and "330212001777" in unknown.stderr
    assert admin(env, "revoke-device", "no-such-device").returncode == 1

    catalog_head = httpx.get(url + "/sync/ot-catalog/catalog",
                             headers={"Authorization": f"Bearer {logged['access_token']}"})
    assert catalog_head.status_code == 200 and catalog_head.json()["order"]  # the demo loaded the seed
    if (data / "demo.json").exists():  # this `up` seeded the demo: with it, the shipped forms
        form_head = httpx.get(url + "/sync/ot-catalog/item-form:JZ-001",
                              headers={"Authorization": f"Bearer {logged['access_token']}"})
        assert form_head.status_code == 200 and form_head.json()["form_id"] == "JZ-001"
    seed = Path(__file__).resolve().parents[3] / "assets" / "catalog" / "seed.json"
    loaded = admin(env, "load-catalog", str(seed))
    assert loaded.returncode == 0 and "0 documents written" in loaded.stdout, loaded.stdout + loaded.stderr
    broken = tmp_path / "broken.json"
    broken.write_text(seed.read_text(encoding="utf-8").replace('"items"', '"itemz"', 1), encoding="utf-8")
    refused = admin(env, "load-catalog", str(broken))
    assert refused.returncode == 2 and "broken.json:" in refused.stderr, refused.stderr
    syntax = tmp_path / "syntax.json"
    syntax.write_text('{\n  "format": 1,\n  oops\n}', encoding="utf-8")
    bad_syntax = admin(env, "load-catalog", str(syntax))
    assert bad_syntax.returncode == 2 and "syntax.json:3" in bad_syntax.stderr, bad_syntax.stderr

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert running_engine_url(data) is None  # the engine it started is stopped too
    assert not healthy(url)
