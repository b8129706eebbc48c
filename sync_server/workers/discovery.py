"""Discovery of village databases (发现村库): which `ot-v-…` databases exist now.

Apache CouchDB has `_db_updates`, a feed of database creations: the runner waits on it
and lists `_all_dbs` when it fires. pouchdb-server has no such feed, so there the runner
lists `_all_dbs` every `poll` seconds. Which one applies is found out once, by asking.
"""

from __future__ import annotations

import asyncio
import logging

from sync_server.couch import Couch, CouchError, CouchUnavailable

log = logging.getLogger(__name__)


class Discovery:
    """Lists the databases whose name starts with `prefix`, and waits for the next creation."""

    def __init__(self, couch: Couch, prefix: str, *, poll: float, feed_timeout_ms: int = 30_000) -> None:
        self.couch, self.prefix, self.poll, self.feed_timeout_ms = couch, prefix, poll, feed_timeout_ms
        self._has_feed: bool | None = None
        self._since: object = "now"

    async def databases(self) -> list[str]:
        return sorted(name for name in await self.couch.all_dbs() if name.startswith(self.prefix))

    async def wait(self) -> None:
        """Return when new databases may exist: a creation on `_db_updates`, or `poll` seconds passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.poll
        while self._has_feed is not False:
            remaining_ms = int((deadline - loop.time()) * 1000)
            if remaining_ms <= 0:
                return
            try:
                answer = await self.couch.get_json(
                    "/_db_updates",
                    feed="longpoll",
                    since=self._since,
                    timeout=min(self.feed_timeout_ms, remaining_ms),
                )
            except CouchUnavailable:
                raise
            except CouchError as exc:
                log.info("no _db_updates feed (%s): polling _all_dbs every %.0f s", exc.status, self.poll)
                self._has_feed = False
                break
            self._has_feed = True
            self._since = answer.get("last_seq", self._since)
            if any(
                row.get("type") == "created" and str(row.get("db_name", "")).startswith(self.prefix)
                for row in answer.get("results") or []
            ):
                return
        await asyncio.sleep(max(0.0, deadline - loop.time()))
