"""Feed checkpoints (检查点): the last `_changes` sequence fully processed, per village database.

    {"_id": "checkpoint:<db>", "type": "checkpoint", "db", "seq": <opaque>, "holder", "updated_at"}

Kept in ot-server, so a restarted process — or another process that took the lease over —
resumes exactly where processing stopped. The seq is stored as CouchDB returned it.
"""

from __future__ import annotations

from typing import Any

from sync_server.couch import JSON, Couch, CouchError


def checkpoint_id(db: str) -> str:
    return f"checkpoint:{db}"


class Checkpoint:
    """The checkpoint document of one database, remembering its rev between saves."""

    def __init__(self, couch: Couch, server_db: str, db: str, holder: str) -> None:
        self.couch, self.server_db, self.db, self.holder = couch, server_db, db, holder
        self._rev: str | None = None

    async def load(self) -> Any:
        """The saved sequence, or 0 (the start of the feed) when none was saved."""
        doc = await self.couch.get_doc(self.server_db, checkpoint_id(self.db))
        self._rev = None if doc is None else doc["_rev"]
        return 0 if doc is None else doc.get("seq", 0)

    async def save(self, seq: Any, now: str) -> None:
        """Store `seq`; a stale rev (a previous lease holder wrote meanwhile) is re-read once or twice."""
        for _ in range(3):
            doc: JSON = {
                "_id": checkpoint_id(self.db),
                "type": "checkpoint",
                "db": self.db,
                "seq": seq,
                "holder": self.holder,
                "updated_at": now,
            }
            if self._rev is not None:
                doc["_rev"] = self._rev
            try:
                self._rev = (await self.couch.put_doc(self.server_db, doc))["rev"]
                return
            except CouchError as exc:
                if exc.status != 409:
                    raise
                stored = await self.couch.get_doc(self.server_db, checkpoint_id(self.db))
                self._rev = None if stored is None else stored["_rev"]
        raise CouchError(409, "conflict", f"checkpoint of {self.db} keeps changing")
