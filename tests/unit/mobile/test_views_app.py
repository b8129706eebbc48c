"""The Flet screens in a client-less session (tests/unit/mobile/flet_harness.py): sign in
online, set the PIN, open the wizard, and the refusal of a wrong PIN — no browser."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import flet as ft
from flet.messaging.protocol import MessageAction

from mobile.app import make_main
from mobile.config import load_config
from mobile.viewmodels.context import AppContext
from mobile.viewmodels.staff import SupervisionViewModel
from mobile.viewmodels.sync import SyncSnapshot
from mobile.views import staff as staff_views
from mobile.views.case_detail import _checked_line
from tests.unit.mobile.factories import make_case
from tests.unit.mobile.fakes import FakeAuth, sign_in_with_pin
from tests.unit.mobile.flet_harness import Harness


def make_context(tmp_path: Path) -> AppContext:
    config = replace(load_config(environ={}), data_dir=tmp_path, server_url="http://127.0.0.1:9")
    ctx = AppContext(config, auth=FakeAuth())
    return ctx


async def test_first_sign_in_pin_and_home(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    h = Harness()
    await h.start(make_main(lambda: ctx, background_sync=False))
    assert h.view.route == "/login"
    h.type("用户名 Username", "agent1")
    h.type("密码 Password", "wrong")
    await h.click(h.button("登录 Sign in"))
    assert any("密码" in t for t in h.texts())
    h.type("密码 Password", "secret-pw")
    await h.click(h.button("登录 Sign in"))
    assert h.view.route == "/set-pin"
    h.type("解锁密码 PIN", "135790")
    h.type("再输一次 PIN again", "135790")
    await h.click(h.button("保存 Save"))
    assert h.view.route == "/"
    assert h.by_id("case-list") is not None
    assert any("从未同步" in t for t in h.texts())
    await h.click(h.button("新建申请 New application"))
    assert h.view.route == "/new"
    assert isinstance(h.by_id("wizard-item"), ft.Semantics)


async def test_wrong_pin_stays_locked(tmp_path: Path) -> None:
    first = make_context(tmp_path)
    first.session.username, first.session.password = "agent1", "secret-pw"
    assert await first.session.sign_in()
    first.session.pin = first.session.pin_confirm = "135790"
    assert first.session.set_pin()
    ctx = make_context(tmp_path)
    h = Harness()
    await h.start(make_main(lambda: ctx, background_sync=False))
    assert h.view.route == "/unlock"
    h.type("解锁密码 PIN", "000000")
    await h.click(h.button("解锁 Unlock"))
    assert h.view.route == "/unlock" and any("还可以试" in t for t in h.texts())
    h.type("解锁密码 PIN", "135790")
    await h.click(h.button("解锁 Unlock"))
    assert h.view.route == "/"


async def test_language_switch_and_guarded_sign_out(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    await sign_in_with_pin(ctx)
    wizard = ctx.wizard()
    wizard.choose_item("SB-001")  # a draft: unsynced work on the phone
    h = Harness()
    await h.start(make_main(lambda: ctx, background_sync=False))
    shell = h.page.data
    shell.go("/settings")
    await h.click(h.button("English 中文"))
    assert "Sign out" in h.texts() and not any("退出" in t for t in h.texts())
    assert ctx.items[0].name == "Enrolment in the basic pension insurance for urban and rural residents"
    await h.click(h.button("Sign out"))
    assert any("not synced" in t for t in h.texts()) and ctx.session.account is not None
    await h.click(h.button("Sign out and delete anyway"))
    assert h.view.route == "/login" and ctx.session.account is None


async def test_a_chosen_filter_is_scrolled_into_sight(tmp_path: Path) -> None:
    """Tapping a filter chip selects it, lists its cases and scrolls the chip line to it (the
    screen back to its top, which scrolling to a chip also moves)."""
    ctx = make_context(tmp_path)
    await sign_in_with_pin(ctx)
    make_case(ctx.book(), item_code="SB-001", status="submitted")
    h = Harness()
    await h.start(make_main(lambda: ctx, background_sync=False))
    line = h.by_id("filter-finished").parent
    assert isinstance(line, ft.Row) and line.scroll and not line.wrap
    sent = len(h.conn.sent)
    chip = h.by_id("filter-finished").content
    assert isinstance(chip, ft.Chip)
    await h.session.dispatch_event(chip._i, "select", True)
    chosen = h.by_id("filter-finished").content
    assert isinstance(chosen, ft.Chip) and chosen.selected
    assert any("没有办件" in t for t in h.texts())  # no finished case yet
    scrolls = [m.body for m in h.conn.sent[sent:] if m.action == MessageAction.INVOKE_METHOD]
    assert [(m.name, m.args["scroll_key"], m.args["offset"]) for m in scrolls] == [
        ("scroll_to", "finished", None),
        ("scroll_to", None, 0),
    ]
    assert scrolls[0].control_id == line._i  # the same line, changed in place


async def test_case_search_filters_as_the_agent_types(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    await sign_in_with_pin(ctx)
    make_case(ctx.book(), item_code="SB-001", status="submitted", tracking_code="Q3RT-BW8K-7HNC",
              applicant={"name": "张德福", "id_number": "", "phone": ""})
    make_case(ctx.book(), item_code="SB-001", status="submitted", tracking_code="K7QM-9XRT-2HNC",
              applicant={"name": "李四", "id_number": "", "phone": ""})
    h = Harness()
    await h.start(make_main(lambda: ctx, background_sync=False))
    label = "搜索姓名、拼音、身份证号、查询码 Name, pinyin, ID, code"
    field = h.field(label)
    assert any("李四" in t for t in h.texts())
    for text in ("zhangdefu", "BW8K"):  # no Enter pressed
        await h.change(label, text)
        assert any("张德福" in t for t in h.texts()) and not any("李四" in t for t in h.texts()), text
    assert h.field(label) is field  # the same field: it keeps its focus


async def test_a_long_sync_error_keeps_the_bar_to_two_lines(tmp_path: Path) -> None:
    """A server's long reason gets the bar's second line, cut to one line with "…" (the sync screen
    shows all of it): the bar stays two lines and the list keeps its room."""
    ctx = make_context(tmp_path)
    await sign_in_with_pin(ctx)
    reason = "服务器拒绝了本次同步请求，请联系乡镇管理员 The server refused this sync: ask the township " * 2
    ctx.sync.update(SyncSnapshot(error=reason))
    h = Harness()
    await h.start(make_main(lambda: ctx, background_sync=False))
    texts = [c for c in h.controls() if isinstance(c, ft.Text) and c.value]
    head = next(t for t in texts if t.value.startswith("同步失败"))
    detail = next(t for t in texts if t.value == reason)  # whole, for the screen reader
    for line in (head, detail):
        assert line.max_lines == 1 and line.overflow == ft.TextOverflow.ELLIPSIS


async def test_a_missing_material_line_wraps_and_toggles_when_tapped() -> None:
    """On the township screen each material of a 补正 request is a checkbox beside a wrapping
    name (a Checkbox's own label is cut off at the edge of a 360 px phone); the whole line is
    the tap target."""
    box = ft.Checkbox(data="income_statement")
    name = "家庭经济状况声明 Household income statement (signed by every adult)"
    line = _checked_line(box, name)
    h = Harness()
    await h.start(lambda page: page.add(line))
    [label] = [c for c in h.controls() if isinstance(c, ft.Text) and c.value == name]
    assert label.expand and label.no_wrap is not True
    await h.click(line)
    assert box.value is True
    await h.click(line)
    assert box.value is False


async def test_a_material_already_missing_stays_ticked_when_tapped() -> None:
    """A material the agent marked missing at intake comes ticked and locked in the request
    for materials: tapping its line does not take it off the one-time notice."""
    box = ft.Checkbox(data="hukou", value=True, disabled=True)
    line = _checked_line(box, "户口簿 Household register（已在告知单上）")
    h = Harness()
    await h.start(lambda page: page.add(line))
    await h.click(line)
    assert box.value is True


async def test_item_search_filters_as_the_agent_types(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    await sign_in_with_pin(ctx)
    h = Harness()
    await h.start(make_main(lambda: ctx, background_sync=False))
    await h.click(h.button("新建申请 New application"))
    field = h.field("搜索事项 Search items")
    everything = len(list(_item_choices(h)))
    await h.change("搜索事项 Search items", "gaoling")  # no Enter pressed
    shown = [c.label or "" for c in _item_choices(h)]  # _item_choices keeps labelled ones only
    assert shown and len(shown) < everything and all("高龄" in label for label in shown)
    assert h.field("搜索事项 Search items") is field  # the same field: it keeps its focus
    await h.change("搜索事项 Search items", "zzzzzz")
    assert not list(_item_choices(h)) and any("没有找到" in t for t in h.texts())


def _item_choices(h: Harness) -> list[ft.Semantics]:
    results = h.by_id("item-results")
    return [c for c in h.controls() if isinstance(c, ft.Semantics) and c.button and c.label
            and _inside(results, c)]


def _inside(parent: ft.Control, control: ft.Control) -> bool:
    stack: list[object] = [parent]
    while stack:
        node = stack.pop()
        if node is control:
            return True
        content = getattr(node, "content", None)
        if isinstance(content, ft.Control):
            stack.append(content)
        stack.extend(getattr(node, "controls", None) or [])
    return False


class _StaffNav:
    """The app shell as the supervision screen uses it: re-render on refresh, record routes."""

    def __init__(self, page: ft.Page, vm: SupervisionViewModel) -> None:
        self.page, self.vm, self.routes = page, vm, list[str]()

    def render(self) -> None:
        self.page.views.clear()
        # A stand-in for the app's navigator, with only what the supervision screen uses.
        self.page.views.append(staff_views.supervision(self, self.vm))  # type: ignore[arg-type]

    def refresh(self) -> None:
        self.render()

    def go(self, route: str) -> None:
        self.routes.append(route)


async def test_a_supervision_figure_opens_its_cases_and_a_case_opens_its_detail() -> None:
    # No staff API: the test sets `vm.data` itself.
    vm = SupervisionViewModel(lambda: None, "330212001")  # type: ignore[arg-type, return-value]
    vm.data = {
        "overdue": [{"case_id": "case:01RED"}], "due_soon": [], "villages": {}, "staff": {},
        "satisfaction": {},
        "cases": [{"case_id": "case:01RED", "village": "330212001001", "item_code": "JZ-001",
                   "deadline": "2026-11-20", "status": "accepted", "state": "open", "card": "red"}],
    }
    h = Harness()
    nav = _StaffNav(h.page, vm)
    await h.start(lambda page: nav.render())
    assert "红牌（超期）Red: overdue" in h.texts() and "1" in h.texts()  # the figure stays readable text
    await h.click(h.by_id("figure-red").content)
    drill = h.by_id("drill-red")
    assert any("JZ-001" in t for t in h.texts()) and any("红牌 Red" in t for t in h.texts())
    row = next(c for c in h.controls() if isinstance(c, ft.Container) and c.on_click is not None
               and c in list(_descendants(drill)))
    await h.click(row)
    assert nav.routes == ["/case/case:01RED"]
    await h.click(h.by_id("figure-red").content)  # closes again
    assert not any("JZ-001" in t for t in h.texts())


def _descendants(control: ft.BaseControl) -> list[ft.BaseControl]:
    found, stack = [], [control]
    while stack:
        c = stack.pop()
        found.append(c)
        for name in ("content",):
            child = getattr(c, name, None)
            if isinstance(child, ft.BaseControl):
                stack.append(child)
        children = getattr(c, "controls", None)
        if isinstance(children, list):
            stack.extend(children)
    return found
