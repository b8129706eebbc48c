"""Receipt screen (受理回执): big tracking code and QR to photograph; saved as an image."""

from __future__ import annotations

from typing import Any

import flet as ft

from mobile.viewmodels.receipt import ReceiptViewModel
from mobile.views import ui
from mobile.views.nav import Nav


def build(nav: Nav, vm: ReceiptViewModel) -> ft.View:
    t = nav.ctx.t
    data = vm.data()
    saved = vm.save()

    async def save_image(e: ft.Event[Any]) -> None:
        await nav.save_file(saved.name, saved.read_bytes())

    save_button = ui.button(
        t("save_image"), save_image, icon=ft.Icons.DOWNLOAD, primary=False, ident="save-image"
    )
    body: list[ft.Control] = [
        ui.text(t("tracking_code"), 16, color=ui.MUTED),
        ft.Semantics(
            identifier="tracking-code",
            label=vm.tracking_code,
            content=ft.Text(vm.tracking_code, size=34, weight=ft.FontWeight.BOLD, color=ui.INK),
        ),
        ft.Container(ft.Image(src=vm.qr(), width=240, height=240), alignment=ft.Alignment.CENTER),
        ui.text(data.item_name, bold=True),
        ui.text(data.applicant_masked),
        ui.text(t("time_limit", days=data.time_limit_days), bold=True),
        *(
            [
                ft.Semantics(
                    identifier="due-date",
                    content=ui.text(
                        t("due_expected" if data.due_estimated else "due_by", date=data.due_date), bold=True
                    ),
                )
            ]
            if data.due_date
            else []
        ),
        ui.text(f"✓ {t('material_ok')}:", bold=True),
        *[ui.text(f"  {name}") for name in data.received],
    ]
    if data.missing:
        body.append(ui.message(t("notice_intro"), kind="warn"))
        body += [ui.text(f"  × {name}") for name in data.missing]
    body += [
        ft.Semantics(
            identifier="how-to-check",
            content=ui.panel(ui.text(t("how_to_check", url=data.tracking_url), 16)),
        ),
        ui.text(f"代办员 Agent: {data.agent}", 16, color=ui.MUTED),
        ui.text(data.contact, 16, color=ui.MUTED),
        ui.text(f"{t('receipt_saved')}: {saved.name}", 15, color=ui.MUTED),
        # In the column, not beside Home: two labelled buttons overflow a 360-px-wide phone.
        ft.Row([save_button]),
    ]
    return ui.screen(
        "/receipt",
        t("receipt"),
        [ft.Semantics(identifier="receipt", content=ui.stack(body, spacing=8))],
        back=lambda e: nav.go("/"),
        bottom=[ui.button(t("home"), lambda e: nav.go("/"), icon=ft.Icons.HOME, ident="home")],
    )
