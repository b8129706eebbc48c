"""The device's local database (本地库): a PouchDB-like API over one SQLite file.

One connection guarded by a lock serves every thread (the UI and the replicator); each
write is one SQLite transaction, so a crash at any instant leaves the previous state or
the new one. Answers and errors have CouchDB's shapes, so the replicator can treat this
store and a remote database alike.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

from mobile.store import feed, query, reader, revtree, writer
from mobile.store.attachments import forget_digests
from mobile.store.documents import Incoming, check_id, is_local, parse
from mobile.store.errors import BadRequest, NotFound, StoreError
from mobile.store.feed import Style
from mobile.store.local import get_local, put_local
from mobile.store.reader import ReadOptions
from mobile.store.schema import connect

DEFAULT_REVS_LIMIT = 1000  # CouchDB's default `_revs_limit`


class LocalStore:
    """A CouchDB-compatible database in a SQLite file; thread-safe."""

    def __init__(self, path: str | Path, *, revs_limit: int = DEFAULT_REVS_LIMIT, name: str | None = None):
        if revs_limit < 1:
            raise ValueError("revs_limit must be at least 1")
        self.path = Path(path)
        self.name = name if name is not None else self.path.stem
        self.revs_limit = revs_limit
        self._lock = threading.RLock()
        self._cx: sqlite3.Connection | None = connect(str(self.path))
        self._durable = True  # the connection's `synchronous` is FULL (see `_write`)

    # -- life cycle -------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._cx is not None:
                self._cx.close()
                self._cx = None

    def __enter__(self) -> LocalStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def _db(self) -> sqlite3.Connection:
        if self._cx is None:
            raise StoreError("database is closed")
        return self._cx

    @contextmanager
    def _write(self, *, durable: bool = True) -> Iterator[writer.Tx]:
        """One write transaction. `durable=False` (replicated batches only, ADR 0145) commits with
        `synchronous=NORMAL`: no fsync of its own, so a power cut may take it back — never half of
        it, and only with every commit after it — and the next durable commit (the pull's
        checkpoint, any edit made here) fsyncs it along with itself. Whatever a power cut takes
        back, the checkpoint that follows it is taken back too, and the next pull fetches it again."""
        with self._lock:
            cx = self._db
            if durable != self._durable:
                cx.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
                self._durable = durable
            cx.execute("BEGIN IMMEDIATE")
            tx = writer.Tx(cx)
            try:
                yield tx
                tx.flush()
                if tx.dropped:
                    writer.collect_garbage(cx)
            except BaseException:
                if cx.in_transaction:  # SQLite may have rolled back already (disk full, I/O error)
                    cx.execute("ROLLBACK")
                raise
            cx.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several statements see one snapshot."""
        with self._lock:
            cx = self._db
            cx.execute("BEGIN")
            try:
                yield cx
            finally:
                cx.execute("COMMIT")

    # -- database ---------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        with self._read() as cx:
            live, gone = cx.execute(
                "SELECT COALESCE(SUM(deleted = 0), 0), COALESCE(SUM(deleted), 0) FROM docs"
            ).fetchone()
            seq = cx.execute("SELECT COALESCE(MAX(seq), 0) FROM docs").fetchone()[0]
        return {
            "db_name": self.name,
            "doc_count": int(live),
            "doc_del_count": int(gone),
            "update_seq": int(seq),
        }

    def compact(self) -> None:
        """Drop attachment contents nothing refers to and fold the WAL into the file."""
        with self._write() as tx:
            tx.cx.execute("DELETE FROM blobs WHERE digest NOT IN (SELECT digest FROM rev_attachments)")
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- documents ----------------------------------------------------------------------

    def put(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Write a new revision; `_rev` must be a current leaf (or absent for a new document)."""
        incoming = parse(doc)
        with self._write() as tx:
            rev = self._write_one(tx, incoming, new_edits=True)
        return {"ok": True, "id": incoming.id, "rev": rev}

    def remove(self, doc_id: str, rev: str) -> dict[str, Any]:
        return self.put({"_id": doc_id, "_rev": rev, "_deleted": True})

    def get(
        self,
        doc_id: str,
        *,
        rev: str | None = None,
        conflicts: bool = False,
        revs: bool = False,
        attachments: bool = False,
        atts_since: Sequence[str] | None = None,
        latest: bool = False,
    ) -> dict[str, Any]:
        check_id(doc_id)
        if is_local(doc_id):
            with self._read() as cx:
                return get_local(cx, doc_id)
        options = ReadOptions(conflicts, revs, attachments, _tuple(atts_since))
        with self._read() as cx:
            record = reader.load_record(cx, doc_id)
            if record is None:
                raise NotFound("missing")
            target = self._target_rev(record, rev, latest)
            doc = reader.render(cx, record, target, options)
        if doc is None:
            raise NotFound("missing")
        return doc

    @staticmethod
    def _target_rev(record: reader.DocRecord, rev: str | None, latest: bool) -> str:
        if rev is None:
            if record.deleted:
                raise NotFound("deleted")
            return record.winner
        try:
            revtree.parse_rev(rev)
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        if rev not in record.tree:
            raise NotFound("missing")
        return revtree.latest(record.tree, rev) if latest else rev

    def get_open_revs(
        self,
        doc_id: str,
        open_revs: str | Sequence[str],
        *,
        revs: bool = True,
        attachments: bool = False,
        atts_since: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        check_id(doc_id)
        options = ReadOptions(False, revs, attachments, _tuple(atts_since))
        with self._read() as cx:
            return feed.open_revs(cx, doc_id, open_revs, options)

    def bulk_open_revs(
        self, wanted: Mapping[str, Sequence[str]], *, revs: bool = True
    ) -> list[dict[str, Any]]:
        """The asked revisions of many documents in one read transaction (a replicator's `_bulk_get`);
        revisions this store does not hold are left out."""
        options = ReadOptions(False, revs, False, None)
        found: list[dict[str, Any]] = []
        with self._read() as cx:
            for doc_id, doc_revs in wanted.items():
                check_id(doc_id)
                found.extend(
                    row["ok"] for row in feed.open_revs(cx, doc_id, list(doc_revs), options) if "ok" in row
                )
        return found

    def known_digests(self, digests: Sequence[str]) -> set[str]:
        """Which attachment contents this store holds, by digest, in one read."""
        found: set[str] = set()
        wanted = list(dict.fromkeys(d for d in digests if d))
        with self._read() as cx:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                found.update(
                    r[0] for r in cx.execute(f"SELECT digest FROM blobs WHERE digest IN ({marks})", chunk)
                )
        return found

    def bulk_docs(self, docs: Sequence[Mapping[str, Any]], *, new_edits: bool = True) -> list[dict[str, Any]]:
        """Write many documents in one transaction; a bad one is answered with its error.

        Answers come in the order of `docs`. With `new_edits=False` the revisions of one
        document are applied oldest generation first, as PouchDB does (its #2935), so a batch
        carrying a stemmed and a full history of the same branch builds the same tree there
        and here.
        """
        order = list(range(len(docs)))
        first = _first_positions(docs)
        if not new_edits and len(first) < len(docs):  # some document comes more than once
            order.sort(key=partial(_replication_order, docs, first))
        results: list[dict[str, Any]] = [{} for _ in docs]
        try:
            with self._write(durable=new_edits) as tx:
                tx.preload([doc["_id"] for doc in docs if _has_str_id(doc)])
                for index in order:
                    results[index] = self._write_in_batch(tx, docs[index], index, new_edits)
        finally:
            if not new_edits:
                forget_digests()  # the batch's received bytes are written: hold none of them
        return results

    def _write_in_batch(
        self, tx: writer.Tx, doc: Mapping[str, Any], index: int, new_edits: bool
    ) -> dict[str, Any]:
        # No savepoint: the writer refuses a document before its first write (see writer.py).
        doc_id = doc.get("_id") if isinstance(doc, Mapping) else None
        try:
            incoming = parse(doc, default_id=None if not new_edits or doc_id else uuid.uuid4().hex)
            doc_id = incoming.id
            rev = self._write_one(tx, incoming, new_edits=new_edits)
        except StoreError as exc:
            return {"id": doc_id if isinstance(doc_id, str) else f"#{index}", **exc.as_json()}
        return {"ok": True, "id": doc_id, "rev": rev}

    def _write_one(self, tx: writer.Tx, doc: Incoming, *, new_edits: bool) -> str:
        if is_local(doc.id):
            return put_local(tx.cx, doc)
        if new_edits:
            return writer.write_edit(tx, doc, self.revs_limit)
        return writer.write_replicated(tx, doc, self.revs_limit)

    # -- replication ------------------------------------------------------------------

    def revs_diff(self, wanted: Mapping[str, Sequence[str]]) -> dict[str, dict[str, list[str]]]:
        with self._read() as cx:
            return feed.revs_diff(cx, wanted)

    def changes(
        self,
        *,
        since: int | str = 0,
        limit: int | None = None,
        include_docs: bool = False,
        style: Style = "main_only",
        conflicts: bool = False,
        attachments: bool = False,
    ) -> dict[str, Any]:
        """The changes feed: one row per document at its latest local sequence."""
        if style not in ("main_only", "all_docs"):
            raise BadRequest(f"Invalid style {style!r}")
        options = ReadOptions(conflicts=conflicts, attachments=attachments)
        with self._read() as cx:
            return feed.changes(
                cx, since=_seq(since), limit=limit, include_docs=include_docs, style=style, options=options
            )

    def conflicted(self, doc_ids: Sequence[str]) -> set[str]:
        """Which of `doc_ids` have a live winner with conflicts (`_conflicts` non-empty), in a few queries."""
        found: set[str] = set()
        ids = list(dict.fromkeys(doc_ids))
        with self._read() as cx:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                rows = cx.execute(f"SELECT id, tree FROM docs WHERE deleted = 0 AND id IN ({marks})", chunk)
                found.update(doc_id for doc_id, tree in rows if _has_conflicts(tree))
        return found

    def pending_count(self, since_seq: int | str = 0) -> int:
        """Documents changed after local sequence `since_seq` (e.g. not yet pushed)."""
        with self._read() as cx:
            return feed.pending_count(cx, _seq(since_seq))

    # -- attachments --------------------------------------------------------------------

    def put_attachment(
        self, doc_id: str, rev: str | None, name: str, data: bytes, content_type: str
    ) -> dict[str, Any]:
        """Add or replace one attachment, keeping the others; `rev=None` creates the document."""
        check_id(doc_id)
        with self._write() as tx:
            new_rev = writer.write_attachment(
                tx, doc_id, rev, name, (bytes(data), content_type), self.revs_limit
            )
        return {"ok": True, "id": doc_id, "rev": new_rev}

    def remove_attachment(self, doc_id: str, rev: str, name: str) -> dict[str, Any]:
        """A new revision without attachment `name`; NotFound if `rev` does not have it."""
        check_id(doc_id)
        with self._write() as tx:
            new_rev = writer.write_attachment(tx, doc_id, rev, name, None, self.revs_limit)
        return {"ok": True, "id": doc_id, "rev": new_rev}

    def get_attachment(self, doc_id: str, name: str, *, rev: str | None = None) -> bytes:
        check_id(doc_id)
        with self._read() as cx:
            record = reader.load_record(cx, doc_id)
            if record is None:
                raise NotFound("missing")
            target = self._target_rev(record, rev, latest=False)
            ref = reader.load_refs(cx, doc_id, target).get(name)
            data = reader.load_blob(cx, ref.digest) if ref is not None else None
        if data is None:
            raise NotFound("Document is missing attachment")
        return data

    def has_attachment(self, digest: str) -> bool:
        with self._read() as cx:
            return reader.stored_length(cx, digest) is not None

    def attachments_of(self, wanted: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict[str, bytes]]:
        """The bytes of every attachment of the revisions `(doc id, rev)` in `wanted`, by revision,
        then by name, in one read (a replicator pushing a batch of scans); revisions this store does
        not hold, or holds without attachments, are left out."""
        found: dict[tuple[str, str], dict[str, bytes]] = {}
        pairs = list(dict.fromkeys(wanted))
        with self._read() as cx:
            for start in range(0, len(pairs), 400):
                chunk = pairs[start : start + 400]
                marks = ", ".join("(?, ?)" for _ in chunk)
                rows = cx.execute(
                    "SELECT a.doc_id, a.rev, a.name, b.data FROM rev_attachments a "
                    f"JOIN blobs b ON b.digest = a.digest WHERE (a.doc_id, a.rev) IN (VALUES {marks})",
                    [value for pair in chunk for value in pair],
                )
                for doc_id, rev, name, data in rows:
                    found.setdefault((doc_id, rev), {})[name] = bytes(data)
        return found

    def attachment_by_digest(self, digest: str) -> bytes:
        with self._read() as cx:
            data = reader.load_blob(cx, digest)
        if data is None:
            raise NotFound("missing")
        return data

    # -- queries for the screens ----------------------------------------------------------

    def find_cases(
        self,
        *,
        status: str | Sequence[str] | None = None,
        village: str | None = None,
        text: str | None = None,
        needs_review: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Case summaries (办件列表), newest `updated_at` first."""
        return self.find_docs(
            "case",
            status=status,
            village=village,
            text=text,
            needs_review=needs_review,
            limit=limit,
            offset=offset,
        )

    def count_cases(
        self,
        *,
        status: str | Sequence[str] | None = None,
        village: str | None = None,
        text: str | None = None,
        needs_review: bool | None = None,
    ) -> int:
        return self.count_docs("case", status=status, village=village, text=text, needs_review=needs_review)

    def find_docs(
        self,
        doc_type: str,
        *,
        limit: int = 50,
        offset: int = 0,
        descending: bool = True,
        include_docs: bool = False,
        **filters: Any,
    ) -> list[dict[str, Any]]:
        """Summaries of documents of one type, newest first unless `descending=False`.

        Filters as in `query.where_clause`; `include_docs` adds each winning revision as
        "doc" (with attachment stubs), e.g. for a case's timeline of events.
        """
        with self._read() as cx:
            rows = query.find(
                cx, doc_type, limit=limit, offset=offset, descending=descending, **_given(filters)
            )
            if include_docs:
                for row in rows:
                    record = reader.load_record(cx, row["id"])
                    if record is not None:
                        row["doc"] = reader.render(cx, record, record.winner, ReadOptions())
        return rows

    def count_docs(self, doc_type: str, **filters: Any) -> int:
        with self._read() as cx:
            return query.count(cx, doc_type, **_given(filters))


def _has_str_id(doc: object) -> bool:
    return (type(doc) is dict or isinstance(doc, Mapping)) and isinstance(doc.get("_id"), str)


def _has_conflicts(tree_json: str) -> bool:
    if revtree.chain_rows(tree_json) is not None:
        return False  # one leaf (most documents): no tree to build (ADR 0155)
    return bool(revtree.collect_conflicts(revtree.from_json(tree_json)))


def _first_positions(docs: Sequence[Mapping[str, Any]]) -> dict[object, int]:
    first: dict[object, int] = {}
    for index, doc in enumerate(docs):
        key = doc.get("_id") if isinstance(doc, Mapping) else None
        first.setdefault(key if isinstance(key, str) else index, index)
    return first


def _replication_order(
    docs: Sequence[Mapping[str, Any]], first: Mapping[object, int], index: int
) -> tuple[int, int]:
    """Sort key keeping documents in input order, and one document's revisions by generation."""
    doc = docs[index]
    key = doc.get("_id") if isinstance(doc, Mapping) else None
    revisions = doc.get("_revisions") if isinstance(doc, Mapping) else None
    start = revisions.get("start") if isinstance(revisions, Mapping) else None
    return (first[key if isinstance(key, str) else index], start if isinstance(start, int) else 0)


def _given(filters: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in filters.items() if v is not None}


def _tuple(revs: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if revs is None else tuple(revs)


def _seq(value: int | str) -> int:
    """Local sequences are integers; accept them back as strings (an opaque seq on the wire)."""
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"Invalid since {value!r}") from exc
