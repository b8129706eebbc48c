"""Case detail screen (办件详情): fields, materials, timeline and the role's actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft

from mobile.services.errors import PickError
from mobile.services.scan import ScanSource
from mobile.viewmodels.badges import BadgeLevel
from mobile.viewmodels.case_detail import Action, CaseDetailViewModel
from mobile.views import ui
from mobile.views.errors import ErrorSlot
from mobile.views.nav import Nav


def build(nav: Nav, vm: CaseDetailViewModel) -> ft.View:
    t = vm.t
    body: list[ft.Control] = []
    badge = vm.badge()
    if badge.level is not BadgeLevel.NONE:
        body.append(ui.message(badge.text, kind="warn" if badge.level is BadgeLevel.YELLOW else "error"))
    if vm.case.get("needs_review"):
        body.append(ui.message(t("badge_review"), kind="warn"))
    body += [
        ft.Column([ui.text(label, 15, color=ui.MUTED), ui.text(value, bold=True, selectable=True)], spacing=0)
        for label, value in vm.fields()
    ]
    body.append(ui.title(t("materials")))
    for m in vm.materials():
        thumb = vm.thumbnail(m.material_id) if m.material_id else None
        parts: list[ft.Control] = [ui.text(f"✓ {m.name}", bold=True)]
        if thumb:
            full = vm.full_scan(m.material_id)
            parts.append(ft.Image(src=thumb, height=110, fit=ft.BoxFit.CONTAIN))
            if full:
                parts.append(
                    ft.TextButton("查看原图 Full view", on_click=lambda e, b=full: nav.show_image(b))
                )
        document = vm.document_pdf(m.material_id) if m.material_id else None
        if document:  # the 申请表 made on the phone: printable as the paper form
            parts.append(_print_button(nav, *document))
        body.append(ui.panel(*parts))
    body.append(ui.title(t("timeline")))
    for row in vm.timeline():
        lines: list[ft.Control] = [
            ui.text(f"{row.time}  {row.label}", bold=True),
            ui.text(row.who, 15, color=ui.MUTED),
        ]
        if row.note:
            lines.append(ui.text(row.note, 16))
        body.append(
            ft.Container(
                ft.Column(lines, spacing=2),
                border=ft.Border.only(left=ft.BorderSide(4, ui.PRIMARY)),
                padding=ft.Padding.only(left=10),
            )
        )
    if vm.can_supplement():
        body.append(ui.title(t("step_notice")))
        body += [_supplement(nav, vm, code, name) for code, name in vm.still_missing()]
    # Errors of no form (a scan that failed, a refused change), above the actions, read out too.
    body.append(ErrorSlot("error-case", vm.error if vm.error_target is None else "").control)
    body.append(ui.message(vm.message, kind="ok"))
    note = vm.separation_note()
    if note:  # 受审分离: say why 办结 is not offered here
        body.append(ft.Semantics(identifier="separation-note", content=ui.message(note, kind="warn")))
    body.append(ui.stack([_action(nav, vm, a) for a in vm.actions()], spacing=8))
    if vm.can_issue_slip():
        body.append(ui.button("打印结果领取单 Result slip", lambda e: nav.go(f"/slip/{vm.case['_id']}"),
                              icon=ft.Icons.PRINT, primary=False, ident="open-result-slip"))
    return ui.screen(
        "/case",
        t("detail"),
        [ft.Semantics(identifier="case-detail", content=ui.stack(body, spacing=8))],
        back=lambda e: nav.go("/"),
    )


def _action(nav: Nav, vm: CaseDetailViewModel, action: Action) -> ft.Control:
    if action.opens_delivery:
        return ui.button(
            action.label, lambda e: nav.go(f"/delivery?case={vm.case['_id']}"), icon=ft.Icons.QR_CODE_SCANNER
        )
    reason = ui.field(vm.t("reason")) if action.needs_reason else None
    choices = vm.request_choices() if action.needs_list else []
    # Already missing at intake: ticked and locked, so it stays on the notice.
    checks = [ft.Checkbox(data=r.code, value=marked, disabled=marked) for r, marked in choices]
    names = {r.code: r.name + (f"（{vm.t('already_missing')}）" if marked else "") for r, marked in choices}

    # The action's own error (no reason, nothing ticked) shows under its form, beside the button.
    slot = ErrorSlot(f"error-{action.target.value}", vm.error if vm.error_target is action.target else "")

    async def perform() -> None:
        missing = [str(c.data) for c in checks if c.value]
        if vm.perform(action.target, reason=(reason.value or "") if reason else "", missing=missing):
            nav.refresh()
        elif vm.error_target is action.target:
            # In place, not by rebuilding the screen: a rebuilt screen starts at its top.
            await slot.reveal(vm.error, focus=reason)
        else:
            nav.refresh()

    async def do(e: ft.Event[ft.Button]) -> None:
        unexplained = reason is not None and not (reason.value or "").strip()
        if action.confirm and not unexplained:  # a missing reason is said first, without a dialog
            _confirm(e.page, vm, action, perform)
        else:
            await perform()

    danger = action.target.value in ("rejected", "withdrawn")
    button = ui.button(action.label, do, danger=danger, ident=f"action-{action.target.value}")
    if not reason and not checks:
        return ui.stack([button, slot.control], spacing=4)
    parts: list[ft.Control] = [ui.text(action.label, bold=True)]
    if checks:
        parts.append(ui.text(vm.t("notice_intro"), 16))
        parts += [_checked_line(c, names[str(c.data)]) for c in checks]
    if reason:
        parts.append(reason)
    parts += [slot.control, button]
    return ui.panel(*parts)


def _confirm(page: ft.Page, vm: CaseDetailViewModel, action: Action,
             perform: Callable[[], Awaitable[None]]) -> None:
    """Asks before a decision (办结, 不予办理) is made; nothing changes on 取消 Cancel."""

    confirmed: list[bool] = []

    def yes(e: ft.Event[ft.Button]) -> None:
        confirmed.append(True)
        page.pop_dialog()

    def no(e: ft.Event[ft.Button]) -> None:
        page.pop_dialog()

    async def dismissed(e: ft.Event[ft.DialogControl]) -> None:
        # The change and the new screen once the dialog is gone: replacing the view while the
        # dialog is still closing leaves the dialog on screen.
        if confirmed:
            await perform()
            page.update()

    page.show_dialog(
        ft.AlertDialog(
            modal=True,
            on_dismiss=dismissed,
            title=ui.text(action.label, bold=True),
            content=ft.Semantics(identifier="confirm-dialog", content=ui.text(action.confirm)),
            actions=[
                ui.button(vm.t("cancel"), no, primary=False, expand=False, ident="confirm-no"),
                ui.button(vm.t("confirm"), yes, danger=action.target.value == "rejected", expand=False,
                          ident="confirm-yes"),
            ],
        )
    )


def _print_button(nav: Nav, name: str, pdf: bytes) -> ft.Control:
    async def save(e: ft.Event[ft.Button]) -> None:
        await nav.save_file(name, pdf)

    return ui.button("保存 PDF 打印 Save PDF to print", save, icon=ft.Icons.PRINT, primary=False,
                     ident="application-form-pdf")


def _supplement(nav: Nav, vm: CaseDetailViewModel, code: str, name: str) -> ft.Control:
    """A missing material (补正) with photo and file buttons."""

    async def photo(e: ft.Event[Any]) -> None:
        await _supplement_from(nav, vm, code, nav.take_photo)

    async def pick(e: ft.Event[Any]) -> None:
        await _supplement_from(nav, vm, code, nav.pick_image)

    return ui.panel(
        ui.text(f"× {name}", bold=True),
        ft.Row(
            [
                ui.button(vm.t("capture"), photo, icon=ft.Icons.PHOTO_CAMERA),
                ui.button(vm.t("pick_file"), pick, icon=ft.Icons.FOLDER_OPEN, primary=False),
            ],
            spacing=6,
        ),
    )


async def _supplement_from(
    nav: Nav, vm: CaseDetailViewModel, code: str, get: Callable[[], Awaitable[ScanSource | None]]
) -> None:
    try:
        source = await get()
    except PickError as error:  # the photo never arrived: say so; the buttons work again
        vm.error = str(error)
        nav.refresh()
        return
    if source is not None:
        try:
            vm.supplement(code, source)
        finally:
            nav.release(source)
        nav.refresh()


def _checked_line(box: ft.Checkbox, name: str) -> ft.Control:
    """A checkbox with its material's name wrapping beside it; the whole line toggles it.

    A Checkbox's own label stays on one line and is cut off at the edge of a 360 px screen.
    """

    def toggle(e: ft.Event[ft.Container]) -> None:
        if box.disabled:
            return  # already on the notice: it cannot be taken off
        box.value = not box.value
        box.update()

    line = ft.Row([box, ft.Text(name, size=16, font_family=ui.FONT, expand=True)],
                  vertical_alignment=ft.CrossAxisAlignment.CENTER, spacing=4)
    return ft.Container(line, on_click=toggle)  # the checkbox keeps its 48 px tap target
