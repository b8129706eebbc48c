"""County outbox (县级推送发件箱): one `outbox:<case id>` document per case in `ot-server`.

    {"_id": "outbox:case:01J…", "type": "outbox", "case_id": "case:01J…", "database": "ot-v-…",
     "state": "pending" | "sent" | "acked" | "dead" | "cancelled",
     "attempts": 2, "next_attempt_at": "2026-11-24T06:31:00Z", "last_error": "HTTP 503 …" | null,
     "county_ref": "330212-2026-000001" | null, "history": [{"at", "attempt", "result"}],
     "created_at", "updated_at", "sent_at", "acked_at"}

`pending` entries are due at `next_attempt_at`; `sent` means the county took the record but
has not yet answered with its case number (that comes on the callback); `acked` means the
county case number is known; `dead` holds the last error after too many failures or a
refusal, until staff retry it; `cancelled` means the case stopped being eligible (e.g. it
was withdrawn) before it was handed off. The document id is the idempotency key: enqueuing
a case twice finds the same document.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.timestamps import iso_utc
from sync_server.couch import JSON, Couch, CouchError
from sync_server.provision import SERVER_DB, ensure_design

PREFIX = "outbox:"
# Staff see why an entry failed; the last few attempts are enough to tell a flapping
# county platform from one that was down for hours, without the document growing forever.
HISTORY_SIZE = 20

DESIGN: JSON = {
    "_id": "_design/county",
    "views": {
        "outbox_by_state": {"map": "function (doc) { if (doc.type === 'outbox') "
                                   "{ emit([doc.state, doc.next_attempt_at], null); } }"},
    },
}


class OutboxState(StrEnum):
    """Where one hand-off stands (推送状态)."""

    PENDING = "pending"
    SENT = "sent"
    ACKED = "acked"
    DEAD = "dead"
    CANCELLED = "cancelled"


class OutboxNotFound(LookupError):
    """No outbox entry for that case."""


iso = iso_utc  # `2026-11-24T06:30:00Z`: the project's time format; sorts like the time it names


def outbox_id(case_id: str) -> str:
    return PREFIX + case_id


async def prepare(couch: Couch) -> None:
    """Make sure `ot-server` has the outbox view (idempotent)."""
    await ensure_design(couch, SERVER_DB, DESIGN)


def new_entry(case_id: str, database: str, now: datetime) -> JSON:
    stamp = iso(now)
    return {"_id": outbox_id(case_id), "type": "outbox", "case_id": case_id, "database": database,
            "state": OutboxState.PENDING.value, "attempts": 0, "next_attempt_at": stamp, "last_error": None,
            "county_ref": None, "history": [], "created_at": stamp, "updated_at": stamp,
            "sent_at": None, "acked_at": None}


async def enqueue(couch: Couch, case_id: str, database: str, now: datetime, *,
                  server_db: str = SERVER_DB) -> bool:
    """Add `case_id` to the outbox; False (and nothing changed) when it is already there."""
    try:
        await couch.put_doc(server_db, new_entry(case_id, database, now))
    except CouchError as exc:
        if exc.status == 409:
            return False
        raise
    return True


async def get_entry(couch: Couch, case_id: str) -> JSON | None:
    return await couch.get_doc(SERVER_DB, outbox_id(case_id))


async def save(couch: Couch, entry: JSON, now: datetime) -> JSON:
    """Write `entry` (with its `_rev`); `CouchError` 409 when someone else changed it first."""
    entry = {**entry, "updated_at": iso(now)}
    result = await couch.put_doc(SERVER_DB, entry)
    return {**entry, "_rev": result["rev"]}


def record_attempt(entry: JSON, now: datetime, result: str) -> list[dict[str, Any]]:
    attempt = {"at": iso(now), "attempt": entry.get("attempts", 0), "result": result}
    history = [*entry.get("history", []), attempt]
    return history[-HISTORY_SIZE:]


async def entries(couch: Couch, state: OutboxState, *, until: datetime | None = None,
                  limit: int = 100) -> list[JSON]:
    """Entries in `state`, earliest `next_attempt_at` first; with `until`, only those due by then."""
    end: list[Any] = [state.value, iso(until)] if until is not None else [state.value, {}]
    try:
        rows = (await couch.get_json(f"/{SERVER_DB}/_design/county/_view/outbox_by_state",
                                     startkey=[state.value], endkey=end, include_docs=True,
                                     limit=limit))["rows"]
    except CouchError as exc:
        if exc.status == 404:  # the worker has not installed its view yet: no entry was ever queued
            return []
        raise
    return [row["doc"] for row in rows if row.get("doc")]


async def retry(couch: Couch, case_id: str, now: datetime) -> JSON:
    """Put a dead (or cancelled) entry back in the queue, due now, with a fresh attempt count."""
    for _ in range(5):  # a few tries: the worker may be writing the same entry right now
        entry = await get_entry(couch, case_id)
        if entry is None:
            raise OutboxNotFound(case_id)
        if entry["state"] not in (OutboxState.DEAD, OutboxState.CANCELLED):
            return entry
        entry.update(state=OutboxState.PENDING.value, attempts=0, next_attempt_at=iso(now),
                     history=record_attempt(entry, now, "manual retry"))
        try:
            return await save(couch, entry, now)
        except CouchError as exc:
            if exc.status != 409:
                raise
    raise CouchError(409, "conflict", "outbox entry kept changing")
