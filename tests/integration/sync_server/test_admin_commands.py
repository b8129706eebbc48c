"""`onetrip admin` commands for the county IT team, in-process against the real engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jwt
import pytest
from ulid import ULID

from shared.catalog import catalog_to_json, load_catalog
from sync_server.admin import cmd_retry_handoff, cmd_rotate_signing_key
from sync_server.admin_accounts import (
    AccountNotFound,
    cmd_disable_user,
    cmd_enable_user,
    cmd_list_devices,
    cmd_list_users,
    cmd_reset_password,
)
from sync_server.auth.passwords import WeakPassword
from sync_server.catalog_store import SEED_CATALOG, cmd_export_catalog, load_catalog_file
from sync_server.couch import Couch
from sync_server.county import outbox
from sync_server.provision import SERVER_DB
from tests.integration.sync_server.server_fixtures import (
    PASSWORD,
    RunningServer,
    Township,
    login,
    start_server,
)

NOW = "2026-11-24T07:00:00Z"


@pytest.fixture
async def couch(couchdb_url: str) -> AsyncIterator[Couch]:
    client = Couch(couchdb_url)
    try:
        yield client
    finally:
        await client.aclose()


def me(server: RunningServer, token: str) -> int:
    return httpx.get(f"{server.url}/api/auth/me", headers={"Authorization": f"Bearer {token}"},
                     timeout=30).status_code


def refresh(server: RunningServer, token: str) -> int:
    return httpx.post(f"{server.url}/api/auth/refresh", json={"refresh_token": token}, timeout=30).status_code


async def test_list_users_is_a_table_without_secrets(couch: Couch, township: Township,
                                                     api_server: RunningServer) -> None:
    login(api_server.url, township.agents[0], device="list-users-phone")
    text = await cmd_list_users(couch)
    header, *lines = text.splitlines()
    assert header.split() == ["username", "role", "divisions", "state", "devices", "updated_at"]
    row = next(line.split() for line in lines if line.split()[0] == township.agents[0])
    assert row[1:5] == ["village_agent", township.villages[0], "启用/active", "1"]
    assert any(line.split()[:2] == [township.staff, "township_staff"] for line in lines)
    assert "argon2" not in text and PASSWORD not in text


async def test_disable_user_refuses_at_the_next_request_and_enable_restores(
        couch: Couch, township: Township, api_server: RunningServer) -> None:
    pair = login(api_server.url, township.agents[0], device="disable-phone").json()
    assert me(api_server, pair["access_token"]) == 200
    await cmd_disable_user(couch, township.agents[0], NOW)
    assert me(api_server, pair["access_token"]) == 401
    assert refresh(api_server, pair["refresh_token"]) == 401
    assert login(api_server.url, township.agents[0]).status_code == 401
    assert "停用/disabled" in await cmd_list_users(couch)
    await cmd_enable_user(couch, township.agents[0], NOW)
    assert login(api_server.url, township.agents[0]).status_code == 200
    with pytest.raises(AccountNotFound):
        await cmd_disable_user(couch, "nobody-here", NOW)


async def test_reset_password_signs_the_user_out_everywhere(
        couch: Couch, township: Township, api_server: RunningServer) -> None:
    user = township.agents[1]
    phone = login(api_server.url, user, device="reset-phone").json()
    tablet = login(api_server.url, user, device="reset-tablet").json()
    other = login(api_server.url, township.agents[0], device="reset-bystander").json()
    with pytest.raises(WeakPassword):
        await cmd_reset_password(couch, user, "short", NOW)
    assert me(api_server, phone["access_token"]) == 200  # a refused reset changed nothing
    message = await cmd_reset_password(couch, user, "a new long password", NOW)
    assert "2" in message
    for pair in (phone, tablet):
        assert me(api_server, pair["access_token"]) == 401
        assert refresh(api_server, pair["refresh_token"]) == 401
    assert login(api_server.url, user).status_code == 401
    assert login(api_server.url, user, password="a new long password").status_code == 200
    assert me(api_server, other["access_token"]) == 200  # other users untouched
    with pytest.raises(AccountNotFound):
        await cmd_reset_password(couch, "nobody-here", "a new long password", NOW)


async def test_list_devices_of_one_user_or_all(couch: Couch, township: Township,
                                               api_server: RunningServer) -> None:
    login(api_server.url, township.staff, device="staff-desk")
    login(api_server.url, township.agents[0], device="agent-phone")
    text = await cmd_list_devices(couch, township.staff)
    rows = [line.split() for line in text.splitlines()[1:]]
    assert [r[:3] for r in rows] == [["staff-desk", township.staff, "在线/signed-in"]]
    everything = await cmd_list_devices(couch)
    assert "staff-desk" in everything and "agent-phone" in everything
    with pytest.raises(AccountNotFound):
        await cmd_list_devices(couch, "nobody-here")


async def test_export_catalog_round_trips_through_load(couch: Couch, tmp_path: Path) -> None:
    await load_catalog_file(couch, SEED_CATALOG)
    target = tmp_path / "exported.json"
    message = await cmd_export_catalog(couch, str(target))
    seed = catalog_to_json(load_catalog(SEED_CATALOG.read_text(encoding="utf-8")))
    assert json.loads(target.read_text(encoding="utf-8")) == seed
    assert f"{len(seed['items'])}" in message
    again = await load_catalog_file(couch, target)
    assert again.changed == 0 and again.removed == 0


async def test_retry_handoff_requeues_a_dead_entry_only(couch: Couch) -> None:
    case_id = f"case:{ULID()}"
    await outbox.prepare(couch)
    now = datetime.now(UTC)
    await outbox.enqueue(couch, case_id, "ot-v-330212001001", now)
    entry = await outbox.get_entry(couch, case_id)
    assert entry is not None
    await couch.put_doc(SERVER_DB, {**entry, "state": "dead", "attempts": 8, "last_error": "HTTP 503"})
    message = await cmd_retry_handoff(couch, case_id.removeprefix("case:"))
    assert "pending" in message
    entry = await outbox.get_entry(couch, case_id)
    assert entry is not None and (entry["state"], entry["attempts"]) == ("pending", 0)
    assert entry["history"][-1]["result"] == "manual retry"
    assert "only dead or cancelled" in await cmd_retry_handoff(couch, case_id)
    with pytest.raises(outbox.OutboxNotFound):
        await cmd_retry_handoff(couch, f"case:{ULID()}")


async def test_rotating_the_signing_key_logs_nobody_out(tmp_path: Path, couchdb_url: str,
                                                        township: Township) -> None:
    server = start_server(tmp_path / "data", couchdb_url)
    try:
        before = login(server.url, township.agents[0], device="rotate-phone").json()
        old_kid = jwt.get_unverified_header(before["access_token"])["kid"]
        assert httpx.get(server.url + "/api/public-key").json()["kid"] == old_kid
        message = await cmd_rotate_signing_key(server.ctx.settings.secrets_dir)
        assert old_kid in message
        # The running server notices the new key file within a few seconds; no restart.
        deadline = time.monotonic() + 20
        while True:
            after = login(server.url, township.agents[0], device="rotate-tablet").json()
            new_kid = jwt.get_unverified_header(after["access_token"])["kid"]
            if new_kid != old_kid or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert new_kid != old_kid
        assert me(server, before["access_token"]) == 200  # the old key is still accepted
        assert me(server, after["access_token"]) == 200
        published = httpx.get(server.url + "/api/public-key").json()
        assert published["kid"] == new_kid
        assert [(k["kid"], k["current"]) for k in published["keys"]] == [(new_kid, True), (old_kid, False)]
        assert published["keys"][1]["access_until"] < published["keys"][1]["delivery_until"]
    finally:
        server.stop()


def test_admin_commands_as_a_process(tmp_path: Path, couchdb_url: str) -> None:
    env = {**os.environ, "COUCHDB_URL": couchdb_url, "ONETRIP_DATA": str(tmp_path / "data")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "sync_server.cli", "admin", *args], env=env,
                              capture_output=True, text=True, timeout=60)

    listed = run("list-users")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split()[:3] == ["username", "role", "divisions"]
    assert run("disable-user", "nobody-here").returncode == 1
    assert run("retry-handoff", f"case:{ULID()}").returncode == 1
    rotated = run("rotate-signing-key")
    assert rotated.returncode == 0, rotated.stderr
    assert (tmp_path / "data" / "secrets" / "signing-keyring.json").exists()
