"""What one replication did (同步结果)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from mobile.replication.endpoint import JSON, Seq

# progress(docs written so far, bytes moved so far) — called after every batch.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class BatchResult:
    """What one batch did; folded into the summary."""

    docs_read: int = 0
    docs_written: int = 0
    failures: tuple[JSON, ...] = ()
    attachments_fetched: int = 0
    conflicts_seen: int = 0


@dataclass(frozen=True)
class ReplicationSummary:
    """Counters of one `replicate` run; `doc_write_failures` keeps `{"id", "error", "reason"}` per doc."""

    replication_id: str
    session_id: str
    start_seq: Seq
    last_seq: Seq
    docs_read: int = 0
    docs_written: int = 0
    doc_write_failures: tuple[JSON, ...] = field(default_factory=tuple)
    bytes_sent: int = 0
    bytes_received: int = 0
    attachments_fetched: int = 0
    conflicts_seen: int = 0

    @property
    def ok(self) -> bool:
        return not self.doc_write_failures

    def add(self, batch: BatchResult, last_seq: Seq) -> ReplicationSummary:
        return replace(
            self,
            last_seq=last_seq,
            docs_read=self.docs_read + batch.docs_read,
            docs_written=self.docs_written + batch.docs_written,
            doc_write_failures=self.doc_write_failures + batch.failures,
            attachments_fetched=self.attachments_fetched + batch.attachments_fetched,
            conflicts_seen=self.conflicts_seen + batch.conflicts_seen,
        )
