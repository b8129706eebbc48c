"""County operator's home (县级首页): results to send back, dead letters with retry, hand-offs."""

from __future__ import annotations

from typing import Any

import flet as ft

from mobile.viewmodels.county import CountyViewModel, HandOff
from mobile.views import ui
from mobile.views.nav import Nav


def build(nav: Nav, vm: CountyViewModel) -> ft.View:
    body: list[ft.Control] = [ui.message(vm.error), ui.message(vm.message, kind="ok")]
    if not vm.loaded and not vm.error:
        body.append(ui.text("正在读取… Loading…", color=ui.MUTED))
    if vm.loaded:
        counts = ui.text(vm.counts(), 15, color=ui.MUTED)
        body.append(ft.Semantics(identifier="county-counts", content=counts))
        body.append(_section("county-results", "结果待送回村 Results to send back", vm.results(),
                             lambda e: _result(e), "没有待送回的结果 Nothing to send back"))
        body.append(_section("county-dead", "推送失败 Dead letters", vm.dead_letters(),
                             lambda e: _dead(nav, vm, e), "没有推送失败 No failed hand-offs"))
        body.append(_section("county-handoffs", "已移交县级 Handed off", vm.handed_off(),
                             lambda e: _handoff(e), "还没有移交的办件 No cases handed off yet"))

    async def reload(e: ft.Event[Any]) -> None:
        await vm.load()
        nav.refresh()

    actions = [
        ui.icon_action(ft.Icons.REFRESH, "刷新 Refresh", reload, "county-refresh"),
        ui.icon_action(ft.Icons.SETTINGS, nav.ctx.t("sign_out"), lambda e: nav.go("/settings"),
                       "open-settings"),
    ]
    return ui.screen("/", "县级首页 County",
                     [ft.Semantics(identifier="county-home", content=ui.stack(body))], actions=actions)


def _section(ident: str, heading: str, entries: list[HandOff], row: Any, empty: str) -> ft.Control:
    parts: list[ft.Control] = [ui.title(f"{heading} ({len(entries)})")]
    parts += [row(e) for e in entries] or [ui.text(empty, 16, color=ui.MUTED)]
    return ft.Semantics(identifier=ident, content=ui.stack(parts, spacing=6))


def _head(entry: HandOff) -> list[ft.Control]:
    return [
        ui.text(f"{entry.tracking_code} · {entry.item}", bold=True, selectable=True),
        ui.text(f"{entry.applicant} · 村 Village {entry.village}", 16, color=ui.MUTED),
    ]


def _result(entry: HandOff) -> ft.Control:
    lines = [*_head(entry), ui.text(f"{entry.status_label} — {entry.next_step}", 16, bold=True)]
    if entry.county_ref:
        lines.append(ui.text(f"县级编号 County no.: {entry.county_ref}", 15, color=ui.MUTED))
    return ui.panel(*lines)


def _dead(nav: Nav, vm: CountyViewModel, entry: HandOff) -> ft.Control:
    async def retry(e: ft.Event[Any]) -> None:
        await vm.retry(entry)
        nav.refresh()

    state = ui.text(f"{entry.state_label} · 尝试 {entry.attempts} 次 attempts", 16, bold=True)
    parts = [*_head(entry), state]
    if entry.last_error:
        parts.append(ui.text(f"原因 Error: {entry.last_error}", 15, color=ui.MUTED))
    if entry.is_dead:
        parts.append(ui.button("重新推送 Retry", retry, icon=ft.Icons.REPLAY,
                               ident=f"retry-{entry.tracking_code}"))
    else:
        parts.append(ui.text(entry.state_label, 16))
    return ui.panel(*parts, bgcolor=ui.RED_BG if entry.is_dead else ui.PANEL)


def _handoff(entry: HandOff) -> ft.Control:
    lines = [*_head(entry), ui.text(f"推送 Hand-off: {entry.state_label}", 16, bold=True),
             ui.text(f"办件 Case: {entry.status_label}", 16)]
    if entry.county_ref:
        lines.append(ui.text(f"县级编号 County no.: {entry.county_ref}", 15, color=ui.MUTED))
    lines.append(ui.text(f"更新 Updated: {entry.updated}", 15, color=ui.MUTED))
    return ui.panel(*lines)
