"""Small factories of case, event and material documents for the county tests."""

from __future__ import annotations

from typing import Any

from ulid import ULID

VILLAGE = "330212001001"
ID_NUMBER = "330212199001011234"


def new_ulid() -> str:
    return str(ULID())


def make_case(village: str = VILLAGE, **overrides: Any) -> dict[str, Any]:
    case_ulid = new_ulid()
    case: dict[str, Any] = {
        "_id": f"case:{case_ulid}", "type": "case", "item_code": "330212-LB-001", "situation": "first",
        "division": {"village": village, "township": village[:9], "county": village[:6]},
        "applicant": {"name": "王秀英", "id_number": ID_NUMBER, "phone": "13800001234"},
        "answers": {"household_size": 3},
        "materials": [{"requirement": "hukou", "attachment": "hukou-1.jpg", "source": "captured"}],
        "missing": [], "status": "forwarded", "tracking_code": "K7QM-9XRT-2HNC", "agent": "agent1",
        "created_at": "2026-11-20T01:00:00Z", "updated_at": "2026-11-21T02:00:00Z",
        "submitted_at": "2026-11-20T01:30:00Z", "accepted_at": "2026-11-21T02:00:00Z",
        "deadline": "2026-11-26", "paused_days": 0, "county_ref": None, "needs_review": False,
        "meta": {"fields": {}},
    }
    case.update(overrides)
    return case


def make_event(case: dict[str, Any], kind: str, *, by: str = "staff1", role: str = "township_staff",
               at: str = "2026-11-21T02:00:00Z", **data: Any) -> dict[str, Any]:
    case_ulid = case["_id"].removeprefix("case:")
    return {"_id": f"event:{case_ulid}:{new_ulid()}", "type": "event", "case_id": case["_id"], "kind": kind,
            "by": by, "role": role, "device": "tablet-1", "device_time": at, "server_time": at, "data": data}
