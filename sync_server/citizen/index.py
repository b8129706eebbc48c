"""Tracking index (查询索引): tracking code → village database and case, in `ot-server`.

    {"_id": "track:<code>", "type": "track", "db": "ot-v-…", "case_id": "case:<ULID>",
     "id_last4_hash": sha256 hex of "<code>:<last 4 characters of the ID number>"}

A citizen's look-up costs one read here plus the case and its events, instead of a search
through every village. The hash keeps ID digits out of `ot-server`; it is salted with the
code, but four characters are no secret against someone holding the database — the
protection is that only the server reads `ot-server`, and that look-ups are rate-limited.

`index_case` is called by the change workers for each case they see; `backfill` follows
every village database's `_changes` from a checkpoint kept in `ot-server`, so the index is
complete even before (or without) the workers, and catches up cheaply on each call.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from shared.divisions import DB_PREFIX
from shared.errors import TrackingCodeError
from shared.ids import normalize_tracking_code
from sync_server.couch import JSON, Couch, CouchError
from sync_server.provision import SERVER_DB, village_of

log = logging.getLogger(__name__)

BACKFILL_BATCH = 200  # changes rows per request: a few hundred KB with documents included
_CHECKPOINT = "_local/track-backfill:"


def canonical_code(text: str) -> str | None:
    """`k7qm9xrt2hnc` → `K7QM-9XRT-2HNC`; None when it cannot be a tracking code (check symbol)."""
    try:
        return normalize_tracking_code(text)
    except TrackingCodeError:
        return None


def last4_hash(code: str, id_last4: str) -> str:
    return hashlib.sha256(f"{code}:{id_last4.strip().upper()}".encode()).hexdigest()


def id_last4(case: JSON) -> str:
    number = str((case.get("applicant") or {}).get("id_number") or "")
    return number[-4:].upper()


def track_doc(db: str, case: JSON) -> JSON | None:
    """The index entry for a case, or None when it has no tracking code or ID number yet."""
    code = canonical_code(str(case.get("tracking_code") or ""))
    last4 = id_last4(case)
    if code is None or len(last4) != 4:
        return None
    return {"_id": f"track:{code}", "type": "track", "db": db, "case_id": case["_id"],
            "id_last4_hash": last4_hash(code, last4)}


async def index_case(couch: Couch, db: str, case_doc: JSON, *, server_db: str = SERVER_DB) -> bool:
    """Write or update the index entry of one case; True when something was written. Idempotent.

    A code belongs to the first case that registered it (ADR 0105): an entry naming another
    case is never taken over, whatever a later case carries.
    """
    wanted = track_doc(db, case_doc)
    if wanted is None or case_doc.get("_deleted"):
        return False
    for _attempt in range(3):  # another process may write the same entry at the same moment
        current = await couch.get_doc(server_db, wanted["_id"])
        if current is not None and (current.get("db"), current.get("case_id")) != (db, wanted["case_id"]):
            log.warning("tracking code of %s in %s already belongs to %s in %s: not indexed",
                        wanted["case_id"], db, current.get("case_id"), current.get("db"))
            return False
        if current is not None and all(current.get(k) == v for k, v in wanted.items()):
            return False
        doc = dict(wanted, _rev=current["_rev"]) if current is not None else wanted
        try:
            await couch.put_doc(server_db, doc)
        except CouchError as exc:
            if exc.status == 409:
                continue
            raise
        return True
    return False


async def lookup(couch: Couch, code: str, last4: str, *, server_db: str = SERVER_DB) -> JSON | None:
    """The index entry when `code` (canonical) exists and `last4` matches; None for both kinds of miss."""
    entry = await couch.get_doc(server_db, f"track:{code}")
    if entry is None:
        return None
    if not hmac.compare_digest(str(entry.get("id_last4_hash", "")), last4_hash(code, last4)):
        return None
    return entry


async def backfill(couch: Couch, *, server_db: str = SERVER_DB, prefix: str = DB_PREFIX) -> int:
    """Index the cases changed in every village database since the last backfill; returns entries written."""
    written = 0
    for db in await couch.all_dbs():
        if db.startswith(prefix) and (prefix != DB_PREFIX or village_of(db)):
            written += await backfill_db(couch, db, server_db=server_db)
    return written


async def backfill_db(couch: Couch, db: str, *, server_db: str = SERVER_DB) -> int:
    checkpoint_id = _CHECKPOINT + db
    checkpoint = await couch.get_doc(server_db, checkpoint_id) or {"_id": checkpoint_id}
    since: Any = checkpoint.get("since", 0)
    written = 0
    while True:
        feed = await couch.changes(db, since=since, include_docs=True, limit=BACKFILL_BATCH)
        for row in feed["results"]:
            doc = row.get("doc") or {}
            if doc.get("type") == "case":
                written += await index_case(couch, db, doc, server_db=server_db)
        since = feed["last_seq"]  # opaque: passed back, never parsed
        if len(feed["results"]) < BACKFILL_BATCH:
            break
    if checkpoint.get("since") != since:
        checkpoint["since"] = since
        try:
            await couch.put_doc(server_db, checkpoint)
        except CouchError as exc:  # a concurrent backfill saved one; the next call catches up
            if exc.status != 409:
                raise
    if written:
        log.info("tracking index: %d entries from %s", written, db)
    return written
