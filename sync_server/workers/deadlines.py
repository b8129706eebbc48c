"""Deadlines and supervision cards (限时办结 · 电子监察) kept current by a transition.

On every change of a case or of one of its events, and once a day for every open case of
the database (the runner's sweep), the case's supervision record is recomputed
(`supervision.supervision_record`) and written to ot-server when it differs. When the
case is accepted and its `deadline` / `paused_days` differ from the computed ones, the
server records them on the case (an edit by device `server`), so the agent's app shows the
same date the supervision uses. The clock is a parameter: tests pin `today`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from shared.catalog import DEFAULT_TIME_LIMIT, Complexity, item_doc_id
from shared.documents import EventKind, event_prefix
from shared.timestamps import iso_utc_at
from shared.workdays import WorkCalendar, china_date
from sync_server.calendar import default_calendar
from sync_server.casewriter import CaseWriter
from sync_server.couch import JSON, Couch
from sync_server.provision import CATALOG_DB
from sync_server.workers.supervision import supervision_id, supervision_record
from sync_server.workers.transition import Change

log = logging.getLogger(__name__)

_BOOKKEEPING = ("_id", "_rev", "updated_at", "case_rev")
# Cases per sweep step, and event reads in flight at once: bounded load on CouchDB.
_CHUNK = 100
_CONCURRENT_READS = 8
_ACCEPTED_OR_LATER = {"accepted", "forwarded", "approved", "rejected", "result_ready", "delivered"}
# Event kinds that move a deadline, a card or a rating.
_RELEVANT = {
    EventKind.ACCEPTED,
    EventKind.MATERIALS_REQUESTED,
    EventKind.SUBMITTED,
    EventKind.APPROVED,
    EventKind.REJECTED,
    EventKind.RESULT_READY,
    EventKind.DELIVERED,
    EventKind.WITHDRAWN,
    EventKind.RATED,
}


class Deadlines:
    """Transition: keep `supervision:<db>:<case>` and the case's deadline current."""

    name = "deadlines"

    def __init__(
        self,
        couch: Couch,
        server_db: str,
        *,
        catalog_db: str = CATALOG_DB,
        calendar: WorkCalendar | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.couch, self.server_db, self.catalog_db = couch, server_db, catalog_db
        self.calendar = calendar or default_calendar()
        self.clock = clock
        self._items: dict[str, tuple[float, JSON | None]] = {}

    def filter(self, change: Change) -> bool:
        if change.deleted or change.doc.get("_conflicts"):
            return False
        if change.doc_type == "case":
            # Nothing is supervised before acceptance (受理): the time limit starts there.
            return bool(change.doc.get("accepted_at")) or change.doc.get("status") in _ACCEPTED_OR_LATER
        return change.doc_type == "event" and change.doc.get("kind") in _RELEVANT

    async def apply(self, change: Change) -> None:
        await self.apply_batch([change])

    async def apply_batch(self, changes: list[Change]) -> None:
        """Every case a feed batch touched: one read of the stored records, one write of the changed ones."""
        if not changes:
            return
        cases: dict[str, JSON | None] = {}
        for change in changes:
            if change.doc_type == "case":
                cases[change.id] = change.doc
            else:
                cases.setdefault(str(change.doc.get("case_id", "")), None)
        await self.update_many(changes[0].db, cases, china_date(datetime.fromtimestamp(self.clock(), UTC)))

    async def sweep(self, db: str, today: date) -> None:
        """Recompute every open case of `db` (the morning cards), a hundred at a time."""
        prefix = supervision_id(db, "")
        rows = (
            await self.couch.get_json(
                f"/{self.server_db}/_all_docs", include_docs=True, startkey=prefix, endkey=prefix + "\ufff0"
            )
        )["rows"]
        open_cases = [
            str(doc["case_id"])
            for row in rows
            if (doc := row.get("doc") or {}).get("deadline")
            and not doc.get("finished_on")
            and doc.get("status") != "withdrawn"
        ]
        for start in range(0, len(open_cases), _CHUNK):
            await self.update_many(db, dict.fromkeys(open_cases[start : start + _CHUNK]), today)

    async def update(self, db: str, case_id: str, today: date, *, case: JSON | None = None) -> JSON | None:
        """Recompute and store one case's record; returns it (None when the case is gone)."""
        return (await self.update_many(db, {case_id: case}, today)).get(case_id)

    async def update_many(self, db: str, cases: dict[str, JSON | None], today: date) -> dict[str, JSON]:
        """Recompute the records of `cases` (id → revision, or None to read it); returns them by case id.

        A revision given is the one the feed just delivered, saving a read."""
        unread = [cid for cid, doc in cases.items() if doc is None and cid]
        if unread:
            cases = {**cases, **await self._read(db, db, unread)}
        live = {
            cid: doc
            for cid, doc in cases.items()
            if doc is not None and doc.get("type") == "case" and not doc.get("_conflicts")
        }
        if not live:
            return {}
        gate = asyncio.Semaphore(_CONCURRENT_READS)

        async def events_of(case_id: str) -> list[JSON]:
            prefix = event_prefix(case_id)
            async with gate:
                rows = (
                    await self.couch.get_json(
                        f"/{db}/_all_docs",
                        include_docs=True,
                        startkey=prefix,
                        endkey=prefix + "\ufff0",
                    )
                )["rows"]
            return [row["doc"] for row in rows if row.get("doc")]

        events = dict(zip(live, await asyncio.gather(*(events_of(cid) for cid in live)), strict=True))
        records: dict[str, JSON] = {}
        for case_id, case in live.items():
            item = await self._item(str(case.get("item_code", "")))
            records[case_id] = supervision_record(
                db, case, events[case_id], item, today, self.calendar, _default_limit(item)
            )
        await self._store(db, live, records)
        await self._record_on_cases(db, live, records)
        return records

    async def _read(self, db: str, target: str, ids: list[str]) -> dict[str, JSON | None]:
        """Documents by id in one request (`None` for missing or deleted ones)."""
        response = await self.couch.request(
            "POST",
            f"/{target}/_all_docs",
            params={"include_docs": "true", "conflicts": "true"},
            json_body={"keys": ids},
        )
        return {str(row.get("key")): row.get("doc") for row in response.json()["rows"]}

    async def _store(self, db: str, cases: dict[str, JSON], records: dict[str, JSON]) -> None:
        ids = {case_id: supervision_id(db, case_id) for case_id in records}
        stored = await self._read(self.server_db, self.server_db, list(ids.values()))
        stamp = iso_utc_at(self.clock())
        writes: list[JSON] = []
        for case_id, record in records.items():
            old = stored.get(ids[case_id])
            if old is not None and _same(old, record):
                continue
            doc = {**record, "_id": ids[case_id], "case_rev": cases[case_id]["_rev"], "updated_at": stamp}
            if old is not None:
                doc["_rev"] = old["_rev"]
            writes.append(doc)
        if writes:
            for answer in await self.couch.bulk_docs(self.server_db, writes):
                if answer.get("error"):  # another process wrote it meanwhile: its next change recomputes
                    log.info("supervision record %s not written (%s)", answer.get("id"), answer.get("error"))

    async def _record_on_cases(self, db: str, cases: dict[str, JSON], records: dict[str, JSON]) -> None:
        """Write the computed deadline onto accepted, unfinished cases whose own value differs."""

        def deadline(case: JSON) -> dict[str, Any] | None:
            record = records[str(case["_id"])]
            if (
                not record["deadline"]
                or record["finished_on"]
                or (case.get("deadline"), case.get("paused_days"))
                == (record["deadline"], record["paused_days"])
            ):
                return None
            return {"deadline": record["deadline"], "paused_days": record["paused_days"]}

        # One bulk write; a case that changed meanwhile is logged and recomputed on its next change.
        await CaseWriter(self.couch, db).edit_many(
            {case_id: cases[case_id] for case_id in records}, deadline,
            now=datetime.fromtimestamp(self.clock(), UTC),
        )

    async def _item(self, code: str) -> JSON | None:
        """The catalog item document, cached for a minute (the catalog changes rarely)."""
        now = time.monotonic()
        cached = self._items.get(code)
        if cached is not None and now - cached[0] < 60:
            return cached[1]
        doc = await self.couch.get_doc(self.catalog_db, item_doc_id(code)) if code else None
        self._items[code] = (now, doc)
        return doc


def _same(stored: JSON, record: JSON) -> bool:
    def strip(doc: JSON) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if k not in _BOOKKEEPING}

    return strip(stored) == strip(record)


def _default_limit(item: JSON | None) -> int:
    """The catalog's default for the item's complexity when the item gives no limit (or is unknown)."""
    complexity = (item or {}).get("complexity")
    return DEFAULT_TIME_LIMIT.get(
        Complexity(complexity) if complexity in set(Complexity) else Complexity.ORDINARY, 3
    )
