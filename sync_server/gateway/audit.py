"""Audit trail of accepted writes (全程留痕): `audit:<ULID>` documents in ot-server.

    {"_id": "audit:<ULID>", "type": "audit", "db", "user", "role", "device", "at",
     "writes": [{"doc_id", "rev", "deleted"}, …]}      (+ "recovered": true, see below)

One record per accepted request (a `_bulk_docs` batch or a document PUT). The ULID orders the
records by arrival; `at` is the server's arrival time of every event in the batch (their
`server_time`). The view `_design/server/_view/audit_by_doc` finds the records of one document.

Records go through this process's journal on disk (`journal.py`, ADR 0049), which ships
them to ot-server a fraction of a second later in one `_bulk_docs` with the records of every
other request of that moment.

When the revisions are known before CouchDB answers (replication, `new_edits: false`), the
record is journaled *before* the batch is forwarded (`AuditAhead`: no record, no write) and
then settled to the writes CouchDB accepted. A write whose answer never came (CouchDB
unreachable, the process died) is reconciled later from CouchDB's `_revs_diff`; such a
record carries `"recovered": true`. Otherwise (`new_edits` true: CouchDB makes the
revision) the record is journaled after the answer (`record_writes`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ulid import ULID

from sync_server.auth.accounts import User
from sync_server.gateway.journal import AuditJournal, JournalError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AcceptedWrite:
    doc_id: str
    rev: str
    deleted: bool = False


def _writes(writes: Sequence[AcceptedWrite]) -> list[dict[str, Any]]:
    return [{"doc_id": w.doc_id, "rev": w.rev, "deleted": w.deleted} for w in writes]


def audit_record(user: User, db: str, writes: Sequence[AcceptedWrite], at: str) -> dict[str, Any]:
    return {"_id": f"audit:{ULID()}", "type": "audit", "db": db, "user": user.username,
            "role": user.role.value, "device": user.device, "at": at, "writes": _writes(writes)}


async def record_writes(journal: AuditJournal, user: User, db: str, writes: Sequence[AcceptedWrite],
                        at: str) -> None:
    """Journal the record of writes CouchDB has already accepted (their revisions are known now)."""
    if not writes:
        return
    try:
        await journal.append(audit_record(user, db, writes, at), final=True)
    except JournalError as exc:
        # The documents are already stored; losing their audit record must be loud, not fatal.
        log.error("audit of %d writes to %s failed: %s", len(writes), db, exc)


class AuditAhead:
    """The record of writes whose revisions are known in advance, journaled before the forward.

        ahead = AuditAhead(journal, user, db, planned, at)
        await ahead.begin()             # JournalError: refuse the request, forward nothing
        answer = await forward(...)     # no answer at all: leave it, it is reconciled later
        ahead.settle(accepted)          # what CouchDB accepted ([] when it refused everything)
    """

    def __init__(self, journal: AuditJournal, user: User, db: str, planned: Sequence[AcceptedWrite],
                 at: str) -> None:
        self.journal = journal
        self.planned = list(planned)
        self.record = audit_record(user, db, planned, at)

    async def begin(self) -> None:
        if self.planned:
            await self.journal.append(self.record, final=False)

    def settle(self, accepted: Sequence[AcceptedWrite]) -> None:
        """Make the record list exactly `accepted` (a subset of the planned writes).

        Only after `begin` succeeded: a request whose record could not be journaled was refused.
        The answer does not wait for this to reach the disk (`AuditJournal.settle_soon`): a
        record still planned after a crash is reconciled from CouchDB's state.
        """
        if not self.planned:
            return
        writes = None if list(accepted) == self.planned else _writes(accepted)
        self.journal.settle_soon(self.record, writes)
