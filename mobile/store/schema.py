"""SQLite schema of the local store (本地库) and its opening pragmas.

docs             one row per document: winning rev, deleted flag, the revision tree
                 (revtree JSON) and the local sequence of its latest change — the changes
                 feed is an index scan on `seq`, one row per document as in CouchDB
revs             bodies of leaf revisions only: a body whose revision gets a child is
                 dropped in the same transaction (compaction), its id stays in the tree;
                 a rowid table, since bodies of a few KB overflow a WITHOUT ROWID page
                 and would take four times their size
rev_attachments  the attachments of each stored revision, by digest
blobs            attachment contents, once per digest
local_docs       `_local/…` documents (checkpoints): rev "0-N", no tree, no sequence
doc_index        the query columns of each document's winning revision, for the screens;
                 partial indexes where only some documents have the column, since every
                 index is paid for on every write during a pull
"""

from __future__ import annotations

import json
import sqlite3

from mobile.store.query import update_index

# 2: doc_index gained id_tail; 3: partial indexes, so events and materials do not pay for the
# case search columns; 4: owner_hash of materials; 5: spelled, the full pinyin of the
# applicant's name. An upgrade rebuilds doc_index from the winners.
SCHEMA_VERSION = 5

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    winner TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    tree TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revs (
    doc_id TEXT NOT NULL,
    rev TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (doc_id, rev)
);
CREATE TABLE IF NOT EXISTS rev_attachments (
    doc_id TEXT NOT NULL,
    rev TEXT NOT NULL,
    name TEXT NOT NULL,
    digest TEXT NOT NULL,
    content_type TEXT NOT NULL,
    length INTEGER NOT NULL,
    revpos INTEGER NOT NULL,
    PRIMARY KEY (doc_id, rev, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rev_attachments_digest ON rev_attachments (digest);
CREATE TABLE IF NOT EXISTS blobs (
    digest TEXT PRIMARY KEY,
    length INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS local_docs (
    id TEXT PRIMARY KEY,
    rev TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS doc_index (
    id TEXT PRIMARY KEY,
    type TEXT,
    status TEXT,
    village TEXT,
    updated_at TEXT,
    name TEXT,
    initials TEXT,
    spelled TEXT,
    id_number TEXT,
    tracking_code TEXT,
    needs_review INTEGER NOT NULL DEFAULT 0,
    case_id TEXT,
    id_tail TEXT,
    owner_hash TEXT
);
CREATE INDEX IF NOT EXISTS doc_index_type_updated ON doc_index (type, updated_at);
CREATE INDEX IF NOT EXISTS doc_index_status ON doc_index (type, status, updated_at);
CREATE INDEX IF NOT EXISTS doc_index_village ON doc_index (type, village, updated_at);
CREATE INDEX IF NOT EXISTS doc_index_review ON doc_index (type, updated_at) WHERE needs_review = 1;
CREATE INDEX IF NOT EXISTS doc_index_initials ON doc_index (type, initials) WHERE initials IS NOT NULL;
CREATE INDEX IF NOT EXISTS doc_index_id_tail ON doc_index (id_tail) WHERE id_tail IS NOT NULL;
CREATE INDEX IF NOT EXISTS doc_index_tracking ON doc_index (tracking_code) WHERE tracking_code IS NOT NULL;
CREATE INDEX IF NOT EXISTS doc_index_case ON doc_index (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS doc_index_owner ON doc_index (owner_hash) WHERE owner_hash IS NOT NULL;
"""


def connect(path: str) -> sqlite3.Connection:
    """Open (creating if needed) with WAL and full sync, and bring the schema up to date.

    `synchronous=FULL` costs one fsync per transaction; an agent's phone may die with a
    flat battery right after a capture, and the capture must still be there. Replicated
    batches switch to NORMAL for their own transaction (`LocalStore._write`, ADR 0145).
    """
    cx = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    cx.execute("PRAGMA busy_timeout = 10000")
    # 16 KB pages for a new file (an existing one keeps its own): a case body is 1-2 KB, four
    # to a 4 KB page, and a pull's inserts split a quarter as many pages with 16 KB (ADR 0144)
    cx.execute("PRAGMA page_size = 16384")
    cx.execute("PRAGMA journal_mode = WAL")
    cx.execute("PRAGMA synchronous = FULL")
    cx.execute("PRAGMA cache_size = -16000")  # 16 MB: the indexes of 20,000 cases stay in memory
    cx.execute("PRAGMA foreign_keys = OFF")
    if cx.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        cx.execute("BEGIN IMMEDIATE")
        try:
            _upgrade(cx, cx.execute("PRAGMA user_version").fetchone()[0])
        except BaseException:
            cx.execute("ROLLBACK")
            cx.close()
            raise
        cx.execute("COMMIT")
    return cx


def _upgrade(cx: sqlite3.Connection, version: int) -> None:
    """Bring a file from `version` to SCHEMA_VERSION inside the caller's transaction."""
    if version == SCHEMA_VERSION:
        return  # another process upgraded it while this one waited for the lock
    if version >= 1:
        cx.execute("DROP TABLE IF EXISTS doc_index")
    for statement in _statements(_DDL):
        cx.execute(statement)
    if version >= 1:
        rows = cx.execute(
            "SELECT d.id, r.body FROM docs d JOIN revs r ON r.doc_id = d.id AND r.rev = d.winner "
            "WHERE d.deleted = 0"
        ).fetchall()
        for doc_id, body in rows:
            update_index(cx, doc_id, json.loads(body))
    cx.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
