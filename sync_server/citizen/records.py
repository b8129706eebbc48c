"""Server-written records of the citizen side (群众端记录): events, the case status, claims.

Events (`rated`, `delivered`) are new documents (`shared.documents.new_event`) and never
conflict. The case status is written through `CaseWriter` under the device id `server`, so
the conflict merge sees a proper version vector and a later stage (`delivered`) wins over an
earlier one. Claims are
documents in `ot-server` created without a revision: CouchDB lets exactly one creation
succeed, which makes "once per case" and "a token works once" hold across processes.
"""

from __future__ import annotations

from datetime import datetime

from ulid import ULID

from shared.documents import EventKind, event_prefix
from shared.documents import new_event as make_event
from shared.timestamps import iso_utc
from sync_server.casewriter import CaseBusy, CaseWriter
from sync_server.couch import JSON, Couch, CouchError

CITIZEN = "citizen"
SET_STATUS_TRIES = 5  # a device may sync a new revision between our read and write


iso = iso_utc


def new_event(case_id: str, kind: EventKind | str, *, now: datetime, data: JSON) -> JSON:
    """An event written by the server on behalf of the citizen (role `citizen`, device `web`)."""
    moment = iso(now)
    return dict(make_event(case_id, ULID.from_datetime(now), kind, by=CITIZEN, role=CITIZEN, device="web",
                           device_time=moment, server_time=moment, data=data))


async def case_events(couch: Couch, db: str, case_id: str) -> list[JSON]:
    prefix = event_prefix(case_id)
    rows = (await couch.get_json(f"/{db}/_all_docs", include_docs=True, startkey=prefix,
                                 endkey=prefix + "\ufff0"))["rows"]
    return [row["doc"] for row in rows if row.get("doc")]


async def claim(couch: Couch, db: str, doc_id: str, body: JSON) -> bool:
    """Create `doc_id` in `db`; False when it already exists (someone claimed it first)."""
    try:
        await couch.put_doc(db, {"_id": doc_id, **body})
    except CouchError as exc:
        if exc.status == 409:
            return False
        raise
    return True


async def set_status(couch: Couch, db: str, case_id: str, status: str, *, now: datetime,
                     only_from: set[str]) -> JSON | None:
    """Move the case to `status` when it is in one of `only_from`; the new case, or None when not.

    The citizen is no role of the status machine: `only_from` is this writer's own rule."""
    def to_status(case: JSON) -> dict[str, str] | None:
        if case.get("status") not in only_from:
            return None
        return {"status": status, "updated_at": iso(now)}

    try:
        written = await CaseWriter(couch, db, tries=SET_STATUS_TRIES).edit(case_id, to_status, now=now)
    except CaseBusy:
        return None
    return written.case if written is not None and written.changed else None
