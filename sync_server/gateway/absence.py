"""Ids known absent (尚未写入的文档): learnt while answering `_revs_diff`, used by the write after it.

A replicator asks `_revs_diff` for a batch, then writes the revisions the server lacks. The
gateway answers `_revs_diff` from one `_all_docs` look-up of the batch's ids (`diff.py`), and
remembers which ids the server did not hold at all. The write that follows (`_bulk_docs`
or a document PUT, in the same process) judges those ids as new documents without reading
them again; every other id is read as before (ADR 0048).

Why an absence learnt a moment earlier is still true at the write: every id is a ULID made
by the device that creates the document (80 random bits), and the server learns it only
when that device pushes it. Until then nobody else can write that id, so "not on the
server" can only stop being true by the device's own write — which consumes the entry.
Presence is never remembered: a document the server holds is read again at its write, so
its status is always judged against what the server holds then. An id this process began to
write is never learnt absent afterwards (a look-up in flight may not see the write yet).

Entries expire after `TTL` and at most `MAX_IDS` are kept (the oldest go first), so a
replicator that never writes what it asked about costs bounded memory.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

TTL = 120.0  # seconds: a batch's writes follow its _revs_diff within this even on a 2 Mbit/s link
MAX_IDS = 200_000  # ~20 MB at most; far more than the batches of every device syncing at once


class AbsentIds:
    """Per database, the ids a recent look-up found absent, each with its expiry time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, ttl: float = TTL,
                 max_ids: int = MAX_IDS) -> None:
        self.clock = clock
        self.ttl = ttl
        self.max_ids = max_ids
        # (db, id) → expiry, oldest first (one TTL for all, so insertion order is expiry order)
        self.absent: OrderedDict[tuple[str, str], float] = OrderedDict()
        self.written: OrderedDict[tuple[str, str], float] = OrderedDict()

    def learn(self, db: str, ids: Iterable[str]) -> None:
        """`ids` were absent from `db` in a look-up sent after the current request arrived."""
        now = self.clock()
        self._expire(now)
        for doc_id in ids:
            key = (db, doc_id)
            if key not in self.written:
                _put(self.absent, key, now + self.ttl, self.max_ids)

    def take(self, db: str, ids: Iterable[str]) -> set[str]:
        """Of the ids about to be written, those still known absent. All of them are marked written."""
        now = self.clock()
        self._expire(now)
        known = set()
        for doc_id in set(ids):
            key = (db, doc_id)
            if self.absent.pop(key, None) is not None:
                known.add(doc_id)
            _put(self.written, key, now + self.ttl, self.max_ids)
        return known

    def _expire(self, now: float) -> None:
        for entries in (self.absent, self.written):
            while entries and next(iter(entries.values())) <= now:
                entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self.absent)


def _put(entries: OrderedDict[tuple[str, str], float], key: tuple[str, str], until: float, cap: int) -> None:
    entries[key] = until
    entries.move_to_end(key)
    while len(entries) > cap:
        entries.popitem(last=False)
