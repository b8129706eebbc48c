"""The transition contract (变更处理器), after cht-core's sentinel transitions.

A transition reacts to one change of a village database. It has a `name`, a cheap pure
`filter(change)` and an async `apply(change)`. Transitions are registered in one explicit
ordered list (`runner.default_transitions`); the follower runs each whose filter accepts the
change, skips a `(transition, doc id, rev)` it has already applied, and keeps going when
one raises. `apply` must be idempotent: after a crash the feed replays from the last
checkpoint, so the same change can arrive twice.

A transition may also offer `apply_batch(changes)`: the follower then hands it every
accepted change of a feed batch at once (e.g. to read and write with one request each).
Either way each transition runs over the whole batch before the next transition starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from shared.jsontypes import JSON


@dataclass(frozen=True)
class Change:
    """One row of `_changes?include_docs=true&conflicts=true&style=all_docs`, with its database."""

    db: str
    id: str
    rev: str  # the winning revision the row reports
    seq: Any  # opaque: passed back to CouchDB, never compared or parsed
    doc: JSON  # the winning revision, `_conflicts` when there are others
    deleted: bool = False

    @classmethod
    def from_row(cls, db: str, row: JSON) -> Change:
        doc = row.get("doc") or {}
        changes = row.get("changes") or [{}]
        rev = str(doc.get("_rev") or changes[0].get("rev", ""))
        return cls(
            db=db, id=str(row["id"]), rev=rev, seq=row.get("seq"), doc=doc, deleted=bool(row.get("deleted"))
        )

    @property
    def doc_type(self) -> str | None:
        value = self.doc.get("type")
        return value if isinstance(value, str) else None


class Transition(Protocol):
    name: str

    def filter(self, change: Change) -> bool: ...

    async def apply(self, change: Change) -> None: ...
