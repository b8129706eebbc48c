"""Only forwarded, complete, conflict-free cases go to the county."""

from __future__ import annotations

from typing import Any

from sync_server.county.eligibility import handoff_ready, not_ready_reason
from tests.unit.sync_server.county.factories import make_case


def test_a_forwarded_complete_case_is_ready() -> None:
    assert handoff_ready(make_case())


def test_each_missing_condition_is_named() -> None:
    table: list[tuple[dict[str, Any], str]] = [
        ({"status": "accepted"}, "status"),
        ({"status": "approved"}, "status"),
        ({"needs_review": True}, "review"),
        ({"_conflicts": ["2-abc"]}, "conflict"),
        ({"missing": ["hukou"]}, "missing"),
        ({"type": "event"}, "not a case"),
        ({"_deleted": True}, "not a case"),
    ]
    for overrides, word in table:
        reason = not_ready_reason(make_case(**overrides))
        assert reason is not None and word in reason, (overrides, reason)


def test_a_case_with_a_county_number_is_not_enqueued_again_but_may_be_resent() -> None:
    case = make_case(county_ref="330212-2026-000001")
    assert not handoff_ready(case)
    assert not_ready_reason(case) is None
