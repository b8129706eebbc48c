"""County outcomes: status changes through the status machine, deterministic event ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.ids import parse_id
from sync_server.county import CallbackRefused
from sync_server.county.outcome import Outcome, OutcomeKind, changes_for, outcome_event, outcome_event_id
from tests.unit.sync_server.county.factories import make_case

AT = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def outcome(case: dict[str, object], kind: OutcomeKind, event: str = "e1") -> Outcome:
    return Outcome(kind, str(case["_id"]), "330212-2026-000001", event, AT, "王科长", "县民政局", "同意")


def test_decisions_move_the_status_the_machine_allows() -> None:
    table = [
        ("forwarded", OutcomeKind.ACK, None),
        ("forwarded", OutcomeKind.APPROVED, "approved"),
        ("forwarded", OutcomeKind.REJECTED, "rejected"),
        ("approved", OutcomeKind.RESULT_READY, "result_ready"),
        ("approved", OutcomeKind.APPROVED, None),  # delivered twice: nothing more to change
    ]
    for status, kind, target in table:
        case = make_case(status=status, county_ref="330212-2026-000001")
        changes = changes_for(case, outcome(make_case(), kind))
        assert changes.get("status") == target, (status, kind)


def test_a_decision_the_machine_forbids_is_a_conflict() -> None:
    for status, kind in (("forwarded", OutcomeKind.RESULT_READY), ("withdrawn", OutcomeKind.APPROVED),
                         ("delivered", OutcomeKind.REJECTED)):
        with pytest.raises(CallbackRefused) as caught:
            changes_for(make_case(status=status), outcome(make_case(), kind))
        assert caught.value.status == 409


def test_the_ack_sets_the_county_ref() -> None:
    changes = changes_for(make_case(), outcome(make_case(), OutcomeKind.ACK))
    assert changes == {"county_ref": "330212-2026-000001"}


def test_the_same_outcome_gets_the_same_event_id_and_a_valid_one() -> None:
    case = make_case()
    first, again = outcome(case, OutcomeKind.APPROVED), outcome(case, OutcomeKind.APPROVED)
    assert outcome_event_id(first) == outcome_event_id(again)
    assert outcome_event_id(first) != outcome_event_id(outcome(case, OutcomeKind.APPROVED, "e2"))
    assert outcome_event_id(first) != outcome_event_id(outcome(case, OutcomeKind.REJECTED))
    parsed = parse_id(outcome_event_id(first))
    assert parsed.case_ulid == case["_id"].removeprefix("case:")
    event = outcome_event(first, AT)
    assert event["role"] == "system" and event["kind"] == "approved" and event["data"]["handler"] == "王科长"
