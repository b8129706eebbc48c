"""Result slip screen (结果领取单): the delivery QR of a finished case, to print or save."""

from __future__ import annotations

from typing import Any

import flet as ft

from mobile.viewmodels.result_slip import ResultSlipViewModel
from mobile.views import ui
from mobile.views.nav import Nav


def build(nav: Nav, vm: ResultSlipViewModel) -> ft.View:
    back = f"/case/{vm.case_id}"
    body: list[ft.Control] = [ui.message(vm.error)]
    if not vm.ready and not vm.error:
        body.append(ui.text("正在生成二维码… Issuing the QR code…", color=ui.MUTED))
    if vm.ready:
        data = vm.data()

        async def save_pdf(e: ft.Event[Any]) -> None:
            await nav.save_file(vm.file_name(), vm.pdf())

        body += [
            ui.text("取件查询码 Tracking code", 16, color=ui.MUTED),
            ft.Semantics(
                identifier="slip-tracking-code",
                label=vm.tracking_code,
                content=ft.Text(vm.tracking_code, size=30, weight=ft.FontWeight.BOLD, color=ui.INK),
            ),
            ft.Semantics(
                identifier="slip-qr",
                label="送达二维码 Delivery QR code",
                content=ft.Container(ft.Image(src=vm.qr(), width=240, height=240),
                                     alignment=ft.Alignment.CENTER),
            ),
            ui.text(data.item_name, bold=True),
            ui.text(data.applicant_masked),
            ui.text(f"村 Village {data.village} · {data.status}", 16),
            ui.panel(ui.text("送达时扫描二维码确认收到 At delivery, scan the QR code to confirm receipt",
                             16)),
            ft.Semantics(identifier="slip-expires",
                         content=ui.text(f"有效期至 Valid until {data.expires_at}", 16, bold=True)),
            ui.text(f"出具 Issued {data.issued_at} · {data.issued_by}", 15, color=ui.MUTED),
            ft.Row([ui.button("保存 PDF 打印 Save PDF to print", save_pdf, icon=ft.Icons.PRINT,
                              ident="slip-save-pdf")]),
        ]
    return ui.screen(
        "/slip",
        "结果领取单 Result slip",
        [ft.Semantics(identifier="result-slip", content=ui.stack(body, spacing=8))],
        back=lambda e: nav.go(back),
    )
