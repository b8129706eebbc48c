"""Each shipped form converts, accepts the demo's filling and refuses a broken one."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from onetrip_demo.answers import FORM_ITEMS, sample_answers
from shared.forms import Form, form_from_json, label_text, validate_answers
from sync_server.forms.xlsform import definition_of
from tools.forms import main as write_forms

FORMS = Path(__file__).resolve().parents[4] / "assets" / "catalog" / "forms"
TODAY = date(2026, 12, 7)


def shipped(item: str) -> Form:
    return form_from_json(definition_of((FORMS / f"{item}.xlsx").read_bytes(), item))


def test_every_workbook_is_a_shipped_form() -> None:
    assert sorted(p.stem for p in FORMS.glob("*.xlsx")) == sorted(FORM_ITEMS)


@pytest.mark.parametrize("item", FORM_ITEMS)
def test_the_demo_filling_is_valid(item: str) -> None:
    form = shipped(item)
    assert (form.form_id, form.version, form.item_code) == (item, "2026120701", item)
    assert validate_answers(form, sample_answers(item, TODAY), today=TODAY) == []


# item -> (change to the valid filling, the field path refused, words of the English message)
BROKEN: dict[str, tuple[dict[str, Any], str, str]] = {
    "JZ-001": ({"household_size": 2, "per_capita_income": 150}, "household_size",
               "at least the applicant plus the members"),
    "JZ-002": ({"requested_amount": 26000}, "requested_amount", "at most the loss minus the aid"),
    "CL-001": ({"guardian_name": "张三（样本）"}, "guardian_name", "does not apply"),
    "SB-001": ({"contribution_grade": "g100"}, "contribution_grade", "not among the choices offered"),
    "ZR-002": ({"repair_type": "repair", "planned_area": None}, "repair_type", "not among the choices"),
    "JZ-004": ({"discharge_date": "2026-11-01", "admission_date": "2026-11-05"}, "discharge_date",
               "between the admission date and today"),
}


@pytest.mark.parametrize("item", FORM_ITEMS)
def test_a_broken_filling_is_refused_with_its_field(item: str) -> None:
    change, path, words = BROKEN[item]
    answers = {**(sample_answers(item, TODAY) or {}), **change}
    kept = {k: v for k, v in answers.items() if v is not None}
    problems = validate_answers(shipped(item), kept, today=TODAY)
    assert [p.path for p in problems] == [path]
    assert words in problems[0].message.en
    assert problems[0].message.zh


def test_a_notes_label_shows_the_current_totals() -> None:
    form = shipped("JZ-001")
    text = label_text(form, sample_answers("JZ-001", TODAY) or {}, "income_note", today=TODAY)
    assert text.zh == "家庭月总收入 300 元，人均 100 元"
    assert text.en == "Household income 300 yuan a month, 100 per person"


def test_the_committed_workbooks_are_what_tools_forms_writes(tmp_path: Path) -> None:
    assert write_forms(tmp_path) == 0
    for item in FORM_ITEMS:
        fresh = definition_of((tmp_path / f"{item}.xlsx").read_bytes(), item)
        assert fresh == definition_of((FORMS / f"{item}.xlsx").read_bytes(), item), item
