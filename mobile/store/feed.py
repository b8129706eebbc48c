"""What replication asks of a database besides writes: changes, revs_diff, open_revs."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from mobile.store import revtree
from mobile.store.errors import BadRequest, NotFound
from mobile.store.reader import DocRecord, ReadOptions, load_record, record_from_row, render

Style = Literal["main_only", "all_docs"]


def changes(
    cx: sqlite3.Connection,
    *,
    since: int,
    limit: int | None,
    include_docs: bool,
    style: Style,
    options: ReadOptions,
) -> dict[str, Any]:
    """One row per document changed after `since`, at its latest sequence, oldest first."""
    sql = "SELECT id, seq, winner, deleted, tree FROM docs WHERE seq > ? ORDER BY seq"
    params: list[Any] = [since]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(max(0, limit))
    results: list[dict[str, Any]] = []
    for row in cx.execute(sql, params).fetchall():
        record = record_from_row(row)
        results.append(_change_row(cx, record, include_docs, style, options))
    last_seq = results[-1]["seq"] if results else since
    return {"results": results, "last_seq": last_seq}


def _change_row(
    cx: sqlite3.Connection, record: DocRecord, include_docs: bool, style: Style, options: ReadOptions
) -> dict[str, Any]:
    if style == "all_docs":
        revs = [{"rev": n.rev} for n in revtree.leaves(record.tree)]
    else:
        revs = [{"rev": record.winner}]
    row: dict[str, Any] = {"seq": record.seq, "id": record.id, "changes": revs}
    if record.deleted:
        row["deleted"] = True
    if include_docs:
        row["doc"] = render(cx, record, record.winner, options)
    return row


def pending_count(cx: sqlite3.Connection, since: int) -> int:
    return int(cx.execute("SELECT COUNT(*) FROM docs WHERE seq > ?", (since,)).fetchone()[0])


def revs_diff(cx: sqlite3.Connection, wanted: Mapping[str, Sequence[str]]) -> dict[str, dict[str, list[str]]]:
    """For each id, the revs this store lacks, and its leaves that may be their ancestors."""
    out: dict[str, dict[str, list[str]]] = {}
    for doc_id, revs in wanted.items():
        positions = {rev: _pos(rev) for rev in revs}
        record = load_record(cx, doc_id)
        tree: Mapping[str, revtree.RevNode] = record.tree if record is not None else {}
        missing = [rev for rev in dict.fromkeys(revs) if rev not in tree]
        if not missing:
            continue
        entry: dict[str, list[str]] = {"missing": missing}
        newest = max(positions[rev] for rev in missing)
        # CouchDB's rule: any leaf older than some missing rev could be one of its parents
        ancestors = [n.rev for n in revtree.leaves(tree) if n.pos < newest]
        if ancestors:
            entry["possible_ancestors"] = ancestors
        out[doc_id] = entry
    return out


def _pos(rev: str) -> int:
    try:
        return revtree.parse_rev(rev)[0]
    except revtree.RevFormatError as exc:
        raise BadRequest(str(exc)) from exc


def open_revs(
    cx: sqlite3.Connection, doc_id: str, wanted: str | Sequence[str], options: ReadOptions
) -> list[dict[str, Any]]:
    """`GET /db/doc?open_revs=…`: every leaf for "all", else each asked rev or `missing`."""
    record = load_record(cx, doc_id)
    if wanted == "all":
        if record is None:
            raise NotFound("missing")
        revs = [n.rev for n in revtree.leaves(record.tree)]
    elif isinstance(wanted, str):
        raise BadRequest("open_revs must be 'all' or a list of revs")
    else:
        revs = list(dict.fromkeys(wanted))
    out: list[dict[str, Any]] = []
    for rev in revs:
        _pos(rev)
        doc = render(cx, record, rev, options) if record is not None and rev in record.tree else None
        out.append({"ok": doc} if doc is not None else {"missing": rev})
    return out
