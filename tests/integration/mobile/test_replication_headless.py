"""`onetrip-device sync` end to end: login, push and pull through the real gateway, one store."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ulid import ULID

from mobile.headless_sync import Tokens, login, sync_databases
from mobile.store import LocalStore
from mobile.sync_plan import Gateway, RoundResult, sync_round
from shared.ids import case_id, event_id
from tests.integration.mobile.helpers import payload
from tests.integration.sync_server.server_fixtures import (
    PASSWORD,
    RunningServer,
    Township,
    make_township,
    start_server,
)


@pytest.fixture(scope="module")
def server(couchdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("headless-server"), couchdb_url)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def town(couchdb_url: str, server: RunningServer) -> Township:
    return asyncio.run(make_township(couchdb_url))


def sync(
    store: Path, server: RunningServer, username: str, password: str = PASSWORD
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mobile.cli",
            "sync",
            "--store",
            str(store),
            "--server",
            server.url,
            "--username",
            username,
            "--password",
            password,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_case(path: Path, village: str, agent: str) -> tuple[str, bytes]:
    """A submitted case with a scan and its `created` event by `agent`, as the app leaves them."""
    scan = b"\xff\xd8\xff\xe0" + payload(30_000, 9)
    ulid = str(ULID())
    store = LocalStore(path)
    doc: dict[str, Any] = {
        "_id": case_id(ulid),
        "type": "case",
        "item_code": "330212-001",
        "status": "submitted",
        "division": {"village": village, "township": village[:9], "county": village[:6]},
        "applicant": {"name": "王五", "phone": "13800000000"},
        "answers": {},
        "materials": [],
    }
    res = store.put(doc)
    store.put_attachment(res["id"], res["rev"], "id-1.jpg", scan, "image/jpeg")
    store.put(
        {
            "_id": event_id(ulid, str(ULID())),
            "type": "event",
            "case_id": doc["_id"],
            "kind": "created",
            "by": agent,  # an event is its pusher's, in their role (ADR 0105)
            "role": "village_agent",
            "data": {},
        }
    )
    store.close()
    return doc["_id"], scan


def last_json(out: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return result


def test_agent_pushes_and_staff_pulls_every_village(
    server: RunningServer, town: Township, tmp_path: Path
) -> None:
    agent_store = tmp_path / "agent.sqlite"
    doc_id, scan = write_case(agent_store, town.villages[0], town.agents[0])
    pushed = sync(agent_store, server, town.agents[0])
    assert pushed.returncode == 0, pushed.stderr
    first = last_json(pushed.stdout)
    assert first["pushed"] == 2 and first["conflicts"] == 0
    assert first["databases"] == ["ot-catalog", town.dbs[0]]

    staff_store = tmp_path / "staff.sqlite"
    pulled = sync(staff_store, server, town.staff)
    assert pulled.returncode == 0, pulled.stderr
    summary = last_json(pulled.stdout)
    assert summary["pulled"] == int(first["pulled"]) + 2  # type: ignore[call-overload]
    assert sorted(summary["databases"]) == sorted(["ot-catalog", *town.dbs])  # type: ignore[call-overload]
    with LocalStore(staff_store) as store:
        assert store.get_attachment(doc_id, "id-1.jpg") == scan

    again = sync(agent_store, server, town.agents[0])
    assert last_json(again.stdout)["pushed"] == 0


async def test_what_a_round_pulled_is_not_counted_as_waiting_to_sync(
    server: RunningServer, town: Township, tmp_path: Path
) -> None:
    agent_store = tmp_path / "agent.sqlite"
    doc_id, _ = write_case(agent_store, town.villages[0], town.agents[0])
    assert sync(agent_store, server, town.agents[0]).returncode == 0
    store = LocalStore(tmp_path / "staff.sqlite")
    try:
        result = await staff_round(server, town, store, f"dev-round-{town.code}")
        assert [part.name for part in result.databases] == list(town.dbs)
        assert sum(part.pull.docs_written for part in result.databases) >= 2 and store.get(doc_id)
        # The round's last pushes walked past what its pulls wrote: nothing waits to be pushed.
        assert result.pending == 0 and result.pushed_seq == store.info()["update_seq"]
    finally:
        store.close()


async def staff_round(
    server: RunningServer, town: Township, store: LocalStore, device: str,
    wire: httpx.AsyncBaseTransport | None = None,
) -> RoundResult:
    """One sync round of the township's staff device through `wire`, as the app runs it."""
    async with httpx.AsyncClient(timeout=30) as client:
        account = await login(client, server.url, town.staff, PASSWORD, device)
        tokens = Tokens(client, server.url, account)
        gateway = Gateway(server.url, lambda: tokens.access, tokens.refresh, transport=wire)
        return await sync_round(store, gateway, town.dbs)


class InFlight(httpx.AsyncBaseTransport):
    """The real transport, noting which village databases have a request on the wire at once."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.now: dict[str, int] = {}
        self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        db = request.url.path.split("/")[2]
        self.now[db] = self.now.get(db, 0) + 1
        self.most = max(self.most, sum(1 for n in self.now.values() if n))
        try:
            response = await self.inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.now[db] -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_staff_round_syncs_its_villages_at_once_and_brings_each_whole(
    server: RunningServer, town: Township, tmp_path: Path
) -> None:
    """On a village link a run mostly waits for round trips: villages overlap (ADR 0148)."""
    written = []
    for n, village in enumerate(town.villages):
        agent_store = tmp_path / f"agent{n}.sqlite"
        written.append(write_case(agent_store, village, town.agents[n]))
        assert sync(agent_store, server, town.agents[n]).returncode == 0
    store = LocalStore(tmp_path / "staff.sqlite")
    wire = InFlight()
    try:
        result = await staff_round(server, town, store, f"dev-overlap-{town.code}", wire)
        assert wire.most == len(town.dbs)  # both villages had a request on the wire at one time
        assert [part.name for part in result.databases] == list(town.dbs)
        for doc_id, scan in written:
            assert store.get_attachment(doc_id, "id-1.jpg") == scan
        assert result.pending == 0
    finally:
        store.close()
        await wire.aclose()


class Recording(httpx.AsyncBaseTransport):
    """The real transport, keeping each `_revs_diff` body by database and counting the attachment
    transfers of the whole round on the wire at once."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.asked: dict[str, list[str]] = {}
        self.transfers = 0
        self.most_transfers = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        db, _, rest = request.url.path.removeprefix("/sync/").partition("/")
        if rest == "_revs_diff":
            body = await request.aread()
            self.asked.setdefault(db, []).extend(json.loads(gzip.decompress(body) if
                                                            request.headers.get("content-encoding") == "gzip"
                                                            else body))
        moves_bytes = rest.endswith(".jpg") or "attachments=true" in str(request.url.query)
        self.transfers += moves_bytes
        self.most_transfers = max(self.most_transfers, self.transfers)
        try:
            response = await self.inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.transfers -= moves_bytes

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_staff_round_asks_each_village_only_about_its_own_documents(
    server: RunningServer, town: Township, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A township store holds every village: each village's pushes ask `_revs_diff` only about that
    village's documents, and the round's attachment transfers share its slots (ADR 0158)."""
    import mobile.sync_plan

    monkeypatch.setattr(mobile.sync_plan, "ROUND_ATTACHMENT_SLOTS", 1)
    for n, village in enumerate(town.villages):
        agent_store = tmp_path / f"agent{n}.sqlite"
        write_case(agent_store, village, town.agents[n])
        write_case(agent_store, village, town.agents[n])
        assert sync(agent_store, server, town.agents[n]).returncode == 0
    store = LocalStore(tmp_path / "staff.sqlite")
    wire = Recording()
    try:
        # pulls both villages, then pushes each again
        await staff_round(server, town, store, f"dev-routed-{town.code}", wire)
        home = {}
        for row in store.changes(since=0, include_docs=True)["results"]:
            doc = row["doc"]
            if row["id"].startswith("_"):
                continue
            case = store.get(doc["case_id"]) if doc.get("case_id") else doc
            home[row["id"]] = "ot-v-" + case["division"]["village"]
        asked = {db: sorted(set(ids)) for db, ids in wire.asked.items()}
        assert sorted(asked) == sorted(town.dbs)  # the closing pushes asked about the pulled documents
        for db, ids in asked.items():
            assert ids and {home[i] for i in ids} == {db}, db
        assert wire.most_transfers == 1
    finally:
        store.close()
        await wire.aclose()


def test_wrong_password_fails_with_a_clear_message(
    server: RunningServer, town: Township, tmp_path: Path
) -> None:
    result = sync(tmp_path / "x.sqlite", server, town.agents[0], password="wrong")
    assert result.returncode == 2
    assert "wrong username or password" in result.stderr


async def test_a_refused_access_token_is_refreshed_once(server: RunningServer, town: Township,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite"
    write_case(path, town.villages[1], town.agents[1])
    store = LocalStore(path)
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            account = await login(client, server.url, town.agents[1], PASSWORD, "dev-refresh-test")
            tokens = Tokens(client, server.url, account)
            tokens.access = "expired.or.revoked"  # what a device holds after 30 min offline
            result = await sync_databases(store, server.url, tokens, (town.dbs[1],))
        assert result.pushed == 2 and tokens.access not in ("expired.or.revoked", account.access_token)
    finally:
        store.close()


def test_a_deletion_reaches_only_the_village_database_of_its_document(
    server: RunningServer, town: Township, tmp_path: Path, couchdb_url: str
) -> None:
    doc_id, _ = write_case(tmp_path / "agent.sqlite", town.villages[1], town.agents[1])
    assert sync(tmp_path / "agent.sqlite", server, town.agents[1]).returncode == 0
    path = tmp_path / "staff.sqlite"  # township staff: every village of the township in one store
    first = sync(path, server, town.staff)
    assert first.returncode == 0, first.stderr
    with LocalStore(path) as store:  # a bare tombstone: no division says where it goes
        store.remove(doc_id, store.get(doc_id)["_rev"])
    second = sync(path, server, town.staff)
    assert second.returncode == 0, second.stderr
    assert last_json(second.stdout)["pushed"] == 1

    def changes(db: str) -> dict[str, bool]:
        feed = httpx.get(f"{couchdb_url.rstrip('/')}/{db}/_changes", timeout=30).json()
        return {row["id"]: bool(row.get("deleted")) for row in feed["results"]}

    assert changes(town.dbs[1])[doc_id] is True  # deleted where it was
    assert doc_id not in changes(town.dbs[0])  # and nothing, not even a tombstone, elsewhere


async def test_a_pull_the_store_refuses_is_counted_shown_and_fetched_next_time(
    server: RunningServer, town: Township, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mobile.replication.local import LocalDB
    from mobile.services.sync_runner import SyncRunner

    doc_id, scan = write_case(tmp_path / "agent.sqlite", town.villages[0], town.agents[0])
    assert sync(tmp_path / "agent.sqlite", server, town.agents[0]).returncode == 0
    original = LocalDB.write_docs

    async def refusing(self: LocalDB, docs: list[dict[str, object]]) -> list[dict[str, object]]:
        """The injected refusal: this store cannot take the case (as a bad attachment would)."""
        failures = await original(self, [d for d in docs if d["_id"] != doc_id])
        return failures + [{"id": doc_id, "error": "bad_request", "reason": "Invalid attachment revpos"}
                           for d in docs if d["_id"] == doc_id]

    path = tmp_path / "staff.sqlite"
    store = LocalStore(path)
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            account = await login(client, server.url, town.staff, PASSWORD, f"dev-held-{town.code}")
            tokens = Tokens(client, server.url, account)
            monkeypatch.setattr(LocalDB, "write_docs", refusing)
            first = await sync_databases(store, server.url, tokens, (town.dbs[0],))
            assert first.as_json()["held"] == 1 and first.held[0]["id"] == doc_id

            async def refresh() -> str:
                await tokens.refresh()
                return tokens.access

            runner = SyncRunner(store, server.url, (town.dbs[0],), token=lambda: tokens.access,
                                refresh=refresh)
            shown = (await runner.run(0)).snapshot
            assert shown.databases[0].held == 1 and "Invalid attachment revpos" in shown.error
            assert "下次同步会自动重试" in shown.databases[0].held_message()
            monkeypatch.setattr(LocalDB, "write_docs", original)
            second = await sync_databases(store, server.url, tokens, (town.dbs[0],))
        assert second.as_json()["held"] == 0 and second.pulled >= 1
        assert store.get_attachment(doc_id, "id-1.jpg") == scan
    finally:
        store.close()
