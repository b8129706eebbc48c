"""Outbox transition (转报入队): the workers' reaction that enqueues a case ready for the county.

Registered in `sync_server.workers.runner.default_transitions` after conflict resolution, so
a case whose conflicting leaves are merged in the same batch is judged on the merged
revision's next change. Idempotent: enqueueing twice finds the same `outbox:<case id>`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sync_server.couch import Couch
from sync_server.county.eligibility import handoff_ready
from sync_server.county.scanner import enqueue_if_ready
from sync_server.county.worker import utc_now
from sync_server.provision import SERVER_DB
from sync_server.workers.transition import Change


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
