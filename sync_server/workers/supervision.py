"""Supervision records (电子监察): one case's deadline, card, handling time and rating; and summaries.

Pure functions over documents. A record is stored in ot-server as

    {"_id": "supervision:<db>:<case id>", "type": "supervision", "case_id", "db", "village",
     "township", "item_code", "level", "status", "agent", "accepted_by", "accepted_on",
     "deadline", "paused_days", "pause_open", "finished_on", "handling_days", "late",
     "card", "ratings": [1–5…]}

so one `_all_docs` range (`supervision:ot-v-<township>…`) lists a township. Dates are
Chinese dates. The time limit runs from acceptance; each request for materials after
acceptance (`materials_requested` event) pauses it until the next `submitted` event, or
until today while the case still waits (docs/design.md §Domain rules, `shared/workdays.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from shared.documents import EventKind
from shared.jsontypes import JSON
from shared.workdays import Pause, WorkCalendar, china_date

# A case is finished (办结) once decided; withdrawn cases leave supervision without a verdict.
FINISHED = {"approved", "rejected", "result_ready", "delivered"}
DECISIONS = (EventKind.APPROVED, EventKind.REJECTED)


def supervision_id(db: str, case_id: str) -> str:
    return f"supervision:{db}:{case_id}"


def china_day(stamp: object) -> date | None:
    """The Chinese date of an ISO-8601 UTC time string; None when missing or malformed."""
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return china_date(moment)


def _when(event: Mapping[str, Any]) -> date | None:
    return china_day(event.get("server_time")) or china_day(event.get("device_time"))


def pauses(events: Iterable[Mapping[str, Any]], accepted_on: date, today: date) -> tuple[list[Pause], bool]:
    """Pauses for missing materials after acceptance, and whether one is still open."""
    spans: list[Pause] = []
    start: date | None = None
    for event in sorted(events, key=lambda e: str(e.get("_id", ""))):
        day = _when(event)
        if day is None or day < accepted_on:
            continue
        if event.get("kind") == EventKind.MATERIALS_REQUESTED and start is None:
            start = day
        elif event.get("kind") == EventKind.SUBMITTED and start is not None:
            spans.append((start, max(start, day)))
            start = None
    if start is not None:
        spans.append((start, max(start, today)))
    return spans, start is not None


def supervision_record(
    db: str,
    case: Mapping[str, Any],
    events: Iterable[Mapping[str, Any]],
    item: Mapping[str, Any] | None,
    today: date,
    calendar: WorkCalendar,
    default_limit: int,
) -> JSON:
    """The supervision record of one case as of `today` (without `_id`/`_rev`)."""
    events = list(events)
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for event in sorted(events, key=lambda e: str(e.get("_id", ""))):
        by_kind.setdefault(str(event.get("kind")), []).append(event)
    accepted = by_kind.get(EventKind.ACCEPTED, [])
    raw_division = case.get("division")
    division: Mapping[str, Any] = raw_division if isinstance(raw_division, Mapping) else {}
    status = str(case.get("status", ""))
    record: JSON = {
        "type": "supervision",
        "case_id": case["_id"],
        "db": db,
        "village": division.get("village"),
        "township": division.get("township"),
        "item_code": case.get("item_code"),
        "level": (item or {}).get("level"),
        "status": status,
        "agent": case.get("agent"),
        "accepted_by": accepted[0].get("by") if accepted else None,
        "ratings": [
            int(e["data"]["score"])
            for e in by_kind.get(EventKind.RATED, [])
            if isinstance(e.get("data"), Mapping) and isinstance(e["data"].get("score"), int)
        ],
        "accepted_on": None,
        "deadline": None,
        "paused_days": 0,
        "pause_open": False,
        "finished_on": None,
        "handling_days": None,
        "late": None,
        "card": None,
    }
    accepted_on = china_day(case.get("accepted_at")) or (_when(accepted[0]) if accepted else None)
    if accepted_on is None:
        return record
    limit = int((item or {}).get("time_limit_days") or default_limit)
    spans, pause_open = pauses(events, accepted_on, today)
    deadline = calendar.deadline(accepted_on, limit, spans)
    paused = sum(calendar.working_days_between(s, e) for s, e in spans)
    decided = [d for kind in DECISIONS for e in by_kind.get(kind, []) if (d := _when(e)) is not None]
    finished_on = min(decided) if decided else (today if status in FINISHED else None)
    record.update(
        accepted_on=accepted_on.isoformat(),
        deadline=deadline.isoformat(),
        paused_days=paused,
        pause_open=pause_open,
    )
    if finished_on is not None:
        record.update(
            finished_on=finished_on.isoformat(),
            late=finished_on > deadline,
            handling_days=calendar.working_days_between(accepted_on, finished_on) - paused,
        )
    elif status != "withdrawn":
        record["card"] = calendar.card(deadline, today).value
    return record


@dataclass
class _Tally:
    """Running totals of `summarize`."""

    open_cases: list[JSON] = field(default_factory=list)
    villages: dict[str, dict[str, int]] = field(default_factory=dict)
    staff: dict[str, dict[str, int]] = field(default_factory=dict)
    handling: list[int] = field(default_factory=list)
    levels: dict[str, int] = field(default_factory=dict)
    ratings: dict[str, dict[str, list[int]]] = field(
        default_factory=lambda: {"all": {}, "by_village": {}, "by_staff": {}, "by_item": {}}
    )

    def count(self, village: str, people: set[str], key: str) -> None:
        for counts in [self._row(self.villages, village), *(self._row(self.staff, p) for p in people)]:
            counts[key] += 1

    @staticmethod
    def _row(table: dict[str, dict[str, int]], key: str) -> dict[str, int]:
        return table.setdefault(key, {"open": 0, "overdue": 0, "due_soon": 0, "finished": 0})

    def rate(self, score: int, village: str, people: set[str], item: str) -> None:
        keys = [("all", ""), ("by_village", village), ("by_item", item), *(("by_staff", p) for p in people)]
        for table, key in keys:
            self.ratings[table].setdefault(key, []).append(score)


def _reference(r: Mapping[str, Any], today: date, calendar: WorkCalendar) -> JSON:
    """A case as the drill-down lists it: where it is, what it is, its card, who handled it."""
    state = "finished" if r.get("finished_on") else (
        "open" if r.get("deadline") and r.get("status") != "withdrawn" else "other")
    card = (calendar.card(date.fromisoformat(str(r["deadline"])), today).value
            if state == "open" else None)
    return {"case_id": r.get("case_id"), "db": r.get("db"), "village": str(r.get("village")),
            "item_code": r.get("item_code"), "status": r.get("status"), "deadline": r.get("deadline"),
            "state": state, "card": card, "agent": r.get("agent"), "accepted_by": r.get("accepted_by"),
            "rated": bool(r.get("ratings"))}


def summarize(records: Iterable[Mapping[str, Any]], today: date, calendar: WorkCalendar) -> JSON:
    """Township figures: overdue / due-soon cases per village and person, handling time, levels, ratings."""
    tally = _Tally()
    cases: list[JSON] = []  # every counted case, so each figure drills down to its cases
    for r in records:
        village = str(r.get("village"))
        people = {str(p) for p in (r.get("agent"), r.get("accepted_by")) if p}
        cases.append(_reference(r, today, calendar))
        if r.get("finished_on"):
            tally.count(village, people, "finished")
            if isinstance(r.get("handling_days"), int):
                tally.handling.append(r["handling_days"])
            tally.levels[str(r.get("level"))] = tally.levels.get(str(r.get("level")), 0) + 1
        elif r.get("deadline") and r.get("status") != "withdrawn":
            card = calendar.card(date.fromisoformat(str(r["deadline"])), today).value
            tally.count(village, people, "open")
            bucket = {"red": "overdue", "yellow": "due_soon"}.get(card)
            if bucket:
                tally.count(village, people, bucket)
                tally.open_cases.append(
                    {
                        "case_id": r.get("case_id"),
                        "db": r.get("db"),
                        "village": village,
                        "item_code": r.get("item_code"),
                        "deadline": r.get("deadline"),
                        "card": card,
                        "agent": r.get("agent"),
                        "accepted_by": r.get("accepted_by"),
                    }
                )
        else:
            for table, key in [(tally.villages, village), *((tally.staff, p) for p in people)]:
                _Tally._row(table, key)
        for score in r.get("ratings") or []:
            tally.rate(score, village, people, str(r.get("item_code")))
    finished = sum(tally.levels.values())
    local = tally.levels.get("village", 0) + tally.levels.get("township", 0)
    everyone = tally.ratings["all"].get("", [])
    return {
        "today": today.isoformat(),
        "overdue": [c for c in tally.open_cases if c["card"] == "red"],
        "due_soon": [c for c in tally.open_cases if c["card"] == "yellow"],
        "villages": dict(sorted(tally.villages.items())),
        "staff": dict(sorted(tally.staff.items())),
        "cases": cases,
        "average_handling_days": _average(tally.handling),
        "finished_by_level": dict(sorted(tally.levels.items())),
        "local_share": round(local / finished, 3) if finished else None,
        "satisfaction": {
            "average": _average(everyone),
            "count": len(everyone),
            **{
                table: {k: _average(v) for k, v in sorted(tally.ratings[table].items())}
                for table in ("by_village", "by_staff", "by_item")
            },
        },
    }


def _average(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None
