"""Audit trail of accepted writes (全程留痕): `audit:<ULID>` documents in ot-server.

    {"_id": "audit:<ULID>", "type": "audit", "db", "user", "role", "device", "at",
     "writes": [{"doc_id", "rev", "deleted"}, …]}

One record per accepted request (a `_bulk_docs` batch or a document PUT), written after
CouchDB accepted the documents: one small write instead of one per document keeps the
gateway's cost near CouchDB's own. The ULID orders the records by arrival; `at` is the
server's arrival time of every event in the batch (their `server_time`). The view
`_design/server/_view/audit_by_doc` finds the records of one document.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from ulid import ULID

from sync_server.auth.accounts import User
from sync_server.couch import Couch, CouchError
from sync_server.provision import SERVER_DB

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AcceptedWrite:
    doc_id: str
    rev: str
    deleted: bool = False


async def record_writes(couch: Couch, user: User, db: str, writes: Sequence[AcceptedWrite], at: str) -> None:
    if not writes:
        return
    record = {"_id": f"audit:{ULID()}", "type": "audit", "db": db, "user": user.username,
              "role": user.role.value, "device": user.device, "at": at,
              "writes": [{"doc_id": w.doc_id, "rev": w.rev, "deleted": w.deleted} for w in writes]}
    try:
        await couch.put_doc(SERVER_DB, record)
    except CouchError as exc:
        # The documents are already stored; losing their audit record must be loud, not fatal.
        log.error("audit of %d writes to %s failed: %s", len(writes), db, exc)
