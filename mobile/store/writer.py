"""Writing one document inside the caller's transaction: an edit made here, or a replicated revision.

Both paths end in `_persist`, which keeps the tables consistent in one step: the new leaf's
body and attachment refs, the bodies of revisions that stopped being leaves dropped
(compaction), attachment contents nothing refers to any more deleted, the document's
winner and sequence, and its query row.

Every check that can refuse a document (StoreError) runs before the first statement that
writes, so a refused document leaves nothing behind and `bulk_docs` needs no savepoint.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from functools import partial
from typing import Any

from mobile.store import query, revtree
from mobile.store.attachments import AttachmentRef, ResolvedAttachments, resolve
from mobile.store.documents import Incoming, parse
from mobile.store.errors import BadRequest, Conflict, NotFound
from mobile.store.reader import DocRecord, load_body, load_record, load_refs, stored_length
from mobile.store.revtree import RevNode, RevPath


def write_edit(cx: sqlite3.Connection, doc: Incoming, revs_limit: int) -> str:
    """A new revision on top of `doc.rev` (or a new document); return its rev."""
    record = load_record(cx, doc.id)
    if doc.rev is None:
        if record is not None and not record.deleted:
            raise Conflict()
        # re-creating a deleted document continues its deleted winner, as CouchDB does
        parent = record.winner if record is not None else None
    else:
        _parse(doc.rev)
        if record is None or not revtree.is_leaf(record.tree, doc.rev):
            raise Conflict()
        parent = doc.rev
    parent_node = record.tree[parent] if record is not None and parent is not None else None
    new_pos = parent_node.pos + 1 if parent_node is not None else 1
    parent_refs = load_refs(cx, doc.id, parent) if parent is not None else {}
    atts = resolve(
        doc.attachments,
        new_pos=new_pos,
        parent_refs=parent_refs,
        stored_length=partial(stored_length, cx),
        new_edits=True,
    )
    body_json = _body_json(doc.body)
    digests = [(name, ref.digest) for name, ref in atts.refs.items()]
    rev_hash = revtree.rev_hash(doc.body, parent, doc.deleted, digests)
    ids = (rev_hash, parent_node.hash) if parent_node is not None else (rev_hash,)
    path = RevPath(new_pos, ids, doc.deleted)
    old_tree: Mapping[str, RevNode] = record.tree if record is not None else {}
    new_tree = revtree.merge(old_tree, path, revs_limit)
    _persist(cx, doc.id, record, new_tree, path.rev, (body_json, doc.body), atts)
    return path.rev


def write_attachment(
    cx: sqlite3.Connection,
    doc_id: str,
    rev: str | None,
    name: str,
    content: tuple[bytes, str] | None,
    revs_limit: int,
) -> str:
    """Add or replace (`content` = bytes, content type) or remove (None) one attachment."""
    record = load_record(cx, doc_id)
    body: dict[str, Any] = {}
    entries: dict[str, Any] = {}
    if rev is not None:
        if record is None or not revtree.is_leaf(record.tree, rev):
            raise Conflict()
        body = load_body(cx, doc_id, rev) or {}
        entries = {n: {"stub": True} for n in load_refs(cx, doc_id, rev)}
    if content is None:
        if entries.pop(name, None) is None:
            raise NotFound("Document is missing attachment")
    else:
        entries[name] = {"data": content[0], "content_type": content[1]}
    doc: dict[str, Any] = {**body, "_id": doc_id, "_attachments": entries}
    if rev is not None:
        doc["_rev"] = rev
    return write_edit(cx, parse(doc), revs_limit)


def write_replicated(cx: sqlite3.Connection, doc: Incoming, revs_limit: int) -> str:
    """Insert a revision with its history as another replica made it (`new_edits=false`)."""
    if doc.rev is None:
        raise BadRequest("new_edits=false needs _rev")
    try:
        path = revtree.path_from_revisions(doc.rev, doc.revisions, doc.deleted)
    except revtree.RevFormatError as exc:
        raise BadRequest(str(exc)) from exc
    record = load_record(cx, doc.id)
    old_tree: Mapping[str, RevNode] = record.tree if record is not None else {}
    if path.rev in old_tree:
        # Already known: nothing changes, not even ancestry the path might add. CouchDB
        # ("this doc isn't a leaf or already exists in the tree; ignore but consider it a
        # success") and PouchDB both do so, and replicas must build the same trees.
        return path.rev
    # a new revision is always a leaf: every parent a tree names is in the tree
    atts = resolve(
        doc.attachments,
        new_pos=path.start,
        parent_refs={},
        stored_length=partial(stored_length, cx),
        new_edits=False,
    )
    body_json = _body_json(doc.body)
    new_tree = revtree.merge(old_tree, path, revs_limit)
    _persist(cx, doc.id, record, new_tree, path.rev, (body_json, doc.body), atts)
    return path.rev


def _parse(rev: str) -> None:
    try:
        revtree.parse_rev(rev)
    except revtree.RevFormatError as exc:
        raise BadRequest(str(exc)) from exc


def _body_json(body: Mapping[str, Any]) -> str:
    try:
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"Document body is not JSON: {exc}") from exc


def _persist(
    cx: sqlite3.Connection,
    doc_id: str,
    record: DocRecord | None,
    new_tree: dict[str, RevNode],
    new_rev: str,
    body: tuple[str, Mapping[str, Any]],
    atts: ResolvedAttachments,
) -> None:
    old_leaves = {n.rev for n in revtree.leaves(record.tree)} if record is not None else set()
    new_leaves = revtree.leaves(new_tree)
    new_leaf_revs = {n.rev for n in new_leaves}
    if new_rev in new_leaf_revs and new_rev not in old_leaves:
        _store_revision(cx, doc_id, new_tree[new_rev], body[0], atts)
    _drop_revisions(cx, doc_id, old_leaves - new_leaf_revs)
    winner = new_leaves[0]
    seq = int(cx.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM docs").fetchone()[0])
    cx.execute(
        "INSERT INTO docs (id, seq, winner, deleted, tree) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, winner = excluded.winner, "
        "deleted = excluded.deleted, tree = excluded.tree",
        (doc_id, seq, winner.rev, int(winner.deleted), revtree.to_json(new_tree)),
    )
    if winner.deleted:
        query.update_index(cx, doc_id, None)
    elif record is None or record.winner != winner.rev or winner.rev == new_rev:
        winning_body = body[1] if winner.rev == new_rev else load_body(cx, doc_id, winner.rev)
        query.update_index(cx, doc_id, winning_body)


def _store_revision(
    cx: sqlite3.Connection, doc_id: str, node: RevNode, body_json: str, atts: ResolvedAttachments
) -> None:
    cx.execute(
        "INSERT OR REPLACE INTO revs (doc_id, rev, deleted, body) VALUES (?, ?, ?, ?)",
        (doc_id, node.rev, int(node.deleted), body_json),
    )
    for digest, data in atts.contents.items():
        cx.execute(
            "INSERT OR IGNORE INTO blobs (digest, length, data) VALUES (?, ?, ?)", (digest, len(data), data)
        )
    if not atts.refs:
        return
    cx.executemany(
        "INSERT OR REPLACE INTO rev_attachments (doc_id, rev, name, digest, content_type, length, revpos) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [_ref_row(doc_id, node.rev, ref) for ref in atts.refs.values()],
    )


def _ref_row(doc_id: str, rev: str, ref: AttachmentRef) -> tuple[Any, ...]:
    return (doc_id, rev, ref.name, ref.digest, ref.content_type, ref.length, ref.revpos)


def _drop_revisions(cx: sqlite3.Connection, doc_id: str, revs: set[str]) -> None:
    """Compaction: bodies of revisions that are no longer leaves; their contents are dropped by
    `collect_garbage` at the end of the write transaction, not here: a later document of the same
    replicated batch may name them by digest (a stub of the live branch, written after the
    tombstone that ended the branch holding them)."""
    if not revs:
        return
    cx.execute(_GC_TABLE)
    for rev in revs:
        cx.execute(
            "INSERT INTO temp.gc_digests (digest) "
            "SELECT digest FROM rev_attachments WHERE doc_id = ? AND rev = ?",
            (doc_id, rev),
        )
        cx.execute("DELETE FROM rev_attachments WHERE doc_id = ? AND rev = ?", (doc_id, rev))
        cx.execute("DELETE FROM revs WHERE doc_id = ? AND rev = ?", (doc_id, rev))


_GC_TABLE = "CREATE TEMP TABLE IF NOT EXISTS gc_digests (digest TEXT NOT NULL)"


def collect_garbage(cx: sqlite3.Connection) -> None:
    """Drops the contents that revisions dropped in this transaction left unused (call before COMMIT)."""
    cx.execute(_GC_TABLE)
    cx.execute(
        "DELETE FROM blobs WHERE digest IN (SELECT digest FROM temp.gc_digests) AND NOT EXISTS "
        "(SELECT 1 FROM rev_attachments WHERE rev_attachments.digest = blobs.digest)"
    )
    cx.execute("DELETE FROM temp.gc_digests")
