"""Server-written records of the citizen side (群众端记录): events, the case status, claims.

Events (`rated`, `delivered`) are new documents and never conflict. The case status is
written through `shared.edits` under the device id `server`, so the conflict merge sees a
proper version vector and a later stage (`delivered`) wins over an earlier one. Claims are
documents in `ot-server` created without a revision: CouchDB lets exactly one creation
succeed, which makes "once per case" and "a token works once" hold across processes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ulid import ULID

from shared.edits import SERVER_DEVICE, record_edits
from shared.timestamps import iso_utc
from sync_server.couch import JSON, Couch, CouchError

CITIZEN = "citizen"


iso = iso_utc


def case_ulid(case_id: str) -> str:
    return case_id.removeprefix("case:")


def new_event(case_id: str, kind: str, *, now: datetime, data: JSON) -> JSON:
    """An event written by the server on behalf of the citizen (role `citizen`, device `web`)."""
    moment = iso(now)
    return {"_id": f"event:{case_ulid(case_id)}:{ULID.from_datetime(now)}", "type": "event",
            "case_id": case_id, "kind": kind, "by": CITIZEN, "role": CITIZEN, "device": "web",
            "device_time": moment, "server_time": moment, "data": data}


async def case_events(couch: Couch, db: str, case_id: str) -> list[JSON]:
    prefix = f"event:{case_ulid(case_id)}:"
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
    """Move the case to `status` when it is in one of `only_from`; the new case, or None when not."""
    for _attempt in range(5):  # a device may sync a new revision between our read and write
        case = await couch.get_doc(db, case_id)
        if case is None or case.get("status") not in only_from:
            return None
        changes: dict[str, Any] = {"status": status, "updated_at": iso(now)}
        updated = record_edits(case, changes, device=SERVER_DEVICE, wall_ms=int(now.timestamp() * 1000))
        try:
            result = await couch.put_doc(db, updated)
        except CouchError as exc:
            if exc.status == 409:
                continue
            raise
        updated["_rev"] = result["rev"]
        return updated
    return None
