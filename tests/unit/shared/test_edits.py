"""Recording field edits into a case's `meta.fields`."""

from __future__ import annotations

from typing import Any

import pytest

from shared.edits import (
    ABSENT,
    changed_paths,
    field_meta,
    field_paths,
    get_path,
    record_changes,
    record_edit,
    record_edits,
)
from shared.hlc import MAX_DRIFT_MS, Hlc, parse

NOW = 1_795_933_800_000


def make_case(**overrides: Any) -> dict[str, Any]:
    case: dict[str, Any] = {
        "_id": "case:01JDQ7ZQ8M3V6X0B2C4D5E6F7G",
        "_rev": "1-a",
        "type": "case",
        "item_code": "330212-001",
        "situation": "first",
        "status": "draft",
        "applicant": {"name": "张三", "id_number": "330212199001011234", "phone": "13800000000"},
        "answers": {"income": 1200, "household": 3},
        "materials": [],
    }
    case.update(overrides)
    return case


def test_field_paths_flatten_one_level_and_skip_bookkeeping() -> None:
    paths = field_paths(make_case(meta={"fields": {}}, _attachments={}))
    assert {"applicant.name", "answers.income", "status", "materials"} <= paths
    assert not {"_id", "_rev", "type", "meta", "applicant", "_attachments"} & paths


def test_record_edit_sets_value_and_meta_without_mutating() -> None:
    case = make_case()
    edited = record_edit(case, "applicant.phone", "13900000000", device="tab-1", wall_ms=NOW)
    assert case["applicant"]["phone"] == "13800000000"
    assert edited["applicant"]["phone"] == "13900000000"
    assert edited["meta"]["fields"]["applicant.phone"] == {
        "vv": {"tab-1": 1},
        "hlc": Hlc(NOW, 0, "tab-1").encode(),
    }
    again = record_edit(edited, "applicant.phone", "13700000000", device="tab-1", wall_ms=NOW)
    vv, stamp = field_meta(again, "applicant.phone")
    assert vv == {"tab-1": 2}
    assert stamp == Hlc(NOW, 1, "tab-1")  # same millisecond: the counter orders the edits


def test_an_edit_after_seeing_another_device_is_newer_even_with_a_slow_clock() -> None:
    case = record_edit(make_case(), "notes", "a", device="fast", wall_ms=NOW + 60_000)
    later = record_edit(case, "notes", "b", device="slow", wall_ms=NOW)
    assert field_meta(later, "notes")[1] == Hlc(NOW + 60_000, 1, "slow")
    assert field_meta(later, "notes")[0] == {"fast": 1, "slow": 1}


def test_a_bogus_future_clock_in_the_case_does_not_spread() -> None:
    case = record_edit(make_case(), "notes", "a", device="wrong", wall_ms=NOW + 10 * MAX_DRIFT_MS)
    later = record_edit(case, "notes", "b", device="honest", wall_ms=NOW)
    assert field_meta(later, "notes")[1] == Hlc(NOW, 1, "honest")


def test_absent_removes_a_field_and_is_recorded() -> None:
    edited = record_edit(make_case(), "answers.income", ABSENT, device="d", wall_ms=NOW)
    assert get_path(edited, "answers.income") is ABSENT
    assert "answers.income" in edited["meta"]["fields"]


def test_record_edits_share_one_clock() -> None:
    edited = record_edits(
        make_case(), {"status": "submitted", "submitted_at": "2026-11-24T06:30:00Z"}, device="d", wall_ms=NOW
    )
    stamps = {edited["meta"]["fields"][p]["hlc"] for p in ("status", "submitted_at")}
    assert len(stamps) == 1 and parse(stamps.pop()) == Hlc(NOW, 0, "d")


def test_record_changes_records_exactly_the_changed_fields() -> None:
    before = record_edit(make_case(), "notes", "x", device="a", wall_ms=NOW)
    after = {**before, "applicant": {**before["applicant"], "phone": "1"}, "meta": {"junk": True}}
    del after["notes"]
    assert changed_paths(before, after) == ["applicant.phone", "notes"]
    saved = record_changes(before, after, device="b", wall_ms=NOW + 5)
    assert set(saved["meta"]["fields"]) == {"applicant.phone", "notes"}
    assert saved["meta"]["fields"]["notes"]["vv"] == {"a": 1, "b": 1}
    assert "junk" not in saved["meta"] and "notes" not in saved


@pytest.mark.parametrize("path", ["_rev", "meta", "type", "a.b.c", ""])
def test_bookkeeping_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError):
        record_edit(make_case(), path, 1, device="d", wall_ms=NOW)
