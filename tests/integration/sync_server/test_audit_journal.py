"""The audit journal (ADR 0049): records durable on disk first, shipped to ot-server in batches,
reconciled with CouchDB when their write was never answered, adopted after a crash."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from sync_server.auth.accounts import AccountRole, User
from sync_server.couch import Couch, CouchError
from sync_server.engine import free_port
from sync_server.gateway.audit import AcceptedWrite, AuditAhead, audit_record, record_writes
from sync_server.gateway.journal import AuditJournal, JournalError
from sync_server.provision import SERVER_DB, provision
from tests.integration.sync_server.gateway_helpers import client, count_requests, make_case
from tests.integration.sync_server.server_fixtures import RunningServer, Township, token_for
from tests.waiting import wait_until

USER = User("journaller", AccountRole.VILLAGE_AGENT, ("330212100001",), "dev-j")
AT = "2026-12-03T08:00:00Z"


@pytest.fixture
async def journal(couch: Couch, data_dir: Path) -> AsyncIterator[AuditJournal]:
    await provision(couch)
    opened = AuditJournal(data_dir / "audit-journal", lambda: couch, ship_delay=0.05)
    await opened.open()
    yield opened
    await opened.close()


async def stored(couch: Couch, record_id: str) -> dict[str, Any] | None:
    return await couch.get_doc(SERVER_DB, record_id)


async def test_records_of_many_requests_reach_ot_server_in_one_write(
    couch: Couch, journal: AuditJournal
) -> None:
    writes = count_requests(couch, f"/{SERVER_DB}/_bulk_docs")
    records = [audit_record(USER, "ot-v-330212100001", [AcceptedWrite(f"case:{n}", f"1-{n}")], AT)
               for n in range(20)]
    await asyncio.gather(*(journal.append(r, final=True) for r in records))
    assert await journal.counts() == {"unshipped": 20}
    for record in records:
        doc = await wait_until(functools.partial(stored, couch, record["_id"]), what="shipped record")
        assert doc["writes"] == record["writes"] and doc["user"] == USER.username
    assert len(writes) == 1
    assert await journal.counts() == {}


async def test_a_planned_record_ships_only_as_settled(
    couch: Couch, journal: AuditJournal, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned = [AcceptedWrite("case:a", "1-a"), AcceptedWrite("case:b", "1-b")]
    some = AuditAhead(journal, USER, "ot-v-330212100001", planned, AT)
    none = AuditAhead(journal, USER, "ot-v-330212100001", planned, AT)
    await some.begin()
    await none.begin()
    assert await journal.counts() == {"planned": 2}
    await journal.ship()
    assert await stored(couch, some.record["_id"]) is None  # planned: not shipped
    some.settle(planned[1:])
    none.settle([])
    doc = await wait_until(lambda: stored(couch, some.record["_id"]), what="settled record")
    assert [w["doc_id"] for w in doc["writes"]] == ["case:b"] and "recovered" not in doc
    assert await stored(couch, none.record["_id"]) is None
    assert await journal.counts() == {}


async def test_a_settle_still_on_its_way_to_disk_is_committed_before_close_reconciles(
    couch: Couch, data_dir: Path, make_db: Callable[..., str]
) -> None:
    """The answer does not wait for the settle; a clean stop still ships it as settled, not recovered."""
    await provision(couch)
    db = make_db("journal")
    rev = (await couch.put_doc(db, {"_id": "case:settled"}))["rev"]
    journal = AuditJournal(data_dir / "audit-journal", lambda: couch, ship_delay=60)
    await journal.open()
    ahead = AuditAhead(journal, USER, db, [AcceptedWrite("case:settled", rev)], AT)
    await ahead.begin()
    ahead.settle([AcceptedWrite("case:settled", rev)])  # returns before the commit
    await journal.close()  # without the settle first, reconciliation would mark it recovered
    doc = await stored(couch, ahead.record["_id"])
    assert doc is not None and doc["writes"][0]["rev"] == rev and "recovered" not in doc
    assert not list((data_dir / "audit-journal").glob("*.sqlite*"))


async def test_commits_reach_the_disk_in_the_background_soon_after(journal: AuditJournal) -> None:
    """A commit returns once the OS has it (a process crash keeps it); the disk sync follows within 0.2 s."""
    assert journal.syncs == 0
    ahead = AuditAhead(journal, USER, "ot-v-330212100001", [AcceptedWrite("case:s", "1-s")], AT)
    await ahead.begin()
    assert await journal.counts() == {"planned": 1}
    await wait_until(lambda: journal.syncs >= 1, what="a disk sync after the commit", timeout=5)
    synced = journal.syncs
    await asyncio.sleep(0.5)
    assert journal.syncs == synced  # nothing new to sync: no idle syncing


async def test_unanswered_writes_are_reconciled_with_what_couchdb_holds(
    couch: Couch, journal: AuditJournal, make_db: Callable[..., str]
) -> None:
    db = make_db("journal")
    held = (await couch.put_doc(db, {"_id": "case:held"}))["rev"]
    planned = [AcceptedWrite("case:held", held), AcceptedWrite("case:lost", "1-x")]
    lost = AuditAhead(journal, USER, db, planned, AT)
    nothing = AuditAhead(journal, USER, db, [AcceptedWrite("case:lost2", "1-y")], AT)
    gone_db = AuditAhead(journal, USER, "ot-v-no-such-db", [AcceptedWrite("case:z", "1-z")], AT)
    for ahead in (lost, nothing, gone_db):
        await ahead.begin()
    assert await journal.reconcile(older_than=3600) == 0  # still young: its request may be under way
    assert await journal.reconcile(older_than=None) == 3
    doc = await wait_until(lambda: stored(couch, lost.record["_id"]), what="reconciled record")
    assert doc["writes"] == [{"doc_id": "case:held", "rev": held, "deleted": False}]
    assert doc["recovered"] is True
    assert await stored(couch, nothing.record["_id"]) is None
    assert await stored(couch, gone_db.record["_id"]) is None


async def test_records_wait_while_couchdb_is_away(couch: Couch, data_dir: Path) -> None:
    await provision(couch)
    away = Couch(f"http://127.0.0.1:{free_port()}")
    target = {"couch": away}
    journal = AuditJournal(data_dir / "audit-journal", lambda: target["couch"], ship_delay=0.05)
    await journal.open()
    try:
        record = audit_record(USER, "ot-v-330212100001", [AcceptedWrite("case:w", "1-w")], AT)
        await record_writes(journal, USER, "ot-v-330212100001", [AcceptedWrite("case:w", "1-w")], AT)
        await journal.append(record, final=True)
        with pytest.raises(CouchError):
            await journal.ship()
        assert await journal.counts() == {"unshipped": 2}
        target["couch"] = couch
        assert await journal.ship() == 2
        assert await stored(couch, record["_id"]) is not None
    finally:
        await journal.close()
        await away.aclose()
    assert not list((data_dir / "audit-journal").iterdir())  # shipped and closed: nothing left behind


async def test_a_record_already_shipped_or_refused_is_not_sent_again(
    couch: Couch, journal: AuditJournal
) -> None:
    again = audit_record(USER, "ot-v-330212100001", [AcceptedWrite("case:r", "1-r")], AT)
    await couch.put_doc(SERVER_DB, dict(again))  # an earlier shipment that was not acknowledged
    bad = {**again, "_id": "_not_an_id"}  # refused, and fails the whole `_bulk_docs` it is in
    good = audit_record(USER, "ot-v-330212100001", [AcceptedWrite("case:g", "1-g")], AT)
    for record in (again, bad, good):
        await journal.append(record, final=True)
    assert await journal.ship() == 3
    assert await journal.counts() == {"refused": 1}  # kept, logged, never retried
    assert await journal.ship() == 0
    assert await stored(couch, good["_id"]) is not None


CRASHING = textwrap.dedent("""
    import asyncio, json, sys
    from pathlib import Path
    from sync_server.couch import Couch
    from sync_server.gateway.audit import AcceptedWrite, AuditAhead
    from sync_server.auth.accounts import AccountRole, User
    from sync_server.gateway.journal import AuditJournal

    async def main() -> None:
        folder, url, db, rev = sys.argv[1:5]
        couch = Couch(url)
        journal = AuditJournal(Path(folder), lambda: couch, ship_delay=3600)
        await journal.open()
        user = User("crasher", AccountRole.VILLAGE_AGENT, ("330212100001",), "dev-c")
        ahead = AuditAhead(journal, user, db, [AcceptedWrite("case:held", rev),
                                               AcceptedWrite("case:never", "1-n")], "2026-12-03T08:00:00Z")
        await ahead.begin()
        print(json.dumps({"id": ahead.record["_id"]}), flush=True)
        await asyncio.sleep(3600)  # killed here: the write's answer never settles the record

    asyncio.run(main())
""")


async def test_a_journal_left_by_a_killed_process_is_adopted(
    couch: Couch, couchdb_url: str, data_dir: Path, make_db: Callable[..., str]
) -> None:
    await provision(couch)
    db = make_db("crash")
    rev = (await couch.put_doc(db, {"_id": "case:held"}))["rev"]
    folder = data_dir / "audit-journal"
    child = subprocess.Popen([sys.executable, "-c", CRASHING, str(folder), couchdb_url, db, rev],
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[3])
    try:
        assert child.stdout is not None
        line = await asyncio.to_thread(child.stdout.readline)
        record_id = json.loads(line)["id"]
        survivor = AuditJournal(folder, lambda: couch, ship_delay=0.05)
        await survivor.open()
        try:
            await asyncio.sleep(0.3)
            assert await stored(couch, record_id) is None  # its process is alive: not adopted
            assert len(list(folder.glob("audit-*.sqlite3"))) == 2
        finally:
            await survivor.close()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    heir = AuditJournal(folder, lambda: couch, ship_delay=0.05)
    await heir.open()  # adopts at once, reconciles, ships
    try:
        doc = await wait_until(lambda: stored(couch, record_id), what="the killed process's record")
        assert doc["writes"] == [{"doc_id": "case:held", "rev": rev, "deleted": False}]
        assert doc["recovered"] is True and doc["user"] == "crasher"
        assert [p.name for p in folder.glob("audit-*.sqlite3")] == [heir.path.name]
    finally:
        await heir.close()
    assert not os.listdir(folder)


async def test_gateway_refuses_a_write_it_cannot_journal(
    api_server: RunningServer, township: Township, couch: Couch, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def disk_full(self: AuditJournal, record: dict[str, Any], *, final: bool) -> None:
        raise JournalError("audit journal: database or disk is full")

    monkeypatch.setattr(AuditJournal, "append", disk_full)
    db, village = township.dbs[0], township.villages[0]
    agent = client(api_server.url, token_for(api_server.url, township.agents[0]))
    case = {**make_case(village), "_rev": "1-abc"}
    push = {"docs": [case], "new_edits": False}
    answer = agent.post(f"/{db}/_bulk_docs", json=push)
    assert answer.status_code == 503
    assert answer.json()["error"] == "service_unavailable" and "审计" in answer.json()["reason"]
    assert await couch.get_doc(db, case["_id"]) is None  # no record, no write
    monkeypatch.undo()
    assert agent.post(f"/{db}/_bulk_docs", json=push).status_code == 201
    assert await couch.get_doc(db, case["_id"]) is not None
