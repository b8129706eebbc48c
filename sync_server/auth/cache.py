"""Account cache (账号缓存): user and device documents for the per-request check, kept current
by following ot-auth's `_changes`.

Every authenticated request needs `user:<name>` and `device:<id>` (ADR 0041). Reading them
from CouchDB each time cost the gateway a round trip per request; this cache answers from
memory while a longpoll on ot-auth's `_changes` evicts every user or device document that
changes, so a revocation, a disabled user or an ended token family still takes effect:

- normally within the feed's delivery time (CouchDB answers a pending longpoll at once);
- at worst within `STALE_BOUND` seconds: the cache is only consulted while the pending poll
  was sent less than `FEED_TIMEOUT + GRACE` ago, so a slow, broken or stopped feed turns
  the cache off and every request reads CouchDB again, as before.

A read that raced with a change (the generation moved while it was in flight) is used but
not stored. On every (re)start of the feed the cache is emptied, so nothing read before the
feed's starting point survives. Entries are also re-read after `MAX_AGE` regardless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from sync_server.couch import JSON, Couch, CouchError
from sync_server.provision import AUTH_DB

log = logging.getLogger(__name__)

FEED_TIMEOUT = 10.0  # seconds a longpoll waits for a change before answering empty
GRACE = 5.0  # seconds of network and scheduling slack on top of the poll's own timeout
STALE_BOUND = FEED_TIMEOUT + GRACE
MAX_AGE = 300.0  # seconds: an entry is re-read at least this often, feed or no feed
MAX_ENTRIES = 20_000  # documents; a county has a few thousand users and devices
# pouchdb-server 4.2 holds a longpoll open until a change arrives, whatever `timeout` says
# (Apache CouchDB honours it): we stop waiting this long after the timeout ourselves.
LONGPOLL_GRACE = 1.0
RETRY_DELAY = 1.0  # seconds before restarting a failed feed
WATCHED = ("user:", "device:")


class AccountCache:
    def __init__(self, couch_of: Callable[[], Couch],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.couch_of = couch_of
        self.monotonic = monotonic
        self._docs: dict[str, tuple[JSON | None, float]] = {}
        self._generation = 0
        self._fresh_until = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self.hits = 0
        self.misses = 0

    @property
    def following(self) -> bool:
        """True while the feed is current enough for the cache to be used."""
        return self.monotonic() < self._fresh_until

    async def get(self, ids: Sequence[str]) -> list[JSON | None]:
        """The documents `ids` (None for missing or deleted ones), from memory when current."""
        self._start()
        now = self.monotonic()
        if now < self._fresh_until:
            cached = [self._docs.get(i) for i in ids]
            if all(c is not None and now - c[1] < MAX_AGE for c in cached):
                self.hits += 1
                return [c[0] for c in cached if c is not None]
        self.misses += 1
        generation = self._generation
        rows = (await self.couch_of().request("POST", f"/{AUTH_DB}/_all_docs",
                                              params={"include_docs": "true"},
                                              json_body={"keys": list(ids)})).json()["rows"]
        docs: list[JSON | None] = [row.get("doc") for row in rows]
        if generation == self._generation and self.following:
            if len(self._docs) + len(ids) > MAX_ENTRIES:
                self._docs.clear()
            stamp = self.monotonic()
            for doc_id, doc in zip(ids, docs, strict=True):
                self._docs[doc_id] = (doc, stamp)
        return docs

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._follow(), name="ot-auth changes")

    def _invalidate(self, doc_ids: Sequence[str] | None = None) -> None:
        if doc_ids is not None and not doc_ids:
            return  # nothing watched changed (e.g. only refresh tokens): keep storing reads
        self._generation += 1
        if doc_ids is None:
            self._docs.clear()
            return
        for doc_id in doc_ids:
            self._docs.pop(doc_id, None)

    async def _follow(self) -> None:
        since: Any = None
        while True:
            try:
                couch = self.couch_of()
                if since is None:
                    # `descending` + `limit=1` gives the current sequence on CouchDB and pouchdb-server.
                    since = (await couch.get_json(f"/{AUTH_DB}/_changes", descending="true",
                                                  limit=1))["last_seq"]
                    self._invalidate()
                self._fresh_until = self.monotonic() + STALE_BOUND
                poll = couch.request("GET", f"/{AUTH_DB}/_changes", timeout=STALE_BOUND, params={
                    "feed": "longpoll", "since": since, "timeout": int(FEED_TIMEOUT * 1000)})
                try:
                    feed = (await asyncio.wait_for(poll, FEED_TIMEOUT + LONGPOLL_GRACE)).json()
                except TimeoutError:
                    continue  # pouchdb-server ignores `timeout`: nothing changed; poll again from `since`
                self._invalidate([str(r["id"]) for r in feed.get("results", [])
                                  if str(r.get("id", "")).startswith(WATCHED)])
                since = feed["last_seq"]
            except asyncio.CancelledError:
                raise
            except (CouchError, OSError, ValueError, KeyError, RuntimeError) as exc:
                # Off until the feed works again: every request reads CouchDB meanwhile.
                self._fresh_until = float("-inf")
                self._invalidate()
                since = None
                log.warning("ot-auth changes feed failed (%s); account cache off until it recovers",
                            type(exc).__name__)
                await asyncio.sleep(RETRY_DELAY)

    async def close(self) -> None:
        self._fresh_until = float("-inf")
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
