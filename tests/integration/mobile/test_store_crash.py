"""Crash safety of the local store: a writer killed with SIGKILL at random moments.

The child writes in a loop — new cases, edits, attachments, replicated conflicting
branches and deletions — and prints the id and rev of each write after it returns. The
parent reads a random number of those lines, kills the child mid-write, and checks the
reopened file: SQLite's integrity check, every change in the feed has its document, every
leaf its body, every attachment its content, the query table matches the winners, and
every write the child saw committed is there.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mobile.store import LocalStore

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

CHILD = textwrap.dedent(
    """
    import os, sys
    from mobile.store import LocalStore

    db = LocalStore(sys.argv[1])
    start = db.info()["update_seq"]
    n = start
    while True:
        n += 1
        doc_id = f"case:{n % 40:04d}"
        try:
            current = db.get(doc_id)
        except Exception:
            current = None
        kind = n % 5
        if kind == 0 and current is not None:
            data = os.urandom(3000)
            res = db.put_attachment(doc_id, current["_rev"], f"scan-{n % 3}.jpg", data, "image/jpeg")
        elif kind == 1 and current is not None:
            res = db.remove(doc_id, current["_rev"])
        elif kind == 2:
            rev = f"{n + 1000}-{n:032x}"
            doc = {"_id": doc_id, "_rev": rev, "type": "case", "status": "remote", "n": n,
                   "_revisions": {"start": n + 1000, "ids": [f"{n:032x}", "a" * 32]}}
            res = db.bulk_docs([doc], new_edits=False)[0]
        else:
            body = {"_id": doc_id, "type": "case", "status": "draft", "n": n,
                    "applicant": {"name": "张三"}, "updated_at": f"2026-11-24T{n % 24:02d}:00:00Z"}
            if current is not None:
                body["_rev"] = current["_rev"]
            res = db.put(body)
        print(res["id"], res["rev"], flush=True)
    """
)


def run_and_kill(path: Path, writes_before_kill: int) -> list[tuple[str, str]]:
    """Start the writer, read `writes_before_kill` committed writes, SIGKILL it; return them."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    committed: list[tuple[str, str]] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            doc_id, rev = line.split()
            committed.append((doc_id, rev))
            if len(committed) >= writes_before_kill:
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)
        _, err = child.communicate()
    assert len(committed) == writes_before_kill, err
    return committed


def check_consistent(path: Path, committed: list[tuple[str, str]]) -> None:
    with sqlite3.connect(path) as cx:
        assert cx.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        orphans = cx.execute(
            "SELECT COUNT(*) FROM rev_attachments WHERE digest NOT IN (SELECT digest FROM blobs)"
        ).fetchone()[0]
        assert orphans == 0
        live = cx.execute("SELECT COUNT(*) FROM docs WHERE deleted = 0").fetchone()[0]
        indexed = cx.execute("SELECT COUNT(*) FROM doc_index").fetchone()[0]
        assert live == indexed
    with LocalStore(path) as db:
        feed = db.changes(style="all_docs", include_docs=True)["results"]
        for row in feed:
            assert row["doc"] is not None, row["id"]
            assert row["doc"]["_rev"] == row["changes"][0]["rev"]
            for change in row["changes"]:
                leaf = db.get(row["id"], rev=change["rev"])
                for name in leaf.get("_attachments", {}):
                    db.get_attachment(row["id"], name, rev=change["rev"])
        known = {(r["id"], c["rev"]) for r in feed for c in r["changes"]}
        for doc_id, rev in committed:
            # each committed rev is still known: a leaf, or an ancestor of one
            if (doc_id, rev) not in known:
                assert db.revs_diff({doc_id: [rev]}) == {}, (doc_id, rev)
        # and the store goes on working
        db.put({"_id": f"after-crash-{len(feed)}-{random.random()}"})


def test_sigkill_at_random_moments_leaves_a_consistent_store(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    print(f"seed {seed}")
    path = tmp_path / "agent.sqlite"
    LocalStore(path).close()
    for _ in range(8):
        committed = run_and_kill(path, rng.randint(1, 150))
        check_consistent(path, committed)
    with LocalStore(path) as db:
        assert json.dumps(db.info())
