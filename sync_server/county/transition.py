"""Outbox transition (转报入队): the workers' reaction that enqueues a case ready for the county.

Registered in `sync_server.workers.runner.default_transitions` after conflict resolution, so
a case whose conflicting leaves are merged in the same batch is judged on the merged
revision's next change. Idempotent: enqueueing twice finds the same `outbox:<case id>`.
This is the one path from a forwarded case to the outbox (ADR 0118); the demo seeder calls
`enqueue_if_ready` directly for the cases it seeds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sync_server.couch import JSON, Couch
from sync_server.county import outbox as ob
from sync_server.county.eligibility import handoff_ready
from sync_server.county.worker import utc_now
from sync_server.provision import SERVER_DB
from sync_server.workers.transition import Change

log = logging.getLogger(__name__)


async def enqueue_if_ready(couch: Couch, db: str, doc: JSON, now: datetime, *,
                           server_db: str = SERVER_DB) -> bool:
    """Enqueue `doc` when it is a case ready for the county; True when a new entry was made."""
    if not str(doc.get("_id", "")).startswith("case:") or not handoff_ready(doc):
        return False
    created = await ob.enqueue(couch, doc["_id"], db, now, server_db=server_db)
    if created:
        log.info("outbox: enqueued %s from %s", doc["_id"], db)
    return created


class OutboxEnqueue:
    """Enqueue forwarded, complete, conflict-free cases for the county outbox."""

    name = "county-outbox"

    def __init__(self, couch: Couch, server_db: str = SERVER_DB,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.couch = couch
        self.server_db = server_db
        self.clock = clock

    def filter(self, change: Change) -> bool:
        return not change.deleted and change.doc_type == "case" and handoff_ready(change.doc)

    async def apply(self, change: Change) -> None:
        await enqueue_if_ready(self.couch, change.db, change.doc, self.clock(), server_db=self.server_db)
