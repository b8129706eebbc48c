"""The form step's screen in a client-less Flet session: a pulled form shown one group per
screen, a wrong answer's message under its field as it is typed, choices as big buttons,
household members added and removed."""

from __future__ import annotations

from pathlib import Path

import flet as ft

from mobile.app import make_main
from mobile.viewmodels.context import AppContext
from mobile.viewmodels.wizard import Step
from tests.unit.mobile.factories import id_number
from tests.unit.mobile.fakes import sign_in_with_pin
from tests.unit.mobile.flet_harness import Harness
from tests.unit.mobile.test_viewmodels_wizard_form import definition
from tests.unit.mobile.test_views_app import make_context


def pull_form(ctx: AppContext, item: str) -> None:
    """ot-catalog as a device holds it after a pull: the form version and the item's pointer."""
    stored = definition(item)
    version = stored["version"]
    ctx.catalog_store.put({"_id": f"form:{item}@{version}", "type": "form", "definition": stored})
    pointer = {"_id": f"item-form:{item}", "type": "item_form", "form_id": item, "version": version}
    ctx.catalog_store.put(pointer)


async def test_the_form_step_shows_messages_choices_and_members(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    await sign_in_with_pin(ctx)
    pull_form(ctx, "JZ-001")
    draft = ctx.wizard()
    draft.choose_item("JZ-001")
    draft.choose_situation("first")
    draft.set_applicant(name="王秀英", id_number=id_number(), phone="")
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
