"""Delivery screen (送达确认): scan or type the result's QR, verify offline, receiver signs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import flet as ft

from mobile.services.errors import PickError
from mobile.services.scan import ScanSource
from mobile.viewmodels.delivery import DeliveryViewModel
from mobile.views import ui
from mobile.views.nav import Nav
from mobile.views.signature_pad import HEIGHT, WIDTH, SignaturePad


def build(nav: Nav, vm: DeliveryViewModel) -> ft.View:
    t = vm.t
    body: list[ft.Control] = []
    if vm.done:
        body.append(ft.Semantics(identifier="delivered", content=ui.message(t("delivered_ok"), kind="ok")))
        return ui.screen(
            "/delivery",
            t("delivery_title"),
            body,
            back=lambda e: nav.go("/"),
            bottom=[ui.button(t("home"), lambda e: nav.go("/"), icon=ft.Icons.HOME)],
        )
    if vm.verified is None:
        typed = ui.field(t("type_code"), vm.typed)

        async def photo(e: ft.Event[ft.Button]) -> None:
            await _scan_from(nav, vm, nav.take_photo)

        async def pick(e: ft.Event[ft.Button]) -> None:
            await _scan_from(nav, vm, nav.pick_image)

        def verify(e: ft.Event[ft.Button]) -> None:
            vm.typed = typed.value or ""
            vm.verify()
            nav.refresh()

        body += [
            ui.button(t("scan_qr"), photo, icon=ft.Icons.QR_CODE_SCANNER, ident="scan-qr"),
            ui.button(t("pick_file"), pick, icon=ft.Icons.FOLDER_OPEN, primary=False),
            typed,
            ui.button(t("verify"), verify, primary=False, ident="verify"),
            ui.message(vm.error),
        ]
        return ui.screen("/delivery", t("delivery_title"), body, back=lambda e: nav.go("/"))
    v = vm.verified
    pad = SignaturePad(t("clear"))
    receiver = ui.field("领取人 Receiver", v.name)

    def confirm(e: ft.Event[ft.Button]) -> None:
        vm.confirm(pad.strokes, WIDTH, HEIGHT, receiver=receiver.value or "")
        nav.refresh()

    async def fingerprint(e: ft.Event[ft.Button]) -> None:
        """The receiver cannot sign: a photo of their fingerprint delivers instead."""

        async def deliver(source: ScanSource) -> None:
            await vm.confirm_with_fingerprint(source, receiver=receiver.value or "")

        await _with_photo(nav, vm, nav.take_photo, deliver)

    body += [
        ui.message("二维码有效 QR code is valid", kind="ok"),
        ui.text(v.item, bold=True),
        ui.text(f"{v.name} {v.id_masked}"),
        # The code on its own line: "label: code" is too long for 360 px and broke the code at a hyphen.
        ui.text(t("tracking_code"), 15, color=ui.MUTED),
        ui.text(v.content.tracking_code, bold=True, selectable=True),
        receiver,
        ui.text(t("receiver_signature"), bold=True),
        pad,
        ui.text(t("receiver_fingerprint_help"), 16, color=ui.MUTED),
        ui.button(t("sign_fingerprint"), fingerprint, icon=ft.Icons.FINGERPRINT, primary=False,
                  ident="receiver-fingerprint"),
        ui.message(vm.error),
    ]
    return ui.screen(
        "/delivery",
        t("delivery_title"),
        body,
        back=lambda e: nav.go("/"),
        bottom=[ui.button(t("deliver"), confirm, icon=ft.Icons.CHECK, ident="confirm-delivery")],
    )


async def _scan_from(
    nav: Nav, vm: DeliveryViewModel, get: Callable[[], Awaitable[ScanSource | None]]
) -> None:
    """A photo of the QR code, from the camera or a file."""

    async def scan(source: ScanSource) -> None:
        vm.scan(source if isinstance(source, bytes) else Path(source).read_bytes())

    await _with_photo(nav, vm, get, scan)


async def _with_photo(
    nav: Nav,
    vm: DeliveryViewModel,
    get: Callable[[], Awaitable[ScanSource | None]],
    use: Callable[[ScanSource], Awaitable[None]],
) -> None:
    """A photo from `get` given to `use`, then released; a failed pick says so, a cancelled one
    does nothing."""
    try:
        source = await get()
    except PickError as error:
        vm.error = str(error)
        nav.refresh()
        return
    if source is None:
        return
    try:
        await use(source)
    finally:
        nav.release(source)
    nav.refresh()
