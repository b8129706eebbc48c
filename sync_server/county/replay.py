"""Replay memory (防重放) of county callbacks: signatures seen, as `county-seen:<sha256>` in ot-server.

A signed callback is accepted once: the SHA-256 of its signature is written as a document,
and CouchDB's 409 on a second create makes the check atomic across server processes. A
timestamp older than `MAX_SKEW` is refused anyway, so entries older than twice that can go:
`purge_seen` deletes them (the outbox worker calls it about hourly).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sync_server.couch import Couch, CouchError
from sync_server.county.outbox import iso
from sync_server.county.signature import MAX_SKEW
from sync_server.provision import SERVER_DB

SEEN_PREFIX = "county-seen:"
PURGE_BATCH = 1000


async def remember_signature(couch: Couch, signature: str, now: datetime) -> bool:
    """Record a signature as used; False when it was used before (a replay)."""
    digest = hashlib.sha256(signature.strip().encode()).hexdigest()
    try:
        await couch.put_doc(SERVER_DB, {"_id": SEEN_PREFIX + digest, "type": "county_seen", "at": iso(now)})
    except CouchError as exc:
        if exc.status == 409:
            return False
        raise
    return True


async def purge_seen(couch: Couch, now: datetime) -> int:
    """Delete remembered signatures too old to be accepted again; returns how many."""
    cutoff = iso(now - timedelta(seconds=2 * MAX_SKEW))
    rows = (await couch.get_json(f"/{SERVER_DB}/_all_docs", startkey=SEEN_PREFIX,
                                 endkey=SEEN_PREFIX + "\ufff0", include_docs=True, limit=PURGE_BATCH))["rows"]
    old = [{"_id": r["id"], "_rev": r["doc"]["_rev"], "_deleted": True}
           for r in rows if r.get("doc") and str(r["doc"].get("at", "")) < cutoff]
    if old:
        await couch.bulk_docs(SERVER_DB, old)
    return len(old)
