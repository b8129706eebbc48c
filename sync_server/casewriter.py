"""Case writer (办件写入): how the server edits cases and writes events — the twin of the app's CaseBook.

The server changes a case for a county outcome, a citizen's confirmation, a review decision
and a recomputed deadline. Each change is the same few steps, done here once:

1. read the case (or take the revision the caller just read);
2. ask the caller's `edit` what to change (`None` or `{}`: nothing; it may raise to refuse);
3. check a status change against the status machine for the role (`shared.status`,
   with the item's level when known);
4. record every changed field as an edit by device `server` (`shared.edits.record_edits`:
   version vector + HLC), so the conflict merge orders it against offline edits;
5. put it; on 409 (a device synced a new revision meanwhile) read again and go back to 2,
   up to `tries` times, then raise `CaseBusy`.

Events are immutable and written once (`add_event`): the same event id twice is one
document, which makes a writer that derives its event ids from what it records idempotent.
`edit_many` is the bulk form for a worker that recomputes many cases at once: one
`_bulk_docs`, and a case that changed meanwhile is logged and left to its next change.
The conflict merge (`workers/conflicts.py`) writes its leaves in its own single bulk with
undo (ADR 0052) and is not a writer of this kind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.documents import EventDoc
from shared.edits import SERVER_DEVICE, record_edits
from shared.status import Role, check_transition
from shared.timestamps import iso_utc
from sync_server.couch import JSON, Couch, CouchError

log = logging.getLogger(__name__)

# The changes a case should get, given its current revision; None or {} to leave it alone.
Edit = Callable[[JSON], Mapping[str, Any] | None]

# A write races only with a device's sync of the same case; a few re-reads settle it.
DEFAULT_TRIES = 5


class CaseBusy(Exception):
    """The case kept changing between our read and our write, `tries` times in a row."""


@dataclass(frozen=True)
class Written:
    """The case after `CaseWriter.edit`: the revision written, or the one read when nothing changed."""

    case: JSON
    changed: bool


def _wall_ms(now: datetime) -> int:
    return int(now.astimezone(UTC).timestamp() * 1000)


class CaseWriter:
    """Edits cases and writes events in one village database, as device `server`."""

    def __init__(self, couch: Couch, db: str, *, tries: int = DEFAULT_TRIES) -> None:
        self.couch, self.db, self.tries = couch, db, tries

    async def edit(
        self,
        case_id: str,
        edit: Edit,
        *,
        now: datetime,
        role: Role | None = None,
        level: str | None = None,
        case: JSON | None = None,
        stamp: bool = False,
    ) -> Written | None:
        """Apply `edit` to the case; None when the case does not exist (or is deleted).

        `role`: a status change must be one the role may make (`TransitionError` otherwise);
        None leaves the status to the caller's own rule. `case`: the revision the caller just
        read (saves the first read). `stamp`: set `updated_at` to `now` without recording it
        as an edit (the decision is the edit, not the time of writing).
        """
        current = case if case is not None else await self.couch.get_doc(self.db, case_id)
        for _attempt in range(self.tries):
            if current is None:
                return None
            changes = dict(edit(current) or {})
            if not changes:
                return Written(current, False)
            target = changes.get("status")
            if role is not None and target is not None and target != current.get("status"):
                check_transition(role, str(current.get("status", "")), str(target), level=level)
            updated = record_edits(current, changes, device=SERVER_DEVICE, wall_ms=_wall_ms(now))
            if stamp:
                updated["updated_at"] = iso_utc(now)
            try:
                answer = await self.couch.put_doc(self.db, updated)
            except CouchError as exc:
                if exc.status != 409:
                    raise
                log.info("case %s in %s changed while we wrote it: read again", case_id, self.db)
                current = await self.couch.get_doc(self.db, case_id)
                continue
            updated["_rev"] = answer["rev"]
            return Written(updated, True)
        raise CaseBusy(f"case {case_id} in {self.db} kept changing ({self.tries} tries)")

    async def edit_many(self, cases: Mapping[str, JSON], edit: Edit, *, now: datetime) -> list[str]:
        """Apply `edit` to each of `cases` (id → revision just read) in one `_bulk_docs`; the ids written.

        No retry: a case that changed meanwhile is logged, and its next change recomputes it.
        """
        writes: list[JSON] = []
        for case in cases.values():
            changes = dict(edit(case) or {})
            if changes:
                updated = record_edits(case, changes, device=SERVER_DEVICE, wall_ms=_wall_ms(now))
                updated.pop("_conflicts", None)
                writes.append(updated)
        if not writes:
            return []
        written: list[str] = []
        for answer in await self.couch.bulk_docs(self.db, writes):
            if answer.get("error"):
                log.info("case %s not written (%s): its next change recomputes it", answer.get("id"),
                         answer.get("error"))
            else:
                written.append(str(answer.get("id")))
        return written

    async def add_event(self, event: EventDoc | JSON) -> bool:
        """Write an immutable event; False when one with its id is already stored (written before)."""
        try:
            await self.couch.put_doc(self.db, dict(event))
        except CouchError as exc:
            if exc.status != 409:
                raise
            return False
        return True
