"""Audit trail of accepted writes (全程留痕): `audit:<ULID>` documents in ot-server.

    {"_id": "audit:<ULID>", "type": "audit", "db", "user", "role", "device", "at",
     "writes": [{"doc_id", "rev", "deleted"}, …]}

One record per accepted request (a `_bulk_docs` batch or a document PUT); records of
concurrent requests are stored together (`AuditWriter`, group commit), so the gateway adds
few writes of its own to CouchDB's. A write request holds a `Ticket` from its start, so the
group commit knows which records are still coming (ADR 0048). The ULID orders the
records by arrival; `at` is the server's arrival time of every event in the batch (their
`server_time`). The view `_design/server/_view/audit_by_doc` finds the records of one document.

When the revisions are known before CouchDB answers (replication, `new_edits: false`), the
record is written *while* the batch is forwarded (`AuditAhead`) and then amended to the
writes CouchDB accepted — withdrawn (deleted) when it accepted none. Otherwise (`new_edits`
true: CouchDB makes the revision) it is written after the answer (`record_writes`). ADR 0046.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from ulid import ULID

from sync_server.auth.accounts import User
from sync_server.couch import Couch, CouchError, doc_path
from sync_server.provision import SERVER_DB

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AcceptedWrite:
    doc_id: str
    rev: str
    deleted: bool = False


def audit_record(user: User, db: str, writes: Sequence[AcceptedWrite], at: str) -> dict[str, Any]:
    return {"_id": f"audit:{ULID()}", "type": "audit", "db": db, "user": user.username,
            "role": user.role.value, "device": user.device, "at": at,
            "writes": [{"doc_id": w.doc_id, "rev": w.rev, "deleted": w.deleted} for w in writes]}


async def record_writes(couch: Couch, user: User, db: str, writes: Sequence[AcceptedWrite], at: str,
                        ticket: Ticket | None = None) -> None:
    if not writes:
        return
    record = audit_record(user, db, writes, at)
    try:
        await store_record(couch, record, ticket)
    except CouchError as exc:
        # The documents are already stored; losing their audit record must be loud, not fatal.
        log.error("audit of %d writes to %s failed: %s", len(writes), db, exc)


MAX_RECORDS_PER_WRITE = 200  # audit records in one `_bulk_docs` to ot-server
# Seconds a record waits for the records of write requests already under way. PostgreSQL's
# commit_delay, applied like its commit_siblings: never when no other write is under way. On
# replication the record is written alongside the document write (AuditAhead), which takes
# longer than this, so the wait is hidden; each record spared saves CouchDB a request (~4 ms
# on pouchdb-server).
COMMIT_DELAY = 0.005


class Ticket:
    """A write request under way: its audit record is still to come (or it will have none)."""

    def __init__(self, writer: AuditWriter) -> None:
        self.writer = writer
        self.open = True

    def close(self) -> None:
        """The request handed in its record or ends without one; idempotent."""
        if self.open:
            self.open = False
            self.writer.coming -= 1
            self.writer.changed.set()


class AuditWriter:
    """Group commit (成组写入) of audit records: concurrent requests share one `_bulk_docs`.

    A record is sent at once when no write is in flight and no other write request is under
    way; else it waits for the records of those requests (at most `COMMIT_DELAY`) or for the
    write in flight, and goes with every record that arrived meanwhile. Each caller waits
    until its own record is stored (or refused), so a request is answered only after its
    record is durable — as with one write per request, with a fraction of the requests to
    CouchDB when writes come together. Nothing is held in memory past the write in flight.
    """

    def __init__(self, couch: Couch) -> None:
        self.couch = weakref.ref(couch)  # a strong one would keep the WeakKeyDictionary entry alive
        self.pending: list[tuple[dict[str, Any], asyncio.Future[str]]] = []
        self.flushing: asyncio.Task[None] | None = None
        self.coming = 0  # open tickets: write requests whose record has not arrived yet
        self.changed = asyncio.Event()

    def expect(self) -> Ticket:
        self.coming += 1
        return Ticket(self)

    async def store(self, record: dict[str, Any], ticket: Ticket | None = None) -> str:
        """The stored record's rev; `CouchError` when CouchDB refused or could not be reached."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.pending.append((record, future))
        if ticket is not None:
            ticket.close()
        self.changed.set()
        if self.flushing is None or self.flushing.done():
            self.flushing = asyncio.create_task(self._flush())
        return await future

    async def _gather(self) -> None:
        """Wait (at most `COMMIT_DELAY`) while other write requests may still hand in records."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + COMMIT_DELAY
        while self.coming > 0 and len(self.pending) < MAX_RECORDS_PER_WRITE:
            left = deadline - loop.time()
            if left <= 0:
                return
            self.changed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)

    async def _flush(self) -> None:
        while self.pending:
            await self._gather()
            batch, self.pending = self.pending[:MAX_RECORDS_PER_WRITE], self.pending[MAX_RECORDS_PER_WRITE:]
            couch = self.couch()
            try:
                if couch is None:
                    raise CouchError(503, "service_unavailable", "the CouchDB client was closed")
                results = await couch.bulk_docs(SERVER_DB, [record for record, _ in batch])
            except CouchError as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException as exc:  # cancelled at shutdown: nobody is left behind waiting
                for _, future in batch + self.pending:
                    if not future.done():
                        future.set_exception(CouchError(503, "service_unavailable", repr(exc)))
                raise
            answers = {str(r.get("id")): r for r in results}
            for record, future in batch:
                answer = answers.get(record["_id"], {"error": "unknown_error", "reason": "no answer"})
                if future.done():
                    continue
                if "rev" in answer and "error" not in answer:
                    future.set_result(str(answer["rev"]))
                else:
                    future.set_exception(CouchError(500, str(answer.get("error")), str(answer.get("reason"))))


_writers: weakref.WeakKeyDictionary[Couch, AuditWriter] = weakref.WeakKeyDictionary()


def writer_of(couch: Couch) -> AuditWriter:
    """The group commit of this CouchDB client (one per client, made on first use)."""
    writer = _writers.get(couch)
    if writer is None:
        writer = _writers[couch] = AuditWriter(couch)
    return writer


def expect_record(couch: Couch) -> Ticket:
    """Announce a write request: its record (if any) is coming. Close the ticket when it ends."""
    return writer_of(couch).expect()


async def store_record(couch: Couch, record: dict[str, Any], ticket: Ticket | None = None) -> str:
    """Store one audit record through the group commit of this CouchDB client; its rev."""
    return await writer_of(couch).store(record, ticket)


class AuditAhead:
    """The record of writes whose revisions are known in advance, written alongside the forward.

        ahead = AuditAhead(couch, user, db, planned, at)
        answer, _ = await asyncio.gather(forward(...), ahead.write())
        await ahead.settle(accepted)    # amend to what CouchDB accepted
    """

    def __init__(self, couch: Couch, user: User, db: str, planned: Sequence[AcceptedWrite], at: str,
                 ticket: Ticket | None = None) -> None:
        self.couch = couch
        self.planned = list(planned)
        self.record = audit_record(user, db, planned, at)
        self.rev: str | None = None
        self.ticket = ticket

    async def write(self) -> None:
        if not self.planned:
            return
        try:
            self.rev = await store_record(self.couch, self.record, self.ticket)
        except CouchError as exc:
            log.error("audit of %d writes to %s failed: %s", len(self.planned), self.record["db"], exc)

    async def settle(self, accepted: Sequence[AcceptedWrite]) -> None:
        """Make the record list exactly `accepted` (a subset of the planned writes)."""
        if self.rev is None or list(accepted) == self.planned:
            return
        path = doc_path(SERVER_DB, self.record["_id"])
        try:
            if accepted:
                amended = {**self.record, "_rev": self.rev,
                           "writes": [{"doc_id": w.doc_id, "rev": w.rev, "deleted": w.deleted}
                                      for w in accepted]}
                await self.couch.put_doc(SERVER_DB, amended)
            else:
                await self.couch.request("DELETE", path, params={"rev": self.rev})
        except CouchError as exc:
            # The record now names writes CouchDB refused: loud, so an auditor can discount them.
            log.error("audit record of %s could not be amended: %s", self.record["db"], exc)
