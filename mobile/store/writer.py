"""Writing one document inside the caller's transaction: an edit made here, or a replicated revision.

Both paths end in `_persist`, which keeps the tables consistent in one step: the new leaf's
body and attachment refs, the bodies of revisions that stopped being leaves dropped
(compaction), attachment contents nothing refers to any more deleted, the document's
winner and sequence, and its query row.

Every check that can refuse a document (StoreError) runs before the first statement that
writes, so a refused document leaves nothing behind and `bulk_docs` needs no savepoint.

Statements are batched per transaction (`Tx`, ADR 0134): the `docs`, `revs` and `doc_index`
rows of a batch, and the deletion of the bodies it compacts (ADR 0144), are written with one
`executemany` each just before COMMIT, the documents' records are read with one query per
batch, and the next sequence is counted in memory. A document that comes twice in one batch
flushes what is pending before it is read again, so each write still sees every earlier one.

The next revision of a document without conflicts (most of a later pull) takes over the `revs`
row of the leaf it compacts with one UPDATE, and its tree is written as text when the stored
one is exactly its history (ADR 0161).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from functools import partial
from typing import Any

from mobile.store import query, revtree
from mobile.store.attachments import AttachmentRef, ResolvedAttachments, resolve
from mobile.store.documents import Incoming, parse, refuse_surrogates
from mobile.store.errors import BadRequest, Conflict, NotFound
from mobile.store.reader import DocRecord, load_body, load_record, load_refs, record_from_row, stored_length
from mobile.store.revtree import RevNode, RevPath
from shared.jsontypes import utf8_encodable

_INDEX_SELECT = ", ".join(f"i.{column}" for column in query.INDEX_COLUMNS)
# ids per `IN (...)` look-up: under SQLite's smallest default limit of bound parameters (999)
_LOOKUP_CHUNK = 500


class Tx:
    """One write transaction's pending rows: written together by `flush` before COMMIT."""

    def __init__(self, cx: sqlite3.Connection) -> None:
        self.cx = cx
        self._seq: int | None = None
        self._preloaded: dict[str, tuple[Any, ...] | None] = {}  # `docs` rows by id
        self._touched: set[str] = set()
        self._docs: dict[str, tuple[Any, ...]] = {}
        self._revs: list[tuple[Any, ...]] = []
        self._index: dict[str, tuple[Any, ...] | None] = {}
        # doc_index rows of preloaded documents, moved to `_old_index` when the document is read
        # for writing: `flush` then writes only the columns that changed (ADR 0155)
        self._preindex: dict[str, tuple[Any, ...] | None] = {}
        self._old_index: dict[str, tuple[Any, ...] | None] = {}
        self._drops: list[tuple[str, str]] = []  # (doc_id, rev) of bodies that stopped being leaves
        # a chain's new leaf taking its old leaf's `revs` row: (rev, deleted, body, doc_id, old rev),
        # and the old leaves among them that may have attachment rows (ADR 0161)
        self._replaces: list[tuple[Any, ...]] = []
        self._ref_drops: list[tuple[str, str]] = []
        self.dropped = False  # some revision was dropped: garbage may need collecting

    def preload(self, doc_ids: list[str]) -> None:
        """Read the records of a batch's documents with a few queries instead of one each."""
        # An id UTF-8 cannot carry is refused by `parse` later; it is never looked up.
        wanted = [i for i in dict.fromkeys(doc_ids) if i not in self._touched and utf8_encodable(i)]
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            chunk = wanted[start : start + _LOOKUP_CHUNK]
            self._preloaded.update(dict.fromkeys(chunk))
            marks = ", ".join("?" * len(chunk))
            # with whether the winner has attachment rows, and the document's doc_index row: one
            # query (ADR 0161)
            for row in self.cx.execute(
                "SELECT d.id, d.seq, d.winner, d.deleted, d.tree, EXISTS (SELECT 1 FROM rev_attachments a "
                f"WHERE a.doc_id = d.id AND a.rev = d.winner), {_INDEX_SELECT} FROM docs d "
                f"LEFT JOIN doc_index i ON i.id = d.id WHERE d.id IN ({marks})",
                chunk,
            ):
                self._preloaded[row[0]] = row[:6]
                self._preindex[row[0]] = None if row[6] is None else row[6:]

    def stored(self, doc_id: str) -> tuple[Any, ...] | None:
        """The document's `docs` row (id, seq, winner, deleted, tree JSON, and when preloaded a
        sixth column: 0 if its winner has no attachment rows), including what this transaction
        wrote to it; None for a document the store does not have."""
        self._old_index.pop(doc_id, None)
        if doc_id in self._touched:
            self.flush()
        elif doc_id in self._preloaded:
            if doc_id in self._preindex:  # what doc_index holds for it now, as read with it
                self._old_index[doc_id] = self._preindex.pop(doc_id)
            return self._preloaded.pop(doc_id)
        row: tuple[Any, ...] | None = self.cx.execute(
            "SELECT id, seq, winner, deleted, tree FROM docs WHERE id = ?", (doc_id,)
        ).fetchone()
        return row

    def record(self, doc_id: str) -> DocRecord | None:
        """The document's current record, including what this transaction wrote to it."""
        row = self.stored(doc_id)
        return None if row is None else record_from_row(row)

    def next_seq(self) -> int:
        if self._seq is None:
            self._seq = int(self.cx.execute("SELECT COALESCE(MAX(seq), 0) FROM docs").fetchone()[0])
        self._seq += 1
        return self._seq

    def pend_doc(self, doc_id: str, winner: str, deleted: bool, tree_json: str) -> None:
        """The document's `docs` row, at the next sequence, to be written by `flush`."""
        self._touched.add(doc_id)
        self._docs[doc_id] = (doc_id, self.next_seq(), winner, int(deleted), tree_json)

    def pend_index(self, doc_id: str, row: tuple[Any, ...] | None) -> None:
        """The document's `doc_index` row (None: none, its winner is deleted), written by `flush`."""
        self._index[doc_id] = row

    def pend_drops(self, doc_id: str, revs: set[str]) -> None:
        """Compaction: bodies of revisions that are no longer leaves, deleted by `flush`; their
        contents are dropped by `collect_garbage` at the end of the write transaction, not here: a
        later document of the same replicated batch may name them by digest (a stub of the live
        branch, written after the tombstone that ended the branch holding them)."""
        self._drops.extend((doc_id, rev) for rev in revs)
        self.dropped = True

    def pend_replace(
        self, doc_id: str, old_rev: str, rev: str, deleted: bool, body_json: str, refs: bool
    ) -> None:
        """The new only leaf of a chain takes the `revs` row of the old one, which it compacts: one
        UPDATE instead of a DELETE and an INSERT (ADR 0161). `refs`: the old leaf may have attachment
        rows, dropped as `pend_drops` drops them."""
        self._replaces.append((rev, int(deleted), body_json, doc_id, old_rev))
        if refs:
            self._ref_drops.append((doc_id, old_rev))
            self.dropped = True

    def flush(self) -> None:
        """Write the pending rows (before any read that could need them, and before COMMIT)."""
        cx = self.cx
        if self._drops or self._ref_drops:
            # a pending row is never one of these: a document written again is flushed first
            unreferenced = self._drops + self._ref_drops
            cx.execute(_GC_TABLE)
            cx.executemany(
                "INSERT INTO temp.gc_digests (digest) "
                "SELECT digest FROM rev_attachments WHERE doc_id = ? AND rev = ?",
                unreferenced,
            )
            cx.executemany("DELETE FROM rev_attachments WHERE doc_id = ? AND rev = ?", unreferenced)
            if self._drops:
                cx.executemany("DELETE FROM revs WHERE doc_id = ? AND rev = ?", self._drops)
            self._drops, self._ref_drops = [], []
        if self._replaces:
            before = cx.total_changes
            cx.executemany(
                "UPDATE OR REPLACE revs SET rev = ?, deleted = ?, body = ? WHERE doc_id = ? AND rev = ?",
                self._replaces,
            )
            if cx.total_changes - before != len(self._replaces):
                # some old leaf had no body to take over: insert every new one (the same row again
                # where the update did take one)
                self._revs.extend((doc_id, rev, dl, body) for rev, dl, body, doc_id, _ in self._replaces)
            self._replaces = []
        if self._revs:
            cx.executemany(
                "INSERT OR REPLACE INTO revs (doc_id, rev, deleted, body) VALUES (?, ?, ?, ?)", self._revs
            )
            self._revs = []
        if self._docs:
            cx.executemany(
                "INSERT INTO docs (id, seq, winner, deleted, tree) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, winner = excluded.winner, "
                "deleted = excluded.deleted, tree = excluded.tree",
                list(self._docs.values()),
            )
            self._docs = {}
        if self._index:
            query.write_index(cx, self._index, self._old_index)
            self._index = {}
        self._old_index = {}
        self._touched.clear()


def write_edit(tx: Tx, doc: Incoming, revs_limit: int) -> str:
    """A new revision on top of `doc.rev` (or a new document); return its rev."""
    cx = tx.cx
    record = tx.record(doc.id)
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
    _persist(tx, doc.id, record, new_tree, path.rev, (body_json, doc.body), atts)
    return path.rev


def write_attachment(
    tx: Tx,
    doc_id: str,
    rev: str | None,
    name: str,
    content: tuple[bytes, str] | None,
    revs_limit: int,
) -> str:
    """Add or replace (`content` = bytes, content type) or remove (None) one attachment."""
    cx = tx.cx
    tx.flush()
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
    return write_edit(tx, parse(doc), revs_limit)


def write_replicated(tx: Tx, doc: Incoming, revs_limit: int) -> str:
    """Insert a revision with its history as another replica made it (`new_edits=false`)."""
    if doc.rev is None:
        raise BadRequest("new_edits=false needs _rev")
    try:
        path = revtree.path_from_revisions(doc.rev, doc.revisions, doc.deleted)
    except revtree.RevFormatError as exc:
        raise BadRequest(str(exc)) from exc
    rev = path.rev  # the canonical form: "03-a" arrives as 3-a
    stored = tx.stored(doc.id)
    if stored is None:
        # A document new to this store (most of a pull): its tree is the path, its only leaf
        # wins, nothing is dropped — the same rows `_persist` writes, without building the tree.
        atts = _resolve_replicated(tx, doc, path)
        _store_revision(tx, doc.id, rev, doc.deleted, _body_json(doc.body), atts)
        tx.pend_doc(doc.id, rev, doc.deleted, revtree.path_json(path, revs_limit))
        tx.pend_index(doc.id, None if doc.deleted else query.index_row(doc.id, doc.body))
        return rev
    # a single chain (most documents), from its stored JSON: known, or continued by the new leaf
    tree_json = revtree.next_on_chain(stored[4], path, revs_limit)
    record = record_from_row(stored) if tree_json is None else None
    if tree_json == stored[4] or (record is not None and rev in record.tree):
        # Already known: nothing changes, not even ancestry the path might add. CouchDB
        # ("this doc isn't a leaf or already exists in the tree; ignore but consider it a
        # success") and PouchDB both do so, and replicas must build the same trees.
        return rev
    # a new revision is always a leaf: every parent a tree names is in the tree
    atts = _resolve_replicated(tx, doc, path)
    body_json = _body_json(doc.body)
    if tree_json is not None:
        # The next revisions of a document without conflicts: the new leaf replaces the only one
        # (the winner), taking over its `revs` row — again `_persist`'s rows, without building or
        # merging the tree.
        _store_revision(
            tx, doc.id, rev, doc.deleted, body_json, atts, replaces=(stored[2], _has_refs(stored))
        )
        tx.pend_doc(doc.id, rev, doc.deleted, tree_json)
        tx.pend_index(doc.id, None if doc.deleted else query.index_row(doc.id, doc.body))
        return rev
    assert record is not None  # tree_json is None here
    new_tree = revtree.merge(record.tree, path, revs_limit)
    _persist(tx, doc.id, record, new_tree, rev, (body_json, doc.body), atts)
    return rev


def _resolve_replicated(tx: Tx, doc: Incoming, path: RevPath) -> ResolvedAttachments:
    if doc.attachments is None:
        return _NO_ATTACHMENTS
    return resolve(
        doc.attachments,
        new_pos=path.start,
        parent_refs={},
        stored_length=partial(stored_length, tx.cx),
        new_edits=False,
    )


def _has_refs(stored: tuple[Any, ...]) -> bool:
    """Whether the winner of a `Tx.stored` row may have attachment rows (unknown: it may)."""
    return len(stored) < 6 or bool(stored[5])


def _parse(rev: str) -> None:
    try:
        revtree.parse_rev(rev)
    except revtree.RevFormatError as exc:
        raise BadRequest(str(exc)) from exc


# one encoder for every body: json.dumps with options builds a new one per call
_encode_body = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_NO_ATTACHMENTS = ResolvedAttachments({}, {})


def _not_json(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C encoder `_encode_body` builds on every call, built once (ADR 0155): the same output, and no
# circular-reference markers — a body that contains itself ends in RecursionError, refused below.
_make_encoder = getattr(json.encoder, "c_make_encoder", None)  # private to json: may be missing
_c_strings = getattr(json.encoder, "c_encode_basestring", None)
_c_encoder = (
    None
    if _make_encoder is None or _c_strings is None
    else _make_encoder(None, _not_json, _c_strings, None, ":", ",", False, False, False)
)


def _body_json(body: Mapping[str, Any]) -> str:
    """The body as stored: the standard library's JSON, NaN and infinities refused. Not orjson: a
    phone build has no wheel for it, and its NaN-as-null needs a second encoding to refuse them
    (ADR 0161, addendum)."""
    try:
        text = "".join(_c_encoder(body, 0)) if _c_encoder is not None else _encode_body(body)
    except (TypeError, ValueError, RecursionError) as exc:
        raise BadRequest(f"Document body is not JSON: {exc}") from exc
    refuse_surrogates(text)
    return text


def _persist(
    tx: Tx,
    doc_id: str,
    record: DocRecord | None,
    new_tree: dict[str, RevNode],
    new_rev: str,
    body: tuple[str, Mapping[str, Any]],
    atts: ResolvedAttachments,
) -> None:
    cx = tx.cx
    old_leaves = {n.rev for n in revtree.leaves(record.tree)} if record is not None else set()
    new_leaves = revtree.leaves(new_tree)
    new_leaf_revs = {n.rev for n in new_leaves}
    if new_rev in new_leaf_revs and new_rev not in old_leaves:
        _store_revision(tx, doc_id, new_rev, new_tree[new_rev].deleted, body[0], atts)
    gone = old_leaves - new_leaf_revs
    if gone:
        tx.pend_drops(doc_id, gone)
    winner = new_leaves[0]
    tx.pend_doc(doc_id, winner.rev, winner.deleted, revtree.to_json(new_tree))
    if winner.deleted:
        tx.pend_index(doc_id, None)
    elif record is None or record.winner != winner.rev or winner.rev == new_rev:
        winning_body = body[1] if winner.rev == new_rev else load_body(cx, doc_id, winner.rev)
        tx.pend_index(doc_id, query.index_row(doc_id, winning_body))


def _store_revision(
    tx: Tx,
    doc_id: str,
    rev: str,
    deleted: bool,
    body_json: str,
    atts: ResolvedAttachments,
    replaces: tuple[str, bool] | None = None,
) -> None:
    """The revision's body and attachments; `replaces`: (the only leaf it compacts, whether that one
    may have attachment rows), whose `revs` row it takes over."""
    cx = tx.cx
    if replaces is None:
        tx._revs.append((doc_id, rev, int(deleted), body_json))
    else:
        tx.pend_replace(doc_id, replaces[0], rev, deleted, body_json, replaces[1])
    for digest, data in atts.contents.items():
        cx.execute(
            "INSERT OR IGNORE INTO blobs (digest, length, data) VALUES (?, ?, ?)", (digest, len(data), data)
        )
    if not atts.refs:
        return
    cx.executemany(
        "INSERT OR REPLACE INTO rev_attachments (doc_id, rev, name, digest, content_type, length, revpos) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [_ref_row(doc_id, rev, ref) for ref in atts.refs.values()],
    )


def _ref_row(doc_id: str, rev: str, ref: AttachmentRef) -> tuple[Any, ...]:
    return (doc_id, rev, ref.name, ref.digest, ref.content_type, ref.length, ref.revpos)


_GC_TABLE = "CREATE TEMP TABLE IF NOT EXISTS gc_digests (digest TEXT NOT NULL)"


def collect_garbage(cx: sqlite3.Connection) -> None:
    """Drops the contents that revisions dropped in this transaction left unused (call before COMMIT)."""
    cx.execute(_GC_TABLE)
    cx.execute(
        "DELETE FROM blobs WHERE digest IN (SELECT digest FROM temp.gc_digests) AND NOT EXISTS "
        "(SELECT 1 FROM rev_attachments WHERE rev_attachments.digest = blobs.digest)"
    )
    cx.execute("DELETE FROM temp.gc_digests")
