"""The citizen's case summary: plain words, timeline, timing, nothing private."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.jsontypes import JSON
from sync_server.citizen.summary import STATUS_WORDS, Coded, Text, build_summary, mask_name

NOW = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)  # 14:30 in China
ITEM: Coded = {"code": "V-OLDAGE", "zh": "高龄津贴申领", "en": "Old-age allowance"}


def make_case(**overrides: Any) -> dict[str, Any]:
    case = {"_id": "case:01JDQ7Z8K3M4N5P6Q7R8S9T0VW", "type": "case", "status": "accepted",
            "tracking_code": "K7QM-9XRT-2HNC", "deadline": "2026-11-26",
            "applicant": {"name": "李四", "id_number": "330212195001011235", "phone": "13812345678"},
            "agent": "wang.agent"}
    case.update(overrides)
    return case


def event(kind: str, n: int, role: str = "township_staff", at: str = "2026-11-23T02:00:00Z") -> JSON:
    return {"_id": f"event:01JDQ7Z8K3M4N5P6Q7R8S9T0VW:01JDQ8000000000000000000{n:02d}", "kind": kind,
            "role": role, "by": "li.staff", "device": "tablet-7", "server_time": at,
            "data": {"note": "private"}}


def test_plain_words_for_every_status() -> None:
    for status in STATUS_WORDS:
        summary = build_summary(make_case(status=status), [], item=ITEM, now=NOW)
        assert summary["status"]["zh"] and summary["status"]["en"]
        assert summary["status"]["zh"] != status


def test_timeline_keeps_citizen_steps_in_order_with_office_names() -> None:
    events = [event("approved", 3, "county_operator"), event("field_edited", 2), event("accepted", 1),
              event("conflict_resolved", 4), event("submitted", 0, "village_agent")]
    summary = build_summary(make_case(status="approved"), events, item=ITEM, now=NOW)
    assert [s["kind"] for s in summary["timeline"]] == ["submitted", "accepted", "approved"]
    offices = [s["office"]["zh"] for s in summary["timeline"]]
    assert offices == ["村便民服务代办点", "乡镇便民服务中心", "县政务服务中心"]


def test_nothing_private_in_the_summary() -> None:
    events = [event("accepted", 1), event("delivered", 2, "village_agent")]
    summary = build_summary(make_case(status="delivered"), events, item=ITEM, now=NOW)
    text = json.dumps(summary, ensure_ascii=False)
    secrets = ("330212195001011235", "13812345678", "li.staff", "wang.agent", "tablet-7", "李四", "private")
    for secret in secrets:
        assert secret not in text
    assert summary["applicant"] == "李*"


@pytest.mark.parametrize(("status", "deadline", "events", "expected"), [
    ("submitted", None, [], "not_started"),
    ("accepted", "2026-11-24", [], "on_time"),  # due today (China date) is still on time
    ("accepted", "2026-11-23", [], "overdue"),
    ("needs_materials", "2026-11-23", [], "paused"),
    ("rejected", None, [("rejected", "2026-11-23T03:00:00Z")], "closed"),  # 不予受理: no clock ever ran
    ("withdrawn", None, [], "closed"),
    ("withdrawn", "2026-11-30", [], "closed"),
    ("result_ready", "2026-11-23", [("result_ready", "2026-11-23T15:59:00Z")], "done_on_time"),  # 23:59 China
    ("result_ready", "2026-11-23", [("result_ready", "2026-11-23T16:00:00Z")], "done_late"),  # 00:00 next day
    # delivery after the deadline does not make the office late
    ("delivered", "2026-11-30",
     [("result_ready", "2026-11-25T01:00:00Z"), ("delivered", "2026-12-05T01:00:00Z")], "done_on_time"),
])
def test_timing(status: str, deadline: str | None, events: list[tuple[str, str]], expected: str) -> None:
    evs = [event(kind, i, at=at) for i, (kind, at) in enumerate(events)]
    summary = build_summary(make_case(status=status, deadline=deadline), evs, item=ITEM, now=NOW)
    assert summary["timing"]["code"] == expected


def test_rating_state() -> None:
    delivered = build_summary(make_case(status="delivered"), [], item=ITEM, now=NOW)
    assert delivered["can_rate"] and not delivered["rated"]
    rated = build_summary(make_case(status="delivered"), [event("rated", 1, "citizen")], item=ITEM,
                          now=NOW)
    assert rated["rated"] and not rated["can_rate"]
    assert not build_summary(make_case(status="result_ready"), [], item=ITEM, now=NOW)["can_rate"]


@pytest.mark.parametrize(("name", "masked"), [("张三丰", "张**"), ("王五", "王*"), ("李", "李*"), ("", "")])
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


MATERIALS: dict[str, Text] = {"hukou": {"zh": "户口簿", "en": "Household register"},
             "photo": {"zh": "近期免冠照片", "en": "Recent photo"}}


def test_needs_materials_lists_every_missing_material_by_name() -> None:
    case = make_case(status="needs_materials", missing=["hukou", "photo", "hukou", "bank-card"])
    summary = build_summary(case, [event("materials_requested", 1)], item=ITEM, now=NOW, materials=MATERIALS)
    assert [m["zh"] for m in summary["missing"]] == ["户口簿", "近期免冠照片", "bank-card"]
    assert [m["en"] for m in summary["missing"]] == ["Household register", "Recent photo", "bank-card"]
    assert summary["todo"] is not None and "村代办员" in summary["todo"]["zh"]
    assert summary["timing"]["code"] == "paused"


def test_missing_materials_shown_from_submission_not_after_acceptance() -> None:
    submitted = build_summary(make_case(status="submitted", missing=["photo"]), [], item=ITEM, now=NOW,
                              materials=MATERIALS)
    assert [m["zh"] for m in submitted["missing"]] == ["近期免冠照片"]
    accepted = build_summary(make_case(status="accepted", missing=["photo"]), [], item=ITEM, now=NOW,
                             materials=MATERIALS)
    assert accepted["missing"] == [] and accepted["todo"] is None


def test_rejected_case_gives_the_latest_reason_and_no_clock_words() -> None:
    first, second = event("rejected", 1), event("rejected", 2)
    first["data"] = {"reason": "旧理由"}
    second["data"] = {"reason": "  申请人未满80周岁，\n不符合高龄津贴条件 "}
    summary = build_summary(make_case(status="rejected", deadline=None), [second, first], item=ITEM, now=NOW)
    assert summary["reason"] == "申请人未满80周岁， 不符合高龄津贴条件"
    assert summary["todo"] is not None
    assert "尚未受理" not in json.dumps(summary, ensure_ascii=False)
    assert summary["timing"]["code"] == "closed"


def test_no_reason_and_no_todo_on_a_running_case() -> None:
    summary = build_summary(make_case(status="accepted"), [event("accepted", 1)], item=ITEM, now=NOW)
    assert summary["reason"] == "" and summary["missing"] == [] and summary["todo"] is None
