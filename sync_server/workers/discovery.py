"""Discovery of village databases (发现村库): which `ot-v-…` databases exist now.

Apache CouchDB has `_db_updates`, a feed of database events (provisioning creates the
`_global_changes` database it needs): the runner lists `_all_dbs` once, then waits on the
feed and lists again only when a village database was created or deleted. The feed position
is taken *before* the first listing, so a database created in between is announced, not
missed. pouchdb-server has no such feed, so there the runner lists `_all_dbs` every `poll`
seconds. Which one applies is found out once, from the server's welcome.
"""

from __future__ import annotations

import asyncio
import logging

from sync_server.couch import Couch, CouchError

log = logging.getLogger(__name__)

# Database events that change the list of village databases ("updated" rows do not).
LISTING_EVENTS = frozenset({"created", "deleted"})


class Discovery:
    """Lists the databases whose name starts with `prefix`, and waits for the next creation."""

    def __init__(self, couch: Couch, prefix: str, *, poll: float, feed_timeout_ms: int = 25_000) -> None:
        self.couch, self.prefix, self.poll, self.feed_timeout_ms = couch, prefix, poll, feed_timeout_ms
        self._since: object | None = None  # the feed position; None: polling
        self._has_feed: bool | None = None  # the engine's kind, asked once

    @property
    def follows_feed(self) -> bool:
        return self._since is not None

    async def databases(self) -> list[str]:
        if self._has_feed is None:
            self._has_feed = await self.couch.has_db_updates()
        if self._since is None and self._has_feed:
            self._since = await self._position()
        return sorted(name for name in await self.couch.all_dbs() if name.startswith(self.prefix))

    async def _position(self) -> object | None:
        """The feed's current `last_seq`, or None when the feed does not answer (polling then)."""
        try:
            answer = await self.couch.get_json("/_db_updates", since="now")
        except CouchError as exc:
            if exc.status >= 500:
                raise
            log.warning("no _db_updates feed (%s %s): polling _all_dbs every %.0f s",
                        exc.status, exc.error, self.poll)
            return None
        log.info("discovering village databases through _db_updates")
        position: object | None = answer.get("last_seq")
        return position

    async def wait(self) -> None:
        """Return when the list may have changed: a village database created or deleted on
        `_db_updates`, or (without the feed) `poll` seconds passed."""
        while self._since is not None:
            try:
                answer = await self.couch.get_json(
                    "/_db_updates", feed="longpoll", since=self._since, timeout=self.feed_timeout_ms
                )
            except CouchError as exc:
                if exc.status >= 500:
                    raise
                log.warning("_db_updates answered %s %s: polling _all_dbs", exc.status, exc.error)
                self._since = None
                break
            self._since = answer.get("last_seq", self._since)
            if any(
                row.get("type") in LISTING_EVENTS and str(row.get("db_name", "")).startswith(self.prefix)
                for row in answer.get("results") or []
            ):
                return
        await asyncio.sleep(self.poll)
