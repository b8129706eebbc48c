"""Wizard form step (issue 18): the item's questions one group per screen, instant messages,
relevance, calculations, household members, drafts at every step and pre-fill (免填)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pypdf
import pytest

from mobile.services.i18n import Translator
from mobile.store import LocalStore
from mobile.viewmodels.case_detail import CaseDetailViewModel
from mobile.viewmodels.catalog_adapter import item_choices
from mobile.viewmodels.form_step import load_form
from mobile.viewmodels.wizard import MaterialRow, Step, WizardViewModel
from onetrip_demo.answers import FORM_ITEMS, sample_answers
from shared.catalog import load_catalog
from shared.forms import Form, form_from_json, validate_answers
from shared.forms.model import FieldType
from sync_server.forms.xlsform import definition_of
from tests.unit.mobile.factories import VILLAGE, id_number, make_book, make_store
from tests.unit.mobile.images import jpeg_bytes, text_page
from tests.unit.mobile.test_viewmodels_wizard import step_of

ROOT = Path(__file__).resolve().parents[3]
T = Translator("zh")
TODAY = date(2026, 11, 24)


@cache
def definition(item: str) -> dict[str, Any]:
    return definition_of((ROOT / "assets" / "catalog" / "forms" / f"{item}.xlsx").read_bytes(), item)


def catalog_forms(item: str, situation: str) -> Form | None:
    return form_from_json(definition(item)) if item == "JZ-001" else None


def make_vm(store: LocalStore, forms: Callable[[str, str], Form | None] = catalog_forms,
            can_make_form: Callable[[], bool] | None = None) -> WizardViewModel:
    seed = ROOT / "assets" / "catalog" / "seed.json"
    items = item_choices(load_catalog(seed.read_text(encoding="utf-8"), source=str(seed)))
    vm = WizardViewModel(make_book(store), items, T, village=VILLAGE, today=lambda: TODAY,
                         forms=forms, random_bytes=lambda n: bytes(range(n)))
    if can_make_form is not None:  # else this machine's own answer (a CJK font found or not)
        vm.can_make_form = can_make_form
    return vm


def shipped_forms(item: str, situation: str) -> Form | None:
    return form_from_json(definition(item)) if item in FORM_ITEMS else None


def to_form(vm: WizardViewModel, number: str | None = None) -> None:
    vm.choose_item("JZ-001")
    vm.choose_situation("first")
    vm.set_applicant(name="王秀英", id_number=number or id_number(), phone="13912345678")
    assert vm.next() and vm.step is Step.FORM


def fill_household(vm: WizardViewModel) -> None:
    vm.set_answer("residence", "rural")
    vm.set_answer("household_size", "3")
    vm.set_answer("housing", "own")
    vm.set_answer("hardship_reasons", ["illness"])


def test_form_pages_in_order_with_messages_relevance_and_calculations(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    vm = make_vm(store)
    to_form(vm)
    assert vm.page == 0 and vm.page_progress == "1/4"
    assert vm.current_page is not None and vm.current_page.title is not None
    assert vm.current_page.title.zh == "家庭基本情况"
    # Next with empty required questions: refused with the evaluator's message
    assert not vm.next() and "必填" in vm.error and vm.step is Step.FORM
    # An integer that is not one: held with its message, not saved in the draft
    vm.set_answer("household_size", "三")
    assert vm.answer("household_size") == "三" and "整数" in vm.answer_error("household_size")
    assert "household_size" not in store.get(vm.case["_id"])["answers"]  # type: ignore[index]
    # A constraint broken: held with the form's own message
    vm.set_answer("household_size", "30")
    assert "1 到 20" in vm.answer_error("household_size")
    fill_household(vm)
    assert vm.answer_error("household_size") == ""
    # relevance: 'other' opens a required explanation; dropping 'other' drops its answer
    assert not vm.filling.relevant("hardship_other")  # type: ignore[union-attr]
    vm.set_answer("hardship_reasons", ["illness", "other"])
    assert vm.filling.relevant("hardship_other")  # type: ignore[union-attr]
    assert not vm.next() and "必填" in vm.error
    vm.set_answer("hardship_other", "房屋倒塌")
    vm.set_answer("hardship_reasons", ["illness"])
    assert "hardship_other" not in store.get(vm.case["_id"])["answers"]  # type: ignore[index]
    assert vm.next() and vm.page == 1
    vm.set_answer("applicant_income", "300")
    vm.set_answer("applicant_health", "chronic")
    vm.set_answer("applicant_work", "farming")
    assert vm.next() and vm.page == 2
    page = vm.current_page
    assert page is not None and page.repeat is not None
    # two household members
    for n, (name, relation, income) in enumerate([("李桂兰", "spouse", "0"), ("王小明", "child", "1200.5")]):
        vm.add_instance("members")
        vm.set_answer("member_name", name, n)
        vm.set_answer("member_id", id_number(200 + n, date(1990 + n, 1, 1)), n)
        vm.set_answer("relation", relation, n)
        vm.set_answer("member_health", "healthy", n)
        vm.set_answer("member_work", "unable", n)
        vm.set_answer("member_income", income, n)
    # a third one breaks household_size (>= members + 1): the page says so
    vm.add_instance("members")
    assert not vm.next() and vm.error
    vm.remove_instance("members", 2)
    assert vm.next() and vm.page == 3
    vm.set_answer("has_account", "no")
    assert vm.next() and step_of(vm) is Step.MATERIALS
    assert vm.case is not None
    case = store.get(vm.case["_id"])
    assert case["form"]["id"] == "JZ-001" and case["form"]["version"] == definition("JZ-001")["version"]
    assert case["answers"]["household_size"] == 3 and case["answers"]["applicant_income"] == 300
    assert [m["member_name"] for m in case["answers"]["members"]] == ["李桂兰", "王小明"]
    assert case["answers"]["total_income"] == 1500.5 and case["answers"]["per_capita_income"] == 500.17
    form = form_from_json(definition("JZ-001"))
    assert validate_answers(form, case["answers"], today=TODAY, complete=True) == []
    # back from materials lands on the form's last page
    vm.back()
    assert vm.step is Step.FORM and vm.page == 3


def test_the_draft_keeps_answers_and_resumes_on_the_form(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    vm = make_vm(store)
    to_form(vm)
    fill_household(vm)
    assert vm.next() and vm.page == 1
    vm.set_answer("applicant_income", "250")
    again = make_vm(store)
    again.resume(vm.case["_id"])  # type: ignore[index]
    assert again.step is Step.FORM and again.page == 1
    assert again.answer("household_size") == 3 and again.answer("applicant_income") == 250


def test_an_item_without_a_form_goes_from_applicant_to_materials(tmp_path: Path) -> None:
    vm = make_vm(make_store(tmp_path))
    vm.choose_item("JZ-002")
    vm.choose_situation(vm.item.situations[0].code)  # type: ignore[union-attr]
    vm.set_applicant(name="王秀英", id_number=id_number(), phone="")
    assert vm.next() and vm.step is Step.MATERIALS and vm.filling is None
    vm.back()
    assert step_of(vm) is Step.APPLICANT


def test_earlier_answers_of_the_same_citizen_are_prefilled_and_marked(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    first = make_vm(store)
    to_form(first)
    fill_household(first)
    first.next()
    first.set_answer("applicant_income", "300")
    first.set_answer("applicant_health", "chronic")
    first.set_answer("applicant_work", "farming")
    first.next()
    first.add_instance("members")
    first.set_answer("member_name", "李桂兰", 0)
    # the same citizen in a new case: answers offered, marked, and the mark goes once changed
    second = make_vm(store)
    to_form(second)
    assert second.case["_id"] != first.case["_id"]  # type: ignore[index]
    assert second.answer("household_size") == 3 and second.prefilled("household_size")
    assert second.answer("member_name", 0) == "李桂兰" and second.prefilled("members")
    second.set_answer("household_size", "4")
    assert not second.prefilled("household_size") and second.prefilled("housing")
    # another citizen gets nothing
    other = make_vm(store)
    to_form(other, id_number(555))
    assert other.answer("household_size") is None and not other.prefilled("household_size")


def test_the_form_is_read_from_the_pulled_catalog(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    stored = definition("JZ-001")
    version = stored["version"]
    assert load_form(store.get, "JZ-001", "first") is None  # nothing pulled yet: no form, no crash
    store.put({"_id": f"form:JZ-001@{version}", "type": "form", "definition": stored})
    store.put({"_id": "item-form:JZ-001", "type": "item_form", "form_id": "JZ-001", "version": version})
    form = load_form(store.get, "JZ-001", "first")
    assert form is not None and form.version == version


STROKES = [[(40.0 + i * 10, 80.0) for i in range(20)], [(140.0, 30.0 + i * 8) for i in range(15)]]


def fill_whole_form(vm: WizardViewModel) -> None:
    """The 低保 form with two household members, page by page, up to the materials."""
    fill_household(vm)
    assert vm.next()
    vm.set_answer("applicant_income", "300")
    vm.set_answer("applicant_health", "chronic")
    vm.set_answer("applicant_work", "farming")
    assert vm.next()
    for n, (name, relation) in enumerate([("李桂兰", "spouse"), ("王小明", "child")]):
        vm.add_instance("members")
        for field, value in (("member_name", name), ("member_id", id_number(300 + n, date(1990, 1, 1))),
                             ("relation", relation), ("member_health", "healthy"), ("member_work", "unable"),
                             ("member_income", "0")):
            vm.set_answer(field, value, n)
    assert vm.next()
    vm.set_answer("has_account", "no")
    assert vm.next() and vm.step is Step.MATERIALS


def test_submitting_stores_the_filled_application_form_as_its_material(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    vm = make_vm(store)
    to_form(vm)
    fill_whole_form(vm)
    assert "application" not in [r.code for r in vm.missing]  # made from the answers, not brought
    assert vm.next() and vm.next() and vm.sign(STROKES, 400, 200) and vm.next()
    assert vm.submit()
    case = store.get(vm.case["_id"])  # type: ignore[index]
    entry = next(e for e in case["materials"] if e["requirement"] == "application")
    assert entry["source"] == "generated" and "application" not in case["missing"]
    material = store.get(entry["material_id"])
    assert material["kind"] == "application_form" and material["division"]["village"] == VILLAGE
    pdf = store.get_attachment(material["_id"], "form.pdf")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    text = re.sub(r"[\s\x00]+", "", text)
    assert case["tracking_code"] in text and "王秀英" in text and "王小明" in text
    assert store.get_attachment(material["_id"], "form.png").startswith(b"\x89PNG")
    assert vm.thumbnail(entry["material_id"])  # shown like a scan on the screens that list materials
    # Staff (and the agent) print it from the case screen, named after the tracking code.
    detail = CaseDetailViewModel(make_book(store), vm.items, T, today=lambda: TODAY,
                                 deadline_of=lambda start, days: start + timedelta(days=days))
    detail.load(case["_id"])
    assert detail.document_pdf(entry["material_id"]) == (f"申请表-{case['tracking_code']}.pdf", pdf)
    assert detail.document_pdf("material:01JNOTHERE00000000000000000") is None  # nothing to print


@pytest.mark.parametrize("item_code", FORM_ITEMS)
def test_every_shipped_form_is_filled_through_the_form_step(tmp_path: Path, item_code: str) -> None:
    """Each shipped item's form, filled the way the screen does (typed text, picked choices,
    household members added one by one), reaches the materials with the answers saved."""
    sample = sample_answers(item_code, TODAY)
    assert sample is not None
    vm = make_vm(make_store(tmp_path), shipped_forms)
    vm.choose_item(item_code)
    item = vm.item
    assert item is not None
    vm.choose_situation(item.situations[0].code)
    vm.set_applicant(name="王秀英", id_number=id_number(), phone="13912345678")
    assert vm.next() and step_of(vm) is Step.FORM
    assert vm.filling is not None
    form = vm.filling.form
    typed = {name: value for name, value in sample.items()
             if form.field(name).type not in (FieldType.CALCULATE, FieldType.REPEAT)}
    repeats = {name: value for name, value in sample.items() if form.field(name).type is FieldType.REPEAT}
    pages = 0
    while step_of(vm) is Step.FORM:
        pages += 1
        assert pages <= 20, vm.error
        for _ in range(2):  # twice: a rule may name an answer typed after it
            for name, value in typed.items():
                vm.set_answer(name, value if isinstance(value, list) else str(value))
        for repeat, members in repeats.items():
            while vm.filling.instances(repeat) < len(members):
                vm.add_instance(repeat)
            for n, member in enumerate(members):
                for name, value in member.items():
                    if form.field(name).type is not FieldType.CALCULATE:
                        vm.set_answer(name, value if isinstance(value, list) else str(value), n)
        assert vm.next(), (item_code, vm.error)
    assert step_of(vm) is Step.MATERIALS and vm.case is not None
    case = vm.book.store.get(vm.case["_id"])
    assert case["form"]["id"] == item_code
    assert validate_answers(form, case["answers"], today=TODAY, complete=True) == []


def row_of(vm: WizardViewModel, code: str) -> MaterialRow:
    return next(r for r in vm.material_rows() if r.requirement.code == code)


def test_the_form_line_is_made_from_the_form_not_brought(tmp_path: Path) -> None:
    """Filled at the form step: the 申请表's line is received from the form at once, so neither
    the one-time notice nor the review asks the citizen to bring the paper just filled in."""
    store = make_store(tmp_path)
    vm = make_vm(store, can_make_form=lambda: True)
    to_form(vm)
    fill_whole_form(vm)
    row = row_of(vm, "application")
    assert row.received and row.generated and not row.material_id and not row.note
    assert [r.code for r in vm.missing] == ["id_card", "hukou", "income_statement", "check_authorization",
                                           "bank_card"]
    summary = dict(vm.summary())
    assert "最低生活保障申请书" in summary[T("material_ok")]
    assert "最低生活保障申请书" not in summary[T("material_missing")]
    assert vm.next() and vm.step is Step.NOTICE  # the notice is fixed in the draft without it
    assert "application" not in store.get(vm.case["_id"])["missing"]  # type: ignore[index]
    # An item without a form keeps its paper application form a material to bring
    (tmp_path / "other").mkdir()
    other = make_vm(make_store(tmp_path / "other"), can_make_form=lambda: True)
    other.choose_item("JZ-002")
    other.choose_situation(other.item.situations[0].code)  # type: ignore[union-attr]
    other.set_applicant(name="王秀英", id_number=id_number(), phone="")
    assert other.next() and other.step is Step.MATERIALS
    assert all(not r.generated for r in other.material_rows())
    assert other.form_line == ""


def test_without_a_cjk_font_the_paper_form_is_still_asked_for(tmp_path: Path) -> None:
    """A device that cannot make the PDF (no Chinese font): the line stays missing and says why,
    the notice and the review list it, and submit stores what the screens said."""
    store = make_store(tmp_path)
    vm = make_vm(store, can_make_form=lambda: False)
    to_form(vm)
    fill_whole_form(vm)
    row = row_of(vm, "application")
    assert not row.received and not row.generated and row.note == T("form_not_made")
    assert "中文字体" in row.note and "paper form" in row.note
    assert "application" in [r.code for r in vm.missing]
    assert "最低生活保障申请书" in dict(vm.summary())[T("material_missing")]
    assert vm.next() and vm.next() and vm.sign(STROKES, 400, 200) and vm.next()
    assert vm.submit()
    case = store.get(vm.case["_id"])  # type: ignore[index]
    assert "application" in case["missing"]
    assert all(e["source"] != "generated" for e in case["materials"])


def test_without_a_font_a_photo_of_the_paper_form_meets_the_line(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    vm = make_vm(store, can_make_form=lambda: False)
    to_form(vm)
    fill_whole_form(vm)
    assert vm.add_scan("application", jpeg_bytes(text_page()))
    row = row_of(vm, "application")
    assert row.received and row.source == "captured" and not row.note
    assert "application" not in [r.code for r in vm.missing]
