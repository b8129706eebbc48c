"""`_local/…` documents (本地文档): replication checkpoints and device settings.

They have no revision tree and no sequence — never in the changes feed, never replicated —
only a counter rev "0-N" that guards against lost updates like any other `_rev`.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from mobile.store.documents import Incoming, refuse_surrogates
from mobile.store.errors import BadRequest, Conflict, NotFound


def get_local(cx: sqlite3.Connection, doc_id: str) -> dict[str, Any]:
    row = cx.execute("SELECT rev, body FROM local_docs WHERE id = ?", (doc_id,)).fetchone()
    if row is None:
        raise NotFound("missing")
    doc: dict[str, Any] = {"_id": doc_id, "_rev": row[0]}
    doc.update(json.loads(row[1]))
    return doc


def put_local(cx: sqlite3.Connection, doc: Incoming) -> str:
    """Write (or with `_deleted`, remove) a local document; return its new rev."""
    row = cx.execute("SELECT rev FROM local_docs WHERE id = ?", (doc.id,)).fetchone()
    current = row[0] if row is not None else None
    if doc.rev != current:
        raise Conflict()
    if doc.deleted:
        if current is None:
            raise NotFound("missing")
        cx.execute("DELETE FROM local_docs WHERE id = ?", (doc.id,))
        return "0-0"
    counter = int(current.partition("-")[2]) + 1 if current is not None else 1
    rev = f"0-{counter}"
    try:
        body = json.dumps(doc.body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"Document body is not JSON: {exc}") from exc
    refuse_surrogates(body)
    cx.execute("INSERT OR REPLACE INTO local_docs (id, rev, body) VALUES (?, ?, ?)", (doc.id, rev, body))
    return rev
