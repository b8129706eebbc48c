"""Gateway paths (网关路径): which replication endpoint a request names.

Parsed from the raw (still percent-encoded) path, so `a%2Fb` stays one document id and can
never become a document `a` with an attachment `b`, nor climb out of the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote

PREFIX = "/sync/"


class Endpoint(StrEnum):
    DATABASE = "database"  # GET /{db}/
    LOCAL = "local"  # /{db}/_local/{id}
    CHANGES = "changes"
    REVS_DIFF = "revs_diff"
    BULK_DOCS = "bulk_docs"
    BULK_GET = "bulk_get"
    DESIGN = "design"  # GET /{db}/_design/{id} (read only)
    DOCUMENT = "document"  # /{db}/{doc id}
    ATTACHMENT = "attachment"  # /{db}/{doc id}/{attachment name}
    UNKNOWN = "unknown"


_SPECIAL = {"_changes": Endpoint.CHANGES, "_revs_diff": Endpoint.REVS_DIFF, "_bulk_docs": Endpoint.BULK_DOCS,
            "_bulk_get": Endpoint.BULK_GET}

# Methods each endpoint answers; anything else is 405.
METHODS: dict[Endpoint, frozenset[str]] = {
    Endpoint.DATABASE: frozenset({"GET", "HEAD"}),
    Endpoint.LOCAL: frozenset({"GET", "PUT"}),
    Endpoint.CHANGES: frozenset({"GET", "POST"}),
    Endpoint.REVS_DIFF: frozenset({"POST"}),
    Endpoint.BULK_DOCS: frozenset({"POST"}),
    Endpoint.BULK_GET: frozenset({"POST"}),
    Endpoint.DESIGN: frozenset({"GET", "HEAD"}),
    Endpoint.DOCUMENT: frozenset({"GET", "HEAD", "PUT"}),
    Endpoint.ATTACHMENT: frozenset({"GET", "HEAD"}),
}

WRITES = frozenset({(Endpoint.LOCAL, "PUT"), (Endpoint.BULK_DOCS, "POST"), (Endpoint.DOCUMENT, "PUT")})


@dataclass(frozen=True)
class SyncPath:
    db: str
    endpoint: Endpoint
    doc_id: str = ""
    attachment: str = ""


def parse_sync_path(raw_path: str) -> SyncPath | None:
    """`/sync/ot-v-1/case%3A01/scan.jpg` → SyncPath(db, ATTACHMENT, "case:01", "scan.jpg").

    None for a path outside `/sync/`.
    """
    if not raw_path.startswith(PREFIX):
        return None
    segments = raw_path[len(PREFIX):].split("/")
    db = unquote(segments[0])
    rest = segments[1:]
    if rest and rest[-1] == "" and len(rest) == 1:
        rest = []
    if not db or "/" in db:
        return SyncPath(db, Endpoint.UNKNOWN)
    if not rest:
        return SyncPath(db, Endpoint.DATABASE)
    head = unquote(rest[0])
    if head in _SPECIAL and len(rest) == 1:
        return SyncPath(db, _SPECIAL[head])
    if head in ("_local", "_design") and len(rest) == 2 and rest[1]:
        endpoint = Endpoint.LOCAL if head == "_local" else Endpoint.DESIGN
        return SyncPath(db, endpoint, f"{head}/{unquote(rest[1])}")
    if head.startswith("_") or not head:
        return SyncPath(db, Endpoint.UNKNOWN)
    if len(rest) == 1:
        return SyncPath(db, Endpoint.DOCUMENT, head)
    attachment = "/".join(unquote(part) for part in rest[1:])
    if not attachment:
        return SyncPath(db, Endpoint.UNKNOWN)
    return SyncPath(db, Endpoint.ATTACHMENT, head, attachment)
