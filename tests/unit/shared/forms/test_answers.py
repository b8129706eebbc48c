"""Answers against a small form: types, required, constraints, relevance, repeats, drafts, app API."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from shared.forms import (
    FormDefinitionError,
    choices_for,
    default_answer,
    field_state,
    form_from_json,
    validate_answers,
)
from shared.forms.answers import MAX_INSTANCES

TODAY = date(2026, 12, 7)
ID = "11010519491231002X"  # GB 11643's own example number


def make_form(**overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "format": "onetrip-form/1", "form_id": "T-001", "version": "1", "item_code": "T-001",
        "title": {"zh": "测试", "en": "Test"},
        "fields": [
            {"name": "size", "type": "integer", "required": "true()", "constraint": ". >= 1",
             "constraint_message": {"zh": "至少 1 人", "en": "at least one person"}},
            {"name": "kinds", "type": "select_multiple", "list": "kinds"},
            {"name": "other", "type": "text", "required": "true()",
             "relevant": "selected(${kinds}, 'other')"},
            {"name": "when", "type": "date", "constraint": ". <= today()", "default": "today()"},
            {"name": "owner", "type": "id_number"},
            {"name": "region", "type": "select_one", "list": "regions"},
            {"name": "town", "type": "select_one", "list": "towns", "choice_filter": "region = ${region}"},
            {"name": "details", "type": "group", "relevant": "${size} > 1", "fields": [
                {"name": "note", "type": "note"},
                {"name": "members", "type": "repeat", "fields": [
                    {"name": "m_name", "type": "text", "required": "true()"},
                    {"name": "m_income", "type": "decimal", "constraint": ". >= 0"},
                    {"name": "m_school", "type": "text", "relevant": "${m_income} = 0"},
                ]},
            ]},
            {"name": "total", "type": "calculate", "calculation": "sum(${m_income})"},
            {"name": "share", "type": "decimal", "default": "0.5"},
        ],
        "choices": {
            "kinds": [{"name": "food", "label": {"zh": "食物", "en": "Food"}},
                      {"name": "other", "label": {"zh": "其他", "en": "Other"}}],
            "regions": [{"name": "n", "label": {"zh": "北", "en": "North"}},
                        {"name": "s", "label": {"zh": "南", "en": "South"}}],
            "towns": [{"name": "n1", "label": {"zh": "北一", "en": "N1"}, "columns": {"region": "n"}},
                      {"name": "s1", "label": {"zh": "南一", "en": "S1"}, "columns": {"region": "s"}}],
        },
    }
    form.update(overrides)
    return form


FORM = form_from_json(make_form())
VALID: dict[str, Any] = {
    "size": 2, "kinds": ["food", "other"], "other": "说明", "when": "2026-12-01", "owner": ID,
    "region": "n", "town": "n1",
    "members": [{"m_name": "甲", "m_income": 0, "m_school": "小学"}, {"m_name": "乙", "m_income": 1200.5}],
    "total": 1200.5,
}


def problems(answers: dict[str, Any], **kw: Any) -> list[tuple[str, str]]:
    return [(p.path, p.message.en) for p in validate_answers(FORM, answers, today=TODAY, **kw)]


def test_a_valid_filling_has_no_problems() -> None:
    assert problems(VALID) == []


NO_MEMBERS = ("members", "this question does not apply here: remove the answer")
ID_WRONG = "not a valid resident ID number (check the last character)"
CASES: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
    # without a valid size the group of members does not apply either
    ({"size": None}, [("size", "this question is required"), NO_MEMBERS]),
    ({"size": 0}, [("size", "at least one person"), NO_MEMBERS]),
    ({"size": "2"}, [("size", "the answer must be a whole number")]),
    ({"size": True}, [("size", "the answer must be a whole number"), NO_MEMBERS]),
    ({"kinds": ["food"]}, [("other", "this question does not apply here: remove the answer")]),
    ({"kinds": ["food", "food"], "other": None},
     [("kinds", "the answer must be a list of distinct choices")]),
    ({"kinds": ["fun", "other"]}, [("kinds", "not among the choices offered: fun")]),
    ({"other": ""}, [("other", "this question is required")]),
    ({"when": "2026-12-08"}, [("when", "the answer breaks the rule . <= today()")]),
    ({"when": "2026-2-1"}, [("when", "the date must be YYYY-MM-DD")]),
    ({"owner": "110105194912310021"}, [("owner", ID_WRONG)]),
    ({"town": "s1"}, [("town", "not among the choices offered: s1")]),  # the filter keeps the north's towns
    ({"extra": 1}, [("extra", "the form has no question named 'extra'")]),
    ({"note": "x"}, [("note", "a note takes no answer")]),
    ({"total": 5}, [("total", "the calculated value is 1200.5")]),
    ({"members": [{"m_name": "甲", "m_income": -1}]},
     [("members[0].m_income", "the answer breaks the rule . >= 0"), ("total", "the calculated value is -1")]),
    ({"members": [{"m_name": "甲", "m_income": 1, "m_school": "x", "age": 3}], "total": 1},
     [("members[0].age", "the form has no question named 'age'"),
      ("members[0].m_school", "this question does not apply here: remove the answer")]),
    ({"members": [{"m_income": 0}], "total": 0}, [("members[0].m_name", "this question is required")]),
    ({"members": {"m_name": "甲"}, "total": None}, [("members", "a repeat's answer is a list of objects")]),
    # the group does not apply to a household of one: its repeat's answers may not exist
    ({"size": 1}, [NO_MEMBERS]),
]


@pytest.mark.parametrize(("change", "expected"), CASES)
def test_each_rule_names_the_field(change: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    answers = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    assert problems(answers) == expected


def test_a_draft_may_leave_required_questions_empty_but_nothing_else() -> None:
    draft = {k: v for k, v in VALID.items() if k not in ("size", "other", "members", "total")}
    assert problems(draft, complete=False) == []
    assert problems(draft) == [("size", "this question is required"), ("other", "this question is required")]
    assert problems({**draft, "owner": "1"}, complete=False) == [("owner", ID_WRONG)]


def test_answers_must_be_an_object() -> None:
    assert problems([1]) == [("", "answers must be an object")]  # type: ignore[arg-type]  # bad input on purpose


def test_field_state_for_the_app() -> None:
    state = field_state(FORM, {"kinds": ["other"]}, "other", today=TODAY)
    assert (state.relevant, state.required, state.error and state.error.en) == \
        (True, True, "this question is required")
    assert field_state(FORM, {"kinds": ["food"]}, "other", today=TODAY).relevant is False
    assert field_state(FORM, {"size": 0}, "size", today=TODAY).error is not None
    assert field_state(FORM, VALID, "m_school", today=TODAY, index=1).relevant is False
    assert field_state(FORM, VALID, "m_school", today=TODAY, index=0).relevant is True
    assert field_state(FORM, VALID, "total", today=TODAY).value == 1200.5
    assert field_state(FORM, {"size": 1}, "m_name", today=TODAY, index=0).relevant is False


def test_choices_and_defaults_for_the_app() -> None:
    assert [c.name for c in choices_for(FORM, {"region": "s"}, "town", today=TODAY)] == ["s1"]
    assert [c.name for c in choices_for(FORM, {}, "town", today=TODAY)] == []
    assert default_answer(FORM, "when", today=TODAY) == "2026-12-07"
    assert default_answer(FORM, "share", today=TODAY) == 0.5
    assert default_answer(FORM, "size", today=TODAY) is None


@pytest.mark.parametrize(("change", "reason"), [
    ({"format": "x"}, "format must be"),
    ({"version": ""}, "version must be a non-empty string"),
    ({"fields": [{"name": "a", "type": "geopoint"}]}, "unknown type"),
    ({"fields": [{"name": "a", "type": "text"}, {"name": "a", "type": "integer"}]}, "used twice"),
    ({"fields": [{"name": "a", "type": "text", "relevant": "${b} = 1"}]}, "unknown field(s) ['b']"),
    ({"fields": [{"name": "a", "type": "text", "constraint": "foo(.)"}]}, "not supported"),
    ({"fields": [{"name": "a", "type": "select_one", "list": "none"}]}, "no choice list"),
    ({"fields": [{"name": "a", "type": "calculate", "calculation": "${b} + 1"},
                 {"name": "b", "type": "calculate", "calculation": "${a} * 2"}]},
     "calculations refer to each other in a cycle: a -> b -> a"),
])
def test_a_bad_definition_is_refused(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(FormDefinitionError, match=r".*") as caught:
        form_from_json(make_form(**change))
    assert reason in str(caught.value)


def test_two_repeats_see_each_other_as_node_sets() -> None:
    form = form_from_json(make_form(fields=[
        {"name": "plots", "type": "repeat", "fields": [{"name": "plot_area", "type": "decimal"}]},
        {"name": "crops", "type": "repeat", "fields": [
            {"name": "crop_area", "type": "decimal", "constraint": ". <= sum(${plot_area})"},
            {"name": "share", "type": "calculate", "calculation": "${crop_area} div sum(${plot_area})"},
            {"name": "note_big", "type": "text", "relevant": "${share} > 0.5"},
        ]},
    ], choices={}))
    answers = {"plots": [{"plot_area": 2}, {"plot_area": 3}],
               "crops": [{"crop_area": 4, "note_big": "大"}, {"crop_area": 1}, {"crop_area": 6}]}
    assert [(p.path, p.message.en) for p in validate_answers(form, answers, today=TODAY)] == [
        ("crops[2].crop_area", "the answer breaks the rule . <= sum(${plot_area})")]
    assert field_state(form, answers, "share", today=TODAY, index=0).value == 0.8
    assert field_state(form, answers, "note_big", today=TODAY, index=1).relevant is False


def test_a_repeat_has_at_most_max_instances() -> None:
    many = [{"m_name": "甲", "m_income": 1}] * (MAX_INSTANCES + 1)
    assert problems({**VALID, "members": many, "total": MAX_INSTANCES + 1}) == [
        ("members", f"at most {MAX_INSTANCES} instances")]
