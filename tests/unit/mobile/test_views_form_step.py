"""The form step's screen in a client-less Flet session: a pulled form shown one group per
screen, a wrong answer's message under its field as it is typed, choices as big buttons,
household members added and removed."""

from __future__ import annotations

from pathlib import Path

import flet as ft
import pytest

from mobile.app import make_main
from mobile.viewmodels import wizard
from mobile.viewmodels.context import AppContext
from mobile.viewmodels.wizard import Step, WizardViewModel
from tests.unit.mobile.factories import id_number
from tests.unit.mobile.fakes import sign_in_with_pin
from tests.unit.mobile.flet_harness import Harness
from tests.unit.mobile.test_viewmodels_wizard_form import definition, fill_whole_form
from tests.unit.mobile.test_views_app import make_context


def pull_form(ctx: AppContext, item: str) -> None:
    """ot-catalog as a device holds it after a pull: the form version and the item's pointer."""
    stored = definition(item)
    version = stored["version"]
    ctx.catalog_store.put({"_id": f"form:{item}@{version}", "type": "form", "definition": stored})
    pointer = {"_id": f"item-form:{item}", "type": "item_form", "form_id": item, "version": version}
    ctx.catalog_store.put(pointer)


async def dibao_draft(tmp_path: Path) -> tuple[AppContext, WizardViewModel]:
    """A signed-in app with the 低保 (JZ-001) form pulled, and a draft at its applicant filled in."""
    ctx = make_context(tmp_path)
    await sign_in_with_pin(ctx)
    pull_form(ctx, "JZ-001")
    draft = ctx.wizard()
    draft.choose_item("JZ-001")
    draft.choose_situation("first")
    draft.set_applicant(name="王秀英", id_number=id_number(), phone="")
    return ctx, draft


async def test_the_form_step_shows_messages_choices_and_members(tmp_path: Path) -> None:
    ctx, draft = await dibao_draft(tmp_path)
    h = Harness()
    await h.start(make_main(lambda: ctx, background_sync=False))
    shell = h.page.data
    shell.go(f"/new/{draft.case['_id']}")  # type: ignore[index]
    await h.session.after_event(h.page)
    assert shell.vm.step is Step.FORM  # resumed where the draft stopped: its form
    assert isinstance(h.by_id("wizard-form"), ft.Semantics)
    assert any("家庭基本情况" in t for t in h.texts())
    # a wrong number: its message under the field at once, the field keeps its place
    label = "共同生活家庭人口数 People living in the household *"
    field = h.field(label)
    await h.change(label, "三")
    assert "整数" in (h.by_id("error-q-household_size").label or "")
    assert h.field(label) is field
    await h.change(label, "2")
    assert not h.by_id("error-q-household_size").label
    # a choice is a big button; picking it marks it
    await h.click(h.by_id("q-residence-rural").content)
    assert any(t.startswith("✓ 农村户籍") for t in h.texts())
    # Next with required questions empty: each says so under itself
    await h.click(h.button("下一步 Next"))
    assert "必填" in (h.by_id("error-q-housing").label or "")
    await h.click(h.by_id("q-housing-own").content)
    await h.click(h.by_id("q-hardship_reasons-illness").content)
    await h.click(h.by_id("q-hardship_reasons-disability").content)
    assert shell.vm.answer("hardship_reasons") == ["illness", "disability"]
    await h.click(h.button("下一步 Next"))
    assert any("申请人情况" in t for t in h.texts())
    await h.change("申请人月收入（元） Applicant's monthly income (yuan) *", "300")
    await h.click(h.by_id("q-applicant_health-healthy").content)
    await h.click(h.by_id("q-applicant_work-farming").content)
    await h.click(h.button("下一步 Next"))
    # the household members: add two, remove one
    assert any("还没有添加" in t for t in h.texts())
    add = h.by_id("add-members").content
    await h.click(add)
    await h.click(h.by_id("add-members").content)
    assert isinstance(h.by_id("members-1"), ft.Semantics)
    await h.click(h.by_id("remove-members-1").content)
    assert shell.vm.filling.instances("members") == 1
    assert not any(c.identifier == "members-1" for c in h.controls() if isinstance(c, ft.Semantics))


def idents(h: Harness) -> set[str]:
    return {str(c.identifier) for c in h.controls() if isinstance(c, ft.Semantics) and c.identifier}


def state_of(h: Harness, code: str) -> str:
    """A material line's state as written under its name."""
    text = h.by_id(f"material-state-{code}").content
    assert isinstance(text, ft.Text)
    return str(text.value)


async def at_materials_after_the_form(tmp_path: Path) -> Harness:
    """The app opened on a draft of the 低保 item whose form was just filled in."""
    ctx, draft = await dibao_draft(tmp_path)
    assert draft.next() and draft.step is Step.FORM
    fill_whole_form(draft)
    h = Harness()
    await h.start(make_main(lambda: ctx, background_sync=False))
    h.page.data.go(f"/new/{draft.case['_id']}")  # type: ignore[index]
    await h.session.after_event(h.page)
    assert h.page.data.vm.step is Step.MATERIALS
    return h


async def test_the_form_line_shows_made_from_the_form_and_the_notice_leaves_it_out(tmp_path: Path) -> None:
    h = await at_materials_after_the_form(tmp_path)
    assert h.page.data.vm.can_make_form()  # this machine has a CJK font (the app's own subset)
    assert state_of(h, "application") == "✓ 由表单生成 Made from the form · 必需 Required"
    shown = idents(h)
    assert "photo-application" not in shown and "pick-application" not in shown  # nothing to photograph
    assert "material-note-application" not in shown
    assert {"photo-id_card", "pick-id_card"} <= shown  # the other lines still want their papers
    await h.click(h.button("下一步 Next"))
    assert isinstance(h.by_id("wizard-notice"), ft.Semantics)
    texts = h.texts()
    assert not any("最低生活保障申请书" in t for t in texts)
    assert any(t.startswith("1. 申请人及共同生活家庭成员居民身份证") for t in texts)


async def test_without_a_cjk_font_the_form_line_says_why_and_the_notice_lists_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wizard, "cjk_font_path", lambda: None)  # a phone without a Chinese font
    h = await at_materials_after_the_form(tmp_path)
    assert state_of(h, "application") == "× 未收 Missing · 必需 Required"
    assert isinstance(h.by_id("material-note-application"), ft.Semantics)
    why = "本机没有中文字体，生成不了申请表：请收纸质申请表"
    because = "No Chinese font on this device, so the form cannot be made: collect the paper form"
    assert f"{why} {because}" in h.texts()
    assert {"photo-application", "pick-application"} <= idents(h)  # the paper form is photographed
    await h.click(h.button("下一步 Next"))
    assert any(t.startswith("1. 最低生活保障申请书") for t in h.texts())
