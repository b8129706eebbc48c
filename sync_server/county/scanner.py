"""Outbox enqueue scan (待转报扫描): finds forwarded cases by following village databases.

A small stand-alone follower of `_changes` (include_docs, conflicts) of every `ot-v-*`
database, checkpointed per database in `ot-server` as `county-scan:<db>` {"seq": <opaque>},
that enqueues each case `eligibility.handoff_ready` accepts. Enqueueing is idempotent, so
re-reading changes after a crash (the checkpoint is saved after the batch) does no harm,
and a case that was not ready (under review) is enqueued by the change that makes it ready.
The workers framework can run the same check as a transition instead (`enqueue_if_ready`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sync_server.couch import JSON, Couch, CouchError
from sync_server.county import outbox as ob
from sync_server.county.eligibility import handoff_ready
from sync_server.provision import SERVER_DB, village_of

log = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "county-scan:"
# Changes per request: big enough to catch up quickly after downtime, small enough that
# one batch of case documents with their stubs stays a few megabytes.
BATCH = 500


async def enqueue_if_ready(couch: Couch, db: str, doc: JSON, now: datetime, *,
                           server_db: str = SERVER_DB) -> bool:
    """Enqueue `doc` when it is a case ready for the county; True when a new entry was made."""
    if not str(doc.get("_id", "")).startswith("case:") or not handoff_ready(doc):
        return False
    created = await ob.enqueue(couch, doc["_id"], db, now, server_db=server_db)
    if created:
        log.info("outbox: enqueued %s from %s", doc["_id"], db)
    return created


@dataclass
class CaseScanner:
    couch: Couch
    clock: Callable[[], datetime]
    databases: frozenset[str] | None = None  # only these village databases (None: every one)

    async def scan(self) -> int:
        """Scan every village database once; returns the number of cases newly enqueued."""
        enqueued = 0
        for db in await self.couch.all_dbs():
            if village_of(db) is not None and (self.databases is None or db in self.databases):
                enqueued += await self.scan_db(db)
        return enqueued

    async def scan_db(self, db: str) -> int:
        checkpoint = await self.couch.get_doc(SERVER_DB, CHECKPOINT_PREFIX + db) or {
            "_id": CHECKPOINT_PREFIX + db, "type": "checkpoint", "seq": 0}
        enqueued = 0
        while True:
            feed = await self.couch.changes(db, since=checkpoint["seq"], include_docs=True, conflicts=True,
                                            limit=BATCH)
            results: list[dict[str, Any]] = feed.get("results", [])
            for row in results:
                doc = row.get("doc")
                if doc and not row.get("deleted"):
                    enqueued += await enqueue_if_ready(self.couch, db, doc, self.clock())
            if feed.get("last_seq") == checkpoint["seq"] or not results:
                return enqueued
            checkpoint["seq"] = feed["last_seq"]
            try:
                checkpoint["_rev"] = (await self.couch.put_doc(SERVER_DB, checkpoint))["rev"]
            except CouchError as exc:  # another process scanned concurrently: take its place
                if exc.status != 409:
                    raise
                return enqueued
            if len(results) < BATCH:
                return enqueued
