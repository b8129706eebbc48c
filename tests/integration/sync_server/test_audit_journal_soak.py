"""Soak (`make soak`): server processes killed with SIGKILL while writing and shipping audit
records; after the last one, every revision in the database has exactly its record in
ot-server and no record names a revision the database lacks (ADR 0049)."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from sync_server.couch import Couch
from sync_server.gateway.journal import AuditJournal
from sync_server.provision import SERVER_DB, provision

pytestmark = pytest.mark.soak

KILLS = 12

# A server's write path in miniature: journal the planned record, write with new_edits=false,
# settle; shipping runs alongside every 50 ms. Each new process adopts the journals before it.
WRITER = textwrap.dedent("""
    import asyncio, sys, uuid
    from pathlib import Path
    from sync_server.auth.accounts import AccountRole, User
    from sync_server.couch import Couch
    from sync_server.gateway.audit import AcceptedWrite, AuditAhead
    from sync_server.gateway.journal import AuditJournal

    async def main() -> None:
        folder, url, db = sys.argv[1:4]
        couch = Couch(url)
        journal = AuditJournal(Path(folder), lambda: couch, ship_delay=0.05)
        await journal.open()
        user = User("soak", AccountRole.VILLAGE_AGENT, ("330212100001",), "dev-soak")
        print("ready", flush=True)
        while True:
            docs = [{"_id": f"case:{uuid.uuid4().hex}", "_rev": f"1-{uuid.uuid4().hex}"} for _ in range(5)]
            ahead = AuditAhead(journal, user, db, [AcceptedWrite(d["_id"], d["_rev"]) for d in docs],
                               "2026-12-03T08:00:00Z")
            await ahead.begin()
            await couch.bulk_docs(db, docs, new_edits=False)
            ahead.settle([AcceptedWrite(d["_id"], d["_rev"]) for d in docs])

    asyncio.run(main())
""")


async def test_killed_writers_lose_no_record_and_invent_none(
    couch: Couch, couchdb_url: str, data_dir: Path, make_db: Callable[..., str]
) -> None:
    await provision(couch)
    db = make_db("soak")
    folder = data_dir / "audit-journal"
    rng = random.Random(4)
    for _ in range(KILLS):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(folder), couchdb_url, db],
                                 stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[3])
        assert child.stdout is not None
        if rng.random() < 0.3:  # killed while starting: importing, opening, adopting the others
            await asyncio.sleep(rng.uniform(0.05, 1.0))
        else:
            assert (await asyncio.to_thread(child.stdout.readline)).strip() == "ready"
            await asyncio.sleep(rng.uniform(0.2, 1.5))
        child.send_signal(signal.SIGKILL)
        child.wait()
    heir = AuditJournal(folder, lambda: couch, ship_delay=0.05)
    await heir.open()
    await heir.close()  # adopts, reconciles, ships everything, removes its file
    assert not list(folder.glob("audit-*.sqlite3"))

    held = {row["id"]: row["value"]["rev"] for row in (await couch.get_json(f"/{db}/_all_docs"))["rows"]}
    rows = (await couch.get_json(f"/{SERVER_DB}/_design/server/_view/audit_by_doc",
                                 startkey=[db], endkey=[db, {}], include_docs=True))["rows"]
    recorded: dict[str, list[str]] = {}
    for row in rows:
        for write in row["doc"]["writes"]:
            if write["doc_id"] == row["key"][1]:
                recorded.setdefault(write["doc_id"], []).append(write["rev"])
    assert len(held) > 50, "the writers wrote too little to mean anything"
    assert {doc_id: [rev] for doc_id, rev in held.items()} == recorded
