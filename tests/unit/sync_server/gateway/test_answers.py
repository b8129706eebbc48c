"""The gateway's answer rules, as a pure function of the case and the versions found."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from onetrip_demo.answers import FORM_VERSION, sample_answers
from sync_server.gateway.answers import check_answers, form_key
from tests.unit.shared.forms.test_shipped_forms import shipped

NOW = datetime(2026, 12, 7, 2, tzinfo=UTC).timestamp()
FORMS = {("JZ-002", FORM_VERSION): shipped("JZ-002")}
VALID = sample_answers("JZ-002", datetime.fromtimestamp(NOW, UTC).date())


def case(answers: Any = VALID, status: str = "submitted", **overrides: Any) -> dict[str, Any]:
    doc = {"_id": "case:X", "item_code": "JZ-002", "status": status, "answers": answers,
           "form": {"id": "JZ-002", "version": FORM_VERSION}}
    doc.update(overrides)
    return doc


def test_valid_answers_and_cases_without_a_form_pass() -> None:
    assert check_answers(case(), FORMS, NOW) is None
    assert check_answers({"item_code": "JZ-002", "answers": {"x": 1}}, FORMS, NOW) is None
    assert check_answers(case(form=None), FORMS, NOW) is None


def test_each_refusal_names_what_is_wrong() -> None:
    assert "form must be" in str(check_answers(case(form={"id": "JZ-002"}), FORMS, NOW))
    assert "form must be" in str(check_answers(case(form="JZ-002"), FORMS, NOW))
    assert "unknown form version JZ-002@2" in str(check_answers(case(form={"id": "JZ-002", "version": "2"}),
                                                               FORMS, NOW))
    assert "unknown form version" in str(check_answers(case(), None, NOW))  # versions not looked up
    assert "belongs to item JZ-002, not JZ-001" in str(check_answers(case(item_code="JZ-001"), FORMS, NOW))
    reason = str(check_answers(case({**(VALID or {}), "urgent": "maybe"}), FORMS, NOW))
    assert reason == ("表单答案不符合要求：urgent：不是可选的选项：maybe / answers break the form: urgent: "
                      "not among the choices offered: maybe")


def test_a_draft_may_lack_required_answers_only() -> None:
    assert check_answers(case({"urgent": "yes"}, status="draft"), FORMS, NOW) is None
    refused = str(check_answers(case({"urgent": "yes"}), FORMS, NOW))
    assert "emergency_type: this question is required" in refused and "(and 4 more)" in refused
    assert "not among the choices" in str(check_answers(case({"urgent": "x"}, status="draft"), FORMS, NOW))


def test_an_incident_tomorrow_is_refused_by_the_servers_date() -> None:
    tomorrow = {**(VALID or {}), "incident_date": "2026-12-08"}
    assert "incident_date: the date cannot be after today" in str(check_answers(case(tomorrow), FORMS, NOW))


def test_form_key() -> None:
    assert form_key(case()) == ("JZ-002", FORM_VERSION)
    assert form_key({"form": {"id": "", "version": "1"}}) is None
