"""Leases (租约): at most one server process follows a given village database.

    {"_id": "lease:<db>", "type": "lease", "db", "holder": "<process id>", "renewed_at", "ttl_s"}

Taking and renewing a lease are writes with the document's current `_rev`, so CouchDB's
conflict check makes them atomic: of two processes trying at once, one gets 409 and backs
off. The holder renews (writes a new rev) every `ttl/3` seconds. A contender never
compares wall clocks across machines: it watches the lease's `_rev`, and when the rev has
not changed for `ttl` seconds *on its own monotonic clock*, the holder is presumed dead and
the contender takes the lease over (again a write on that rev, so only one contender
wins). Hence a dead holder is replaced within `ttl + poll` seconds. A holder that could not
renew for `ttl` seconds (e.g. CouchDB unreachable) considers the lease lost and stops
processing before anyone else may start. A clean stop deletes the lease: immediate hand-over.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from shared.timestamps import iso_utc_at
from sync_server.couch import JSON, Couch, CouchError

log = logging.getLogger(__name__)


def lease_id(db: str) -> str:
    return f"lease:{db}"


class Lease:
    """One process's view of the lease on one database."""

    def __init__(
        self,
        couch: Couch,
        server_db: str,
        db: str,
        holder: str,
        *,
        ttl: float,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.couch, self.server_db, self.db, self.holder, self.ttl = couch, server_db, db, holder, ttl
        self._monotonic, self._wall = monotonic, wall
        self._rev: str | None = None  # our own lease rev while we hold it
        self._renewed_at = 0.0  # monotonic time of our last successful write
        self._seen: tuple[str, float] | None = None  # (someone else's rev, when we first saw it)

    @property
    def held(self) -> bool:
        """True while we hold the lease and renewed it within `ttl`."""
        return self._rev is not None and self._monotonic() - self._renewed_at < self.ttl

    async def acquire(self) -> bool:
        """Take the lease if free, ours, or abandoned; True when we hold it afterwards."""
        stored = await self.couch.get_doc(self.server_db, lease_id(self.db))
        if stored is not None and stored.get("holder") not in (self.holder, "", None):
            rev = stored["_rev"]
            if self._seen is None or self._seen[0] != rev:
                self._seen = (rev, self._monotonic())
                return False
            if self._monotonic() - self._seen[1] < self.ttl:
                return False
            log.info("lease on %s abandoned by %s: taking over", self.db, stored.get("holder"))
        return await self._write(None if stored is None else stored["_rev"])

    async def renew(self) -> bool:
        """Write a new rev of our lease; False when it was taken from us or could not be written."""
        if self._rev is None:
            return False
        return await self._write(self._rev)

    async def release(self) -> None:
        """Delete our lease so another process can start at once."""
        rev, self._rev = self._rev, None
        if rev is None:
            return
        for _ in range(2):
            try:
                path = f"/{self.server_db}/{lease_id(self.db)}"
                await self.couch.request("DELETE", path, params={"rev": rev})
                return
            except CouchError as exc:
                if exc.status != 409:
                    log.info("could not release lease on %s: %s", self.db, exc.error)
                    return
            # A renewal cancelled in flight may have been written: release it if it is still ours.
            stored = await self.couch.get_doc(self.server_db, lease_id(self.db))
            if stored is None or stored.get("holder") != self.holder:
                return
            rev = stored["_rev"]

    async def _write(self, rev: str | None) -> bool:
        doc: JSON = {
            "_id": lease_id(self.db),
            "type": "lease",
            "db": self.db,
            "holder": self.holder,
            "renewed_at": iso_utc_at(self._wall()),
            "ttl_s": self.ttl,
        }
        if rev is not None:
            doc["_rev"] = rev
        try:
            result = await self.couch.put_doc(self.server_db, doc)
        except CouchError as exc:
            if exc.status == 409:
                self._rev, self._seen = None, None
                return False
            raise
        self._rev, self._renewed_at, self._seen = result["rev"], self._monotonic(), None
        return True
