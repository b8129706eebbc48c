"""Home screen: sync bar, filters, search and the case rows (办件列表)."""

from __future__ import annotations

from functools import partial
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
FILTER_ICONS = {
    CaseFilter.ALL: ft.Icons.LIST,
    CaseFilter.DRAFTS: ft.Icons.EDIT_NOTE,
    CaseFilter.WAITING_SYNC: ft.Icons.CLOUD_UPLOAD,
    CaseFilter.SUBMITTED: ft.Icons.SEND,
    CaseFilter.NEEDS_MATERIALS: ft.Icons.NOTE_ADD,
    CaseFilter.RESULT_READY: ft.Icons.HANDSHAKE,
    CaseFilter.FINISHED: ft.Icons.ARCHIVE,
    CaseFilter.REVIEW: ft.Icons.CALL_SPLIT,
}

# A 16-px bilingual label line plus this above and below makes each filter chip at least
# 48 px high (Material's minimum touch target, checked in the browser test); 8 px between
# chips, Material's gap between targets, so a gloved finger does not hit the neighbour.
CHIP_PAD = 14
CHIP_GAP = 8
# "立即同步 Sync now" on two lines (~70 px of text plus the button's own padding): a one-line
# button took half the bar, and the words beside it needed four lines.
SYNC_BUTTON_WIDTH = 96
# A staff shortcut: a 26-px icon over two 15-px lines of words ("冲突审核" / "Conflicts"), with
# padding; more than Material's 48-px touch target.
SHORTCUT_HEIGHT = 80


def build(nav: Nav, vm: CaseListViewModel) -> ft.View:
    t = nav.ctx.t
    vm.refresh()
    search = ui.field(vm.t("search"), vm.search)
    cases = ui.stack(_cases(nav, vm))

    def do_search(e: ft.Event[Any]) -> None:
        # As the agent types: only the list is rebuilt, so the field keeps its focus.
        vm.set_search(search.value or "")
        cases.controls = _cases(nav, vm)
        cases.update()

    search.on_change = do_search
    search.on_submit = do_search
    search.suffix = ft.IconButton(ft.Icons.SEARCH, on_click=do_search, tooltip=t("search"))
    body: list[ft.Control] = [_sync_bar(nav, vm), search, _filters(nav, vm, cases), cases]
    if nav.ctx.is_staff:
        body.insert(0, _staff_shortcuts(nav))
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
    # Each icon with its word under it; the staff's three shortcuts live in a row of their own
    # (four icons in the bar left the name a few characters).
    actions: list[ft.Control] = [
        *(
            []
            if nav.ctx.is_staff
            else [
                _bar_action(
                    ft.Icons.QR_CODE_SCANNER, "送达", t("delivery_title"), "/delivery", nav, "open-delivery"
                )
            ]
        ),
        _bar_action(ft.Icons.SETTINGS, "设置", t("settings_title"), "/settings", nav, "open-settings"),
    ]
    view = ui.screen(
        "/",
        t("cases"),
        [ft.Semantics(identifier="case-list", content=ui.stack(body))],
        actions=actions,
        bottom=bottom,
    )
    if account and isinstance(view.appbar, ft.AppBar):
        view.appbar.title = _title(t("cases"), nav.ctx.names.person(account.username))
    return view


def _title(heading: str, person: str) -> ft.Control:
    """"办件 Cases" over the signed-in person's name: on one line a 360 px screen cut the name
    off ("办件 Cases · 李晓燕(…") next to the bar's icons."""
    return ft.Semantics(
        identifier="case-list-title",
        content=ft.Column(
            [
                ft.Text(heading, size=20, weight=ft.FontWeight.BOLD, color="#FFFFFF", no_wrap=True),
                ft.Text(person, size=16, color="#FFFFFF"),
            ],
            spacing=0,
            tight=True,
        ),
    )


def _bar_action(icon: Any, word: str, label: str, route: str, nav: Nav, ident: str) -> ft.Control:
    """An app-bar icon with a short word under it; the full bilingual name for screen readers."""
    return ft.Semantics(
        identifier=ident,
        button=True,
        label=label,
        exclude_semantics=True,
        content=ft.Container(
            ft.Column(
                [ft.Icon(icon, color="#FFFFFF", size=26), ft.Text(word, size=13, color="#FFFFFF")],
                spacing=0,
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                alignment=ft.MainAxisAlignment.CENTER,
            ),
            width=ui.TOUCH,
            height=ui.TOUCH,
            on_click=lambda e: nav.go(route),
            ink=True,
        ),
    )


def _staff_shortcuts(nav: Nav) -> ft.Control:
    """Township staff's other screens, each an icon with its name (not a bare icon)."""
    t = nav.ctx.t
    shortcuts = [
        (ft.Icons.CALL_SPLIT, t("conflicts_title"), "/reviews", "open-reviews"),
        (ft.Icons.ASSESSMENT, t("supervision_title"), "/supervision", "open-supervision"),
        (ft.Icons.QR_CODE_SCANNER, t("delivery_title"), "/delivery", "open-delivery"),
    ]
    tiles: list[ft.Control] = [
        ft.Semantics(
            identifier=ident,
            button=True,
            label=label,
            exclude_semantics=True,
            expand=True,
            content=ft.Container(
                ft.Column(
                    [ft.Icon(icon, color=ui.PRIMARY, size=26), ft.Text(label, size=15, color=ui.INK,
                                                                      text_align=ft.TextAlign.CENTER)],
                    spacing=2,
                    horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                ),
                padding=ft.Padding.symmetric(horizontal=4, vertical=6),
                # One height for the three (two lines of words): a stretching row has no
                # height to stretch to inside the screen's scrolling column.
                height=SHORTCUT_HEIGHT,
                border=ft.Border.all(1, "#9AA3AD"),
                border_radius=ft.BorderRadius.all(8),
                on_click=_goer(nav, route),
                ink=True,
            ),
        )
        for icon, label, route, ident in shortcuts
    ]
    return ft.Row(tiles, spacing=6)


def _goer(nav: Nav, route: str) -> Any:
    return lambda e: nav.go(route)


def _sync_bar(nav: Nav, vm: CaseListViewModel) -> ft.Control:
    bar = vm.sync_bar()
    parts: list[ft.Control] = [
        ft.Row(
            [
                ft.Icon(BAR_ICONS[bar.level], color=ui.INK),
                ft.Column(
                    [_bar_line(line, bar.level) for line in (bar.head, bar.detail) if line],
                    spacing=0,
                    expand=True,
                ),
                ft.TextButton(
                    content=ft.Text(nav.ctx.t("sync_now"), size=16, text_align=ft.TextAlign.CENTER),
                    on_click=lambda e: nav.go("/sync"),
                    style=ft.ButtonStyle(
                        padding=ft.Padding.symmetric(horizontal=4, vertical=2),
                        text_style=ft.TextStyle(size=16, font_family=ui.FONT),
                    ),
                    width=SYNC_BUTTON_WIDTH,
                    height=ui.TOUCH,
                ),
            ],
            spacing=8,
        )
    ]
    if bar.level is SyncLevel.RUNNING:
        parts.append(ft.ProgressBar(value=bar.progress))
    return ft.Semantics(
        identifier="sync-bar",
        content=ft.Container(
            ft.Column(parts, spacing=2),
            bgcolor=BAR_COLORS[bar.level],
            padding=ft.Padding.only(left=10, right=4, top=2, bottom=2),
            border_radius=ft.BorderRadius.all(8),
        ),
    )


def _bar_line(line: str, level: SyncLevel) -> ft.Text:
    """An error's reason can be long (a server's message): one line, cut with "…", so the bar
    stays two lines and the list keeps its room; the sync screen shows the whole reason."""
    if level is SyncLevel.ERROR:
        return ft.Text(line, size=16, color=ui.INK, max_lines=1, overflow=ft.TextOverflow.ELLIPSIS)
    return ft.Text(line, size=16, color=ui.INK)


def _filters(nav: Nav, vm: CaseListViewModel, cases: ft.Column) -> ft.Row:
    """One sideways-scrolling line of chips, each label whole; the chip cut by the right edge
    shows there is more. Wrapped lines took four rows of a 760-px screen and left room for one
    case, the screen's point."""
    line = ft.Row(scroll=ft.ScrollMode.AUTO, spacing=CHIP_GAP)

    async def choose(f: CaseFilter, e: ft.Event[ft.Chip]) -> None:
        # Chips and cases change in place, not by rebuilding the screen: the line stays the
        # same control, so it can be scrolled to the chip once the phone has it.
        page = e.page  # before the tapped chip is replaced
        vm.select(f)
        line.controls = chips()
        cases.controls = _cases(nav, vm)
        page.update()  # the handler's last change (docs/design.md §Flet notes); scrolling changes nothing
        await _reveal(line, f)

    def chips() -> list[ft.Control]:
        return [
            ft.Semantics(
                identifier=f"filter-{f.value}",
                key=ft.ScrollKey(f.value),  # type: ignore[call-arg]  # a dataclass mypy cannot see through
                content=ft.Chip(
                    # The chosen chip shows a tick instead of its icon, and a tint. Its width
                    # stays: a tick sliding in (or bold type) would shift the chips after it,
                    # and the scroll to the chosen chip, measured before that, would cut it.
                    label=ft.Text(vm.label(f), size=16),
                    leading=ft.Icon(
                        ft.Icons.CHECK if f is vm.filter else FILTER_ICONS[f], size=20, color=ui.INK
                    ),
                    show_checkmark=False,
                    selected=f is vm.filter,
                    on_select=partial(choose, f),
                    # The chip itself, not only an invisible margin around it, is the 48-px target.
                    padding=ft.Padding.symmetric(horizontal=4, vertical=CHIP_PAD),
                ),
            )
            for f in vm.filters
        ]

    line.controls = chips()
    return line


async def _reveal(line: ft.Row, chosen: CaseFilter) -> None:
    """Brings the chosen chip wholly into sight, and the screen back to its top.

    Scrolling to a key scrolls every scrollable around it, the screen's column too (the line
    would end up at the top, sync bar and search out of sight); a new filter shows a new list,
    which starts at the top anyway.
    """
    await line.scroll_to(scroll_key=chosen.value)
    screen = line.parent
    while screen is not None and not (isinstance(screen, ft.Column) and screen.scroll):
        screen = screen.parent
    if isinstance(screen, ft.Column):
        await screen.scroll_to(offset=0)


def _cases(nav: Nav, vm: CaseListViewModel) -> list[ft.Control]:
    """The rows of the current filter and search, then "more" if the list goes on."""
    t = nav.ctx.t
    rows: list[ft.Control] = [_row(nav, row) for row in vm.rows]
    if not vm.rows:
        rows.append(ui.text(t("no_cases"), color=ui.MUTED))
    if vm.has_more:

        def more(e: ft.Event[Any]) -> None:
            vm.more()
            nav.refresh()

        rows.append(ui.button(t("more"), more, primary=False))
    return rows


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
    return ft.Semantics(
        identifier="case-row",
        content=ft.Container(
            content=ft.Column(lines, spacing=4),
            padding=ft.Padding.all(ui.PAD),
            border=ft.Border.all(1, "#9AA3AD"),
            border_radius=ft.BorderRadius.all(8),
            on_click=lambda e: nav.go(route),
            ink=True,
        ),
    )


def _tag(label: str, bg: str) -> ft.Control:
    return ft.Container(
        ft.Text(label, size=14, color=ui.INK),
        bgcolor=bg,
        padding=ft.Padding.symmetric(horizontal=8, vertical=4),
        border_radius=ft.BorderRadius.all(4),
    )
