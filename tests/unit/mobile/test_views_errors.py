"""Form errors next to what caused them, scrolled to, focused and announced (issue 17 item 5);
the forgotten-PIN reset; the staff's labelled shortcuts. Client-less Flet session, no browser."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import flet as ft
from flet.messaging.protocol import MessageAction

from mobile.app import make_main
from mobile.config import load_config
from mobile.viewmodels.context import AppContext
from mobile.viewmodels.sync import DatabaseProgress, SyncSnapshot
from tests.unit.mobile.factories import make_case
from tests.unit.mobile.fakes import AGENT, STAFF, FakeAuth, sign_in_with_pin
from tests.unit.mobile.flet_harness import Harness


async def staff_on_a_submitted_case(tmp_path: Path) -> tuple[Harness, AppContext]:
    config = replace(load_config(environ={}), data_dir=tmp_path, server_url="http://127.0.0.1:9")
    ctx = AppContext(config, auth=FakeAuth(account=STAFF))
    ctx.session.username, ctx.session.password = "staff1", "secret-pw"
    assert await ctx.session.sign_in()
    ctx.session.pin = ctx.session.pin_confirm = "135790"
    assert ctx.session.set_pin()
    case = make_case(ctx.book(), item_code="SB-001", situation="self", status="submitted")
    h = Harness()
    await h.start(make_main(lambda: ctx, background_sync=False))
    h.page.data.go(f"/case/{case['_id']}")
    return h, ctx


def calls(h: Harness, since: int) -> list[Any]:
    return [m.body for m in h.conn.sent[since:] if m.action == MessageAction.INVOKE_METHOD]


async def test_reject_without_reason_shows_the_error_under_its_form(tmp_path: Path) -> None:
    h, _ = await staff_on_a_submitted_case(tmp_path)
    view, sent = h.view, len(h.conn.sent)
    await h.click(h.by_id("action-rejected").content)
    assert h.view is view  # the form stays: a rebuilt screen would start at its top
    slot = h.by_id("error-rejected")
    assert slot.live_region and slot.label is not None and "请填写原因" in slot.label
    form = slot.parent
    assert isinstance(form, ft.Column)
    around = form.controls[form.controls.index(slot) - 1 : form.controls.index(slot) + 2]
    assert isinstance(around[0], ft.TextField) and around[2] is h.by_id("action-rejected")
    invoked = calls(h, sent)
    assert [m.name for m in invoked] == ["scroll_to", "focus"]
    assert invoked[0].args["scroll_key"] == "error-rejected"
    assert invoked[1].control_id == around[0]._i  # the cursor goes to the reason field
    # The screen's own message line stays empty: the error is said once, by its form.
    assert sum("请填写原因" in t for t in h.texts()) == 1


async def test_request_with_nothing_ticked_says_so_beside_the_checklist(tmp_path: Path) -> None:
    h, _ = await staff_on_a_submitted_case(tmp_path)
    await h.click(h.by_id("action-needs_materials").content)
    slot = h.by_id("error-needs_materials")
    assert slot.label and "请至少勾选一项" in slot.label and "Tick at least one" in slot.label
    assert slot.live_region
    # Ticking one and asking again works, and the error goes with the rebuilt screen.
    box = next(c for c in h.controls() if isinstance(c, ft.Checkbox) and not c.disabled)
    h.session.apply_patch(box._i, {"value": True})
    await h.click(h.by_id("action-needs_materials").content)
    assert not any("请至少勾选" in t for t in h.texts())
    assert h.page.data.vm.case["status"] == "needs_materials"


async def test_applicant_step_puts_the_error_under_the_field(tmp_path: Path) -> None:
    config = replace(load_config(environ={}), data_dir=tmp_path, server_url="http://127.0.0.1:9")
    ctx = AppContext(config, auth=FakeAuth())
    await sign_in_with_pin(ctx)
    h = Harness()
    await h.start(make_main(lambda: ctx, background_sync=False))
    shell = h.page.data
    shell.go("/new")
    shell.vm.choose_item("MZ-001")
    shell.refresh()
    await h.session.after_event(h.page)
    view, sent = h.view, len(h.conn.sent)
    h.type("姓名 Name", "王秀英")
    await h.click(h.button("下一步 Next"))
    assert h.view is view
    slot = h.by_id("error-id_number")
    assert slot.live_region and slot.label and "身份证" in slot.label
    assert not h.by_id("error-name").label
    focused = [m for m in calls(h, sent) if m.name == "focus"]
    assert [m.control_id for m in focused] == [h.field("身份证号 ID number")._i]


async def test_forgotten_pin_leads_to_signing_in_again(tmp_path: Path) -> None:
    first = AppContext(
        replace(load_config(environ={}), data_dir=tmp_path, server_url="http://127.0.0.1:9"), auth=FakeAuth()
    )
    await sign_in_with_pin(first)
    ctx = AppContext(
        replace(load_config(environ={}), data_dir=tmp_path, server_url="http://127.0.0.1:9"), auth=FakeAuth()
    )
    h = Harness()
    await h.start(make_main(lambda: ctx, background_sync=False))
    assert h.view.route == "/unlock"
    await h.click(h.by_id("forgot-pin").content)
    assert h.view.route == "/login" and h.field("用户名 Username").read_only
    assert h.field("用户名 Username").value == AGENT.username
    h.type("密码 Password", "secret-pw")
    await h.click(h.button("登录 Sign in"))
    assert h.view.route == "/set-pin"


async def test_staff_shortcuts_have_words_and_the_name_has_room(tmp_path: Path) -> None:
    h, _ = await staff_on_a_submitted_case(tmp_path)
    h.page.data.go("/")
    labels = {ident: h.by_id(ident).label for ident in ("open-reviews", "open-supervision", "open-delivery")}
    assert labels == {"open-reviews": "冲突审核 Conflicts", "open-supervision": "电子监察 Supervision",
                      "open-delivery": "送达确认 Delivery"}
    texts = h.texts()
    assert all(label in texts for label in labels.values())  # written on screen, not only read out
    assert "设置" in texts
    appbar = h.view.appbar
    assert isinstance(appbar, ft.AppBar) and appbar.actions is not None and len(appbar.actions) == 1
    # The name on a line of its own under "办件 Cases": whole on a 360 px screen, not cut off.
    title = appbar.title
    assert isinstance(title, ft.Semantics) and isinstance(title.content, ft.Column)
    assert [c.value for c in title.content.controls if isinstance(c, ft.Text)] == ["办件 Cases", "王站长"]


async def test_sync_screen_names_villages_not_databases(tmp_path: Path) -> None:
    config = replace(load_config(environ={}), data_dir=tmp_path, server_url="http://127.0.0.1:9")
    ctx = AppContext(config, auth=FakeAuth())
    await sign_in_with_pin(ctx)
    dbs = (DatabaseProgress("ot-v-330212001001", docs_pushed=2), DatabaseProgress("ot-catalog"))
    ctx.sync.update(SyncSnapshot(databases=dbs))
    h = Harness()
    await h.start(make_main(lambda: ctx, background_sync=False))
    h.page.data.go("/sync")
    texts = h.texts()
    assert "青山村(示例)" in texts and "事项目录 Service catalog" in texts  # assets/divisions.json
    assert not any("ot-v-" in t or "ot-catalog" in t for t in texts)
    h.page.data.go("/settings")
    texts = h.texts()
    assert "李代办 · 村代办员 Village agent" in texts and "青山村(示例)" in texts
    assert not any("village_agent" in t or "330212001001" in t for t in texts)


async def test_wrong_pin_and_password_are_said_beside_the_field_which_gets_the_cursor(tmp_path: Path) -> None:
    config = replace(load_config(environ={}), data_dir=tmp_path, server_url="http://127.0.0.1:9")
    ctx = AppContext(config, auth=FakeAuth())
    h = Harness()
    await h.start(make_main(lambda: ctx, background_sync=False))
    view, sent = h.view, len(h.conn.sent)
    h.type("用户名 Username", "agent1")
    await h.click(h.button("登录 Sign in"))  # no password
    assert h.view is view and "请填写" in (h.by_id("error-login").label or "")
    password = h.field("密码 Password")
    assert [m.control_id for m in calls(h, sent) if m.name == "focus"] == [password._i]
    await sign_in_with_pin(ctx)
    ctx.session.lock()
    h.page.data.go("/")
    view, sent = h.view, len(h.conn.sent)
    h.type("解锁密码 PIN", "000000")
    await h.click(h.button("解锁 Unlock"))
    pin = h.field("解锁密码 PIN")
    assert h.view is view and "还可以试" in (h.by_id("error-pin").label or "") and pin.value == ""
    assert [m.control_id for m in calls(h, sent) if m.name == "focus"] == [pin._i]
