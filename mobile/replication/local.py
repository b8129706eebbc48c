"""The local SQLite store as a replication endpoint (本地库端点).

`LocalStore` is synchronous and thread-safe; every call here runs in a worker thread
(`asyncio.to_thread`) so a sync never blocks the app's event loop. Its replication identity is a
random id kept in a `_local/` document of the store, not its file name: two phones with a store
called `agent.sqlite` must not share checkpoints on the server.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping

from mobile.replication.endpoint import JSON, AttachmentRef, Seq, Traffic, attachment_stubs
from mobile.replication.errors import MissingStub
from mobile.store import LocalStore
from mobile.store.errors import Conflict, NotFound
from mobile.store.errors import MissingStub as StoreMissingStub

IDENTITY_DOC = "_local/onetrip-replication-identity"


# The store's type under the name the replicator uses for "a local database".
Store = LocalStore


class LocalDB:
    """An async `Endpoint` over a `LocalStore`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.traffic = Traffic()  # stays zero: nothing of a local store crosses a network
        self._identity: str | None = None

    def __repr__(self) -> str:
        return f"LocalDB({self.store!r})"

    async def aclose(self) -> None:
        return None

    async def identity(self) -> str:
        if self._identity is None:
            self._identity = await asyncio.to_thread(self._read_identity)
        return self._identity

    def _read_identity(self) -> str:
        try:
            return f"local:{self.store.get(IDENTITY_DOC)['uuid']}"
        except NotFound:
            value = uuid.uuid4().hex
            try:
                self.store.put({"_id": IDENTITY_DOC, "uuid": value})
            except Conflict:  # another thread won the race; use its id
                value = self.store.get(IDENTITY_DOC)["uuid"]
            return f"local:{value}"

    async def info(self) -> JSON:
        return await asyncio.to_thread(self.store.info)

    async def get_local(self, doc_id: str) -> JSON | None:
        try:
            return await asyncio.to_thread(self.store.get, doc_id)
        except NotFound:
            return None

    async def put_local(self, doc: JSON) -> str:
        return await asyncio.to_thread(self._overwrite, doc)

    def _overwrite(self, doc: JSON) -> str:
        try:
            return str(self.store.put(doc)["rev"])
        except Conflict:
            try:
                current = self.store.get(doc["_id"])
                fresh = {**doc, "_rev": current["_rev"]}
            except NotFound:
                fresh = {k: v for k, v in doc.items() if k != "_rev"}
            return str(self.store.put(fresh)["rev"])

    async def changes(self, since: Seq, limit: int) -> JSON:
        return await asyncio.to_thread(self.store.changes, since=since, limit=limit, style="all_docs")

    async def revs_diff(self, revs: Mapping[str, list[str]]) -> dict[str, JSON]:
        if not revs:
            return {}
        return await asyncio.to_thread(self.store.revs_diff, dict(revs))

    async def bulk_get(self, wanted: list[tuple[str, str]]) -> list[JSON]:
        return await asyncio.to_thread(self._bulk_get, wanted)

    def _bulk_get(self, wanted: list[tuple[str, str]]) -> list[JSON]:
        by_id: dict[str, list[str]] = {}
        for doc_id, rev in wanted:
            by_id.setdefault(doc_id, []).append(rev)
        return self.store.bulk_open_revs(by_id, revs=True)

    async def get_attachment(self, ref: AttachmentRef) -> bytes:
        if ref.digest:
            return await asyncio.to_thread(self.store.attachment_by_digest, ref.digest)
        return await asyncio.to_thread(self.store.get_attachment, ref.doc_id, ref.name, rev=ref.rev)

    async def get_with_attachments(
        self, wanted: list[tuple[str, str]]
    ) -> dict[tuple[str, str], dict[str, bytes]] | None:
        """The batch's scans read in one query (ADR 0142), not one worker-thread hop and read
        transaction per attachment; what is not found here is read one by one by the caller."""
        if not wanted:
            return {}
        return await asyncio.to_thread(self.store.attachments_of, wanted)

    async def missing_attachments(
        self, docs: list[JSON], ancestors: Mapping[str, list[str]]
    ) -> set[tuple[str, str, str]]:
        """Content-addressed store: whatever digest it holds, under any document, need not travel."""
        return await asyncio.to_thread(self._missing_attachments, docs)

    def _missing_attachments(self, docs: list[JSON]) -> set[tuple[str, str, str]]:
        lacking: set[tuple[str, str, str]] = set()
        stubs = [
            (doc, name, str(att.get("digest", "")))
            for doc in docs
            for name, att in attachment_stubs(doc).items()
        ]
        known = self.store.known_digests([digest for _, _, digest in stubs]) if stubs else set()
        for doc, name, digest in stubs:
            if digest not in known:
                lacking.add((doc["_id"], doc["_rev"], name))
        return lacking

    async def write_docs(self, docs: list[JSON]) -> list[JSON]:
        try:
            results = await asyncio.to_thread(self.store.bulk_docs, docs, new_edits=False)
        except StoreMissingStub as exc:
            raise MissingStub(412, "missing_stub", exc.reason) from exc
        return [
            {"id": r.get("id"), "error": r["error"], "reason": r.get("reason", "")}
            for r in results
            if isinstance(r, dict) and "error" in r
        ]

    async def conflicted(self, ids: Iterable[str]) -> set[str] | None:
        return await asyncio.to_thread(self._conflicted, list(ids))

    def _conflicted(self, ids: list[str]) -> set[str]:
        # a deleted winner does not count: a conflict among deleted leaves is no conflict
        return self.store.conflicted(ids)
