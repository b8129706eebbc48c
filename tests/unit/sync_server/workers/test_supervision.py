"""Supervision records and township summaries, pure, with a fixed today and a plain Mon–Fri calendar."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from shared.workdays import WorkCalendar
from sync_server.workers.supervision import pauses, summarize, supervision_record

CAL = WorkCalendar(base=lambda d: d.weekday() < 5)
ITEM = {"time_limit_days": 3, "level": "township"}


def case(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": "case:X",
        "status": "accepted",
        "agent": "a1",
        "item_code": "i1",
        "division": {"village": "330212001001", "township": "330212001"},
        "accepted_at": "2026-11-23T02:00:00Z",
    }
    doc.update(overrides)
    return doc


def ev(kind: str, day: str, n: int, **data: Any) -> dict[str, Any]:
    return {
        "_id": f"event:X:{n:02d}",
        "kind": kind,
        "by": "st1",
        "server_time": f"{day}T02:00:00Z",
        "data": data,
    }


@pytest.mark.parametrize(
    ("events", "today", "expected"),
    [
        ([], date(2026, 11, 27), ([], False)),
        (
            [ev("materials_requested", "2026-11-24", 1), ev("submitted", "2026-11-26", 2)],
            date(2026, 11, 27),
            ([(date(2026, 11, 24), date(2026, 11, 26))], False),
        ),
        (
            [ev("materials_requested", "2026-11-24", 1)],
            date(2026, 11, 27),
            ([(date(2026, 11, 24), date(2026, 11, 27))], True),
        ),
        # a request before acceptance does not pause the time limit
        (
            [ev("materials_requested", "2026-11-20", 1), ev("submitted", "2026-11-21", 2)],
            date(2026, 11, 27),
            ([], False),
        ),
    ],
)
def test_pauses(events: list[dict[str, Any]], today: date, expected: tuple[list[Any], bool]) -> None:
    assert pauses(events, date(2026, 11, 23), today) == expected


@pytest.mark.parametrize(
    ("doc", "events", "today", "fields"),
    [
        (
            case(status="submitted", accepted_at=None),
            [],
            date(2026, 11, 27),
            {"deadline": None, "card": None},
        ),
        (case(), [], date(2026, 11, 24), {"deadline": "2026-11-26", "card": "green"}),
        (case(), [], date(2026, 11, 25), {"card": "yellow"}),
        (case(), [], date(2026, 11, 27), {"card": "red"}),
        (
            case(),
            [ev("materials_requested", "2026-11-24", 1)],
            date(2026, 11, 27),
            {"deadline": "2026-12-01", "paused_days": 3, "pause_open": True, "card": "green"},
        ),
        (
            case(status="approved"),
            [ev("approved", "2026-11-27", 1)],
            date(2026, 11, 30),
            {"finished_on": "2026-11-27", "late": True, "handling_days": 4, "card": None},
        ),
        (case(status="withdrawn"), [], date(2026, 11, 30), {"card": None, "finished_on": None}),
        (
            case(),
            [ev("rated", "2026-11-24", 1, score=4), ev("rated", "2026-11-24", 2, score="x")],
            date(2026, 11, 24),
            {"ratings": [4]},
        ),
    ],
)
def test_record(
    doc: dict[str, Any], events: list[dict[str, Any]], today: date, fields: dict[str, Any]
) -> None:
    record = supervision_record("ot-v-330212001001", doc, events, ITEM, today, CAL, 3)
    assert {k: record[k] for k in fields} == fields


def test_summary_counts_per_village_and_person() -> None:
    records = [
        supervision_record("db", case(_id="case:A"), [], ITEM, date(2026, 11, 27), CAL, 3),
        supervision_record(
            "db", case(_id="case:B", accepted_at="2026-11-26T02:00:00Z"), [], ITEM, date(2026, 11, 27), CAL, 3
        ),
        supervision_record(
            "db",
            case(_id="case:C", status="approved", agent="a2"),
            [
                ev("accepted", "2026-11-23", 1),
                ev("approved", "2026-11-25", 2),
                ev("rated", "2026-11-26", 3, score=3),
            ],
            {"time_limit_days": 3, "level": "village"},
            date(2026, 11, 27),
            CAL,
            3,
        ),
    ]
    summary = summarize(records, date(2026, 11, 30), CAL)
    assert [c["case_id"] for c in summary["overdue"]] == ["case:A"]
    assert [c["case_id"] for c in summary["due_soon"]] == ["case:B"]
    assert summary["villages"]["330212001001"] == {"open": 2, "overdue": 1, "due_soon": 1, "finished": 1}
    assert summary["staff"]["st1"]["finished"] == 1 and summary["staff"]["a1"]["open"] == 2
    assert summary["average_handling_days"] == 2 and summary["local_share"] == 1.0
    assert summary["satisfaction"]["by_village"] == {"330212001001": 3.0}
    # Every counted case is listed for the figures' drill-downs, with its state and card.
    listed = {c["case_id"]: c for c in summary["cases"]}
    assert (listed["case:A"]["state"], listed["case:A"]["card"]) == ("open", "red")
    assert (listed["case:B"]["state"], listed["case:B"]["card"]) == ("open", "yellow")
    finished = listed["case:C"]
    assert (finished["state"], finished["card"], finished["rated"]) == ("finished", None, True)
    assert listed["case:C"]["accepted_by"] == "st1" and listed["case:C"]["item_code"]
