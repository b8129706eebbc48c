"""Shared look-ups (合并查询) of stored winners: concurrent writes to one database share one `_all_docs`.

Every write through the gateway first reads what the server holds under its ids (ADR 0043).
When several requests for the same database arrive together (a replicator's parallel
attachment PUTs, many devices at once), their ids are read in one `_all_docs` instead of one
each. A request never uses a read that was already in flight when it arrived: ids that come
while a read is running wait for the next one, so what a request judges against is never
older than the request itself. ADR 0046.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from sync_server.couch import Couch, CouchError
from sync_server.gateway.validation import Stored

# On loopback or a LAN compressing an answer costs CouchDB more than sending it (node is single-threaded).
IDENTITY = {"Accept-Encoding": "identity"}
MAX_KEYS_PER_READ = 2000  # ids in one `_all_docs`; a 500-document batch fits with room for others


class WinnerReads:
    """The group reader of one CouchDB client: per database, one read in flight at a time."""

    def __init__(self, couch: Couch) -> None:
        self.couch = weakref.ref(couch)  # a strong one would keep the WeakKeyDictionary entry alive
        self.pending: dict[str, list[tuple[list[str], asyncio.Future[dict[str, Stored]]]]] = {}
        self.reading: dict[str, asyncio.Task[None]] = {}

    async def read(self, db: str, keys: list[str]) -> dict[str, Stored]:
        future: asyncio.Future[dict[str, Stored]] = asyncio.get_running_loop().create_future()
        self.pending.setdefault(db, []).append((keys, future))
        task = self.reading.get(db)
        if task is None or task.done():
            self.reading[db] = asyncio.create_task(self._drain(db))
        return await future

    async def _drain(self, db: str) -> None:
        while self.pending.get(db):
            waiting = self.pending.pop(db)
            batch: list[tuple[list[str], asyncio.Future[dict[str, Stored]]]] = []
            size = 0
            while waiting and (not batch or size + len(waiting[0][0]) <= MAX_KEYS_PER_READ):
                batch.append(waiting.pop(0))
                size += len(batch[-1][0])
            if waiting:
                self.pending.setdefault(db, [])[:0] = waiting
            keys = sorted({k for ks, _ in batch for k in ks})
            couch = self.couch()
            try:
                if couch is None:
                    raise CouchError(503, "service_unavailable", "the CouchDB client was closed")
                found = await _all_docs(couch, db, keys)
            except CouchError as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException as exc:  # cancelled at shutdown: nobody is left waiting
                for _, future in batch + self.pending.pop(db, []):
                    if not future.done():
                        future.set_exception(CouchError(503, "service_unavailable", repr(exc)))
                raise
            for ks, future in batch:
                if not future.done():
                    future.set_result({k: found[k] for k in ks if k in found})


async def _all_docs(couch: Couch, db: str, keys: list[str]) -> dict[str, Stored]:
    # With the winner's `_conflicts`: a write is judged against every live leaf (ADR 0105).
    answer = await couch.post_json(f"/{quote(db, safe='')}/_all_docs", {"keys": keys},
                                   params={"include_docs": True, "conflicts": True}, headers=IDENTITY)
    rows: list[Any] = answer["rows"]
    stored: dict[str, Stored] = {}
    for row in rows:
        if "error" in row or "value" not in row:
            continue
        deleted = bool(row["value"].get("deleted"))
        stored[row["id"]] = Stored(rev=row["value"]["rev"], deleted=deleted,
                                   doc=None if deleted else row.get("doc"))
    return stored


_readers: weakref.WeakKeyDictionary[Couch, WinnerReads] = weakref.WeakKeyDictionary()


async def load_winners(couch: Couch, db: str, ids: Iterable[str]) -> dict[str, Stored]:
    """The winning revision (and its body) of each id the server holds."""
    keys = sorted({i for i in ids if not i.startswith("_")})
    if not keys:
        return {}
    reader = _readers.get(couch)
    if reader is None:
        reader = _readers[couch] = WinnerReads(couch)
    return await reader.read(db, keys)
