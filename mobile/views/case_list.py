"""Home screen: sync bar, filters, search and the case rows (办件列表)."""

from __future__ import annotations

from typing import Any

import flet as ft

from mobile.viewmodels.badges import BadgeLevel
from mobile.viewmodels.case_list import CaseFilter, CaseListViewModel, CaseRow
from mobile.viewmodels.sync import SyncLevel
from mobile.views import ui
from mobile.views.nav import Nav

BAR_COLORS = {
    SyncLevel.PENDING: ui.WARN_BG,
    SyncLevel.OK: ui.OK_BG,
    SyncLevel.RUNNING: ui.PANEL,
    SyncLevel.OFFLINE: ui.WARN_BG,
    SyncLevel.ERROR: ui.RED_BG,
}
BAR_ICONS = {
    SyncLevel.PENDING: ft.Icons.CLOUD_UPLOAD,
    SyncLevel.OK: ft.Icons.CLOUD_DONE,
    SyncLevel.RUNNING: ft.Icons.SYNC,
    SyncLevel.OFFLINE: ft.Icons.CLOUD_OFF,
    SyncLevel.ERROR: ft.Icons.ERROR_OUTLINE,
}


def build(nav: Nav, vm: CaseListViewModel) -> ft.View:
    t = nav.ctx.t
    vm.refresh()
    search = ui.field(vm.t("search"), vm.search)

    def do_search(e: ft.Event[Any]) -> None:
        vm.set_search(search.value or "")
        nav.refresh()

    search.on_submit = do_search
    search.suffix = ft.IconButton(ft.Icons.SEARCH, on_click=do_search, tooltip=t("search"))
    body: list[ft.Control] = [_sync_bar(nav, vm), search, _filters(nav, vm)]
    if not vm.rows:
        body.append(ui.text(t("no_cases"), color=ui.MUTED))
    body += [_row(nav, row) for row in vm.rows]
    if vm.has_more:

        def more(e: ft.Event[Any]) -> None:
            vm.more()
            nav.refresh()

        body.append(ui.button(t("more"), more, primary=False))
    bottom = (
        []
        if nav.ctx.is_staff
        else [
            ui.button(
                t("new_application"), lambda e: nav.go("/new"), icon=ft.Icons.ADD, ident="new-application"
            )
        ]
    )
    account = nav.ctx.session.account
    heading = f"{t('cases')} · {account.display_name or account.username}" if account else t("cases")
    staff_actions: list[ft.Control] = (
        [
            ui.icon_action(
                ft.Icons.CALL_SPLIT, "冲突审核 Conflicts", lambda e: nav.go("/reviews"), "open-reviews"
            ),
            ui.icon_action(
                ft.Icons.ASSESSMENT,
                "电子监察 Supervision",
                lambda e: nav.go("/supervision"),
                "open-supervision",
            ),
        ]
        if nav.ctx.is_staff
        else []
    )
    actions: list[ft.Control] = [
        *staff_actions,
        ft.Semantics(
            identifier="open-delivery",
            button=True,
            label=t("delivery_title"),
            content=ft.IconButton(
                ft.Icons.QR_CODE_SCANNER,
                on_click=lambda e: nav.go("/delivery"),
                tooltip=t("delivery_title"),
                icon_color="#FFFFFF",
                icon_size=28,
            ),
        ),
        ui.icon_action(ft.Icons.SETTINGS, t("sign_out"), lambda e: nav.go("/settings"), "open-settings"),
    ]
    return ui.screen(
        "/",
        heading,
        [ft.Semantics(identifier="case-list", content=ui.stack(body))],
        actions=actions,
        bottom=bottom,
    )


def _sync_bar(nav: Nav, vm: CaseListViewModel) -> ft.Control:
    bar = vm.sync_bar()
    parts: list[ft.Control] = [
        ft.Row(
            [
                ft.Icon(BAR_ICONS[bar.level], color=ui.INK),
                ft.Text(bar.text, size=16, color=ui.INK, expand=True),
                ft.TextButton(
                    nav.ctx.t("sync_now"),
                    on_click=lambda e: nav.go("/sync"),
                    style=ft.ButtonStyle(text_style=ft.TextStyle(size=16, font_family=ui.FONT)),
                    height=ui.TOUCH,
                ),
            ]
        )
    ]
    if bar.level is SyncLevel.RUNNING:
        parts.append(ft.ProgressBar(value=bar.progress))
    return ft.Semantics(
        identifier="sync-bar",
        content=ft.Container(
            ft.Column(parts, spacing=2),
            bgcolor=BAR_COLORS[bar.level],
            padding=ft.Padding.symmetric(horizontal=10, vertical=2),
            border_radius=ft.BorderRadius.all(8),
        ),
    )


def _filters(nav: Nav, vm: CaseListViewModel) -> ft.Control:
    def choose(f: CaseFilter) -> None:
        vm.select(f)
        nav.refresh()

    chips: list[ft.Control] = [
        ft.Chip(
            label=ft.Text(vm.label(f), size=16, weight=ft.FontWeight.BOLD if f is vm.filter else None),
            selected=f is vm.filter,
            on_select=lambda e, f=f: choose(f),
            height=ui.TOUCH - 8,
        )
        for f in vm.filters
    ]
    # One scrolling line: the cases stay on the first screen of a small phone.
    return ft.Row(chips, scroll=ft.ScrollMode.AUTO, spacing=6)


def _row(nav: Nav, row: CaseRow) -> ft.Control:
    t = nav.ctx.t
    tags: list[ft.Control] = [ft.Text(row.status_label, size=15, color=ui.INK, weight=ft.FontWeight.BOLD)]
    if row.badge.level is not BadgeLevel.NONE:
        bg = ui.WARN_BG if row.badge.level is BadgeLevel.YELLOW else ui.RED_BG
        tags.append(_tag(("⚠ " if row.badge.level is BadgeLevel.YELLOW else "!! ") + row.badge.text, bg))
    if row.needs_review:
        tags.append(_tag("⚠ " + t("badge_review"), ui.WARN_BG))
    if row.unsynced:
        tags.append(_tag("↑ " + t("badge_unsynced"), ui.PANEL))
    lines: list[ft.Control] = [
        ft.Row([ui.text(row.name, bold=True), ui.text(row.id_masked, 15, color=ui.MUTED)], wrap=True),
        ui.text(row.item, 16),
        ft.Row(tags, wrap=True, spacing=6),
    ]
    if row.tracking_code:
        lines.append(ui.text(f"{t('tracking_code')}: {row.tracking_code}", 15, color=ui.MUTED))
    route = f"/new/{row.case_id}" if row.status == "draft" else f"/case/{row.case_id}"
    return ft.Container(
        content=ft.Column(lines, spacing=4),
        padding=ft.Padding.all(ui.PAD),
        border=ft.Border.all(1, "#9AA3AD"),
        border_radius=ft.BorderRadius.all(8),
        on_click=lambda e: nav.go(route),
        ink=True,
    )


def _tag(label: str, bg: str) -> ft.Control:
    return ft.Container(
        ft.Text(label, size=14, color=ui.INK),
        bgcolor=bg,
        padding=ft.Padding.symmetric(horizontal=8, vertical=4),
        border_radius=ft.BorderRadius.all(4),
    )
