"""What the replicator needs from either end of a replication (同步端点).

`RemoteDB` (HTTP, CouchDB protocol) and `LocalDB` (the SQLite `LocalStore`) both implement
`Endpoint`, so `replicate(source, target)` works in every direction. Documents travel between the
steps in CouchDB's JSON form with `_revisions`; attachments are stubs
(`{"stub": true, "digest", "revpos", "length", "content_type"}`) until the replicator has fetched the
bytes the target lacks, which it puts in the attachment as `"data": bytes` (raw, never base64).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NewType, Protocol

from shared.jsontypes import JSON as JSON

DocId = NewType("DocId", str)
Rev = NewType("Rev", str)
# `seq` values are opaque: integers on pouchdb-server and the local store, strings on Apache CouchDB.
Seq = Any


@dataclass(frozen=True)
class AttachmentRef:
    """One attachment of one revision, as the replicator asks for it."""

    doc_id: str
    rev: str
    name: str
    digest: str


@dataclass
class Traffic:
    """Bytes and requests an endpoint has put on the wire (body bytes as transmitted, after gzip)."""

    bytes_sent: int = 0
    bytes_received: int = 0
    requests: int = 0


class Endpoint(Protocol):
    """One database at one end of a replication."""

    traffic: Traffic

    async def identity(self) -> str:
        """A stable name of this database for the replication id (no credentials)."""
        ...

    async def info(self) -> JSON: ...

    async def get_local(self, doc_id: str) -> JSON | None:
        """A `_local/` document, or None when there is none."""
        ...

    async def put_local(self, doc: JSON) -> str:
        """Write a `_local/` document (with `_rev` when it exists) and return its new rev."""
        ...

    async def changes(self, since: Seq, limit: int) -> JSON:
        """`_changes` with `style=all_docs`: `{"results": [...], "last_seq": ...}`."""
        ...

    async def revs_diff(self, revs: Mapping[str, list[str]]) -> dict[str, JSON]: ...

    async def bulk_get(self, wanted: list[tuple[str, str]]) -> list[JSON]:
        """The revisions `(id, rev)` with `_revisions` and attachment stubs; missing ones are left out."""
        ...

    async def get_attachment(self, ref: AttachmentRef) -> bytes: ...

    async def get_with_attachments(
        self, wanted: list[tuple[str, str]]
    ) -> dict[tuple[str, str], dict[str, bytes]] | None:
        """The bytes of every attachment of the revisions `wanted`, in one request: by (id, rev), then
        by name. None when this database has no such request (then `get_attachment` one by one)."""
        ...

    async def missing_attachments(
        self, docs: list[JSON], ancestors: Mapping[str, list[str]]
    ) -> set[tuple[str, str, str]]:
        """`(doc id, rev, name)` of the stubs in `docs` whose bytes this database does not hold.

        `ancestors` are the `possible_ancestors` this database reported in `_revs_diff`, per doc id.
        """
        ...

    async def write_docs(self, docs: list[JSON]) -> list[JSON]:
        """Write revisions as they are (`new_edits=false`); return `{"id", "error", "reason"}` per failure."""
        ...

    async def conflicted(self, ids: Iterable[str]) -> set[str] | None:
        """Which of `ids` now have conflicts, or None when asking would cost a round trip."""
        ...

    async def aclose(self) -> None: ...


def revision_ancestry(doc: JSON) -> list[str]:
    """`_revisions` as full rev ids, newest first: `{"start": 3, "ids": ["c", "b"]}` → `["3-c", "2-b"]`."""
    revisions = doc.get("_revisions")
    if not revisions:
        return [doc["_rev"]] if "_rev" in doc else []
    start = int(revisions["start"])
    return [f"{start - i}-{rev_id}" for i, rev_id in enumerate(revisions["ids"])]


def generation(rev: str) -> int:
    return int(rev.split("-", 1)[0])


def attachment_stubs(doc: JSON) -> dict[str, JSON]:
    atts: dict[str, JSON] = doc.get("_attachments") or {}
    return atts
