"""Reading documents back in CouchDB's JSON shape: specials, stubs or inline data, history."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mobile.store import revtree
from mobile.store.attachments import AttachmentRef
from mobile.store.revtree import RevNode


@dataclass(frozen=True, slots=True)
class DocRecord:
    """The `docs` row of one document: latest local sequence, winner and revision tree."""

    id: str
    seq: int
    winner: str
    deleted: bool
    tree: dict[str, RevNode]


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What to add to a rendered revision (the query options of `GET /db/doc`)."""

    conflicts: bool = False
    revs: bool = False
    attachments: bool = False
    atts_since: tuple[str, ...] | None = None


def load_record(cx: sqlite3.Connection, doc_id: str) -> DocRecord | None:
    row = cx.execute("SELECT seq, winner, deleted, tree FROM docs WHERE id = ?", (doc_id,)).fetchone()
    if row is None:
        return None
    return DocRecord(doc_id, row[0], row[1], bool(row[2]), revtree.from_json(row[3]))


def record_from_row(row: tuple[Any, ...]) -> DocRecord:
    """From a `SELECT id, seq, winner, deleted, tree FROM docs` row."""
    return DocRecord(row[0], row[1], row[2], bool(row[3]), revtree.from_json(row[4]))


def load_body(cx: sqlite3.Connection, doc_id: str, rev: str) -> dict[str, Any] | None:
    """The stored body of a revision, None when only its id is known (compacted or stemmed)."""
    row = cx.execute("SELECT body FROM revs WHERE doc_id = ? AND rev = ?", (doc_id, rev)).fetchone()
    if row is None:
        return None
    body: dict[str, Any] = json.loads(row[0])
    return body


def load_refs(cx: sqlite3.Connection, doc_id: str, rev: str) -> dict[str, AttachmentRef]:
    rows = cx.execute(
        "SELECT name, digest, content_type, length, revpos FROM rev_attachments "
        "WHERE doc_id = ? AND rev = ? ORDER BY name",
        (doc_id, rev),
    )
    return {r[0]: AttachmentRef(r[0], r[1], r[2], r[3], r[4]) for r in rows}


def load_blob(cx: sqlite3.Connection, digest: str) -> bytes | None:
    row = cx.execute("SELECT data FROM blobs WHERE digest = ?", (digest,)).fetchone()
    return None if row is None else bytes(row[0])


def stored_length(cx: sqlite3.Connection, digest: str) -> int | None:
    row = cx.execute("SELECT length FROM blobs WHERE digest = ?", (digest,)).fetchone()
    return None if row is None else int(row[0])


def render(
    cx: sqlite3.Connection, record: DocRecord, rev: str, options: ReadOptions
) -> dict[str, Any] | None:
    """Revision `rev` of the document as CouchDB returns it, None if its body is not stored."""
    body = load_body(cx, record.id, rev)
    if body is None:
        return None
    node = record.tree[rev]
    doc: dict[str, Any] = {"_id": record.id, "_rev": rev}
    if node.deleted:
        doc["_deleted"] = True
    doc.update(body)
    refs = load_refs(cx, record.id, rev)
    if refs:
        since = _since_pos(record.tree, options.atts_since)
        inline = options.attachments or options.atts_since is not None
        doc["_attachments"] = {
            name: _attachment_json(cx, ref, inline and ref.revpos > since) for name, ref in refs.items()
        }
    if options.conflicts:
        conflicts = revtree.collect_conflicts(record.tree)
        if conflicts:
            doc["_conflicts"] = conflicts
    if options.revs:
        path = revtree.ancestry(record.tree, rev)
        doc["_revisions"] = {"start": path.start, "ids": list(path.ids)}
    return doc


def _since_pos(tree: revtree.RevTree, atts_since: Iterable[str] | None) -> int:
    """Generation of the newest `atts_since` rev this store knows: the target has data up to it."""
    if not atts_since:
        return 0
    return max((tree[r].pos for r in atts_since if r in tree), default=0)


def _attachment_json(cx: sqlite3.Connection, ref: AttachmentRef, inline: bool) -> dict[str, Any]:
    if not inline:
        return ref.stub()
    data = load_blob(cx, ref.digest)
    return ref.stub() if data is None else ref.inline(data)
