"""Sign-in, PIN setting and PIN unlock screens; a forgotten PIN is reset by signing in again."""

from __future__ import annotations

import flet as ft

from mobile.viewmodels.session import Screen, SessionViewModel
from mobile.views import ui
from mobile.views.errors import ErrorSlot
from mobile.views.nav import Nav


def build(nav: Nav) -> ft.View:
    vm = nav.ctx.session
    t = nav.ctx.t
    brand = ui.text(nav.ctx.config.brand_org, 16, color=ui.MUTED)
    if vm.screen is Screen.LOGIN:
        return _login(nav, vm, brand)
    if vm.screen is Screen.SET_PIN:
        return _set_pin(nav, vm)
    pin = ui.field(t("pin"), password=True, keyboard=ft.KeyboardType.NUMBER, max_length=6, autofocus=True)
    slot = ErrorSlot("error-pin", vm.error)

    async def unlock(e: ft.Event[ft.Button] | None = None) -> None:
        vm.pin = pin.value or ""
        if vm.unlock():
            nav.go("/")
            return
        pin.value = ""  # typed again from the start, the cursor already there
        await slot.reveal(vm.error, focus=pin)

    def forgot(e: ft.Event[ft.TextButton]) -> None:
        vm.forgot_pin()
        nav.refresh()

    pin.on_submit = unlock
    account = vm.account
    who = f"{account.display_name or account.username} ({account.username})" if account else ""
    return ui.screen(
        "/unlock",
        t("unlock_title"),
        [
            brand,
            ui.text(who, bold=True),
            pin,
            slot.control,
            ui.button(t("unlock"), unlock, ident="unlock"),
            ft.Semantics(
                identifier="forgot-pin",
                button=True,
                label=t("forgot_pin"),
                content=ft.TextButton(
                    content=ft.Text(t("forgot_pin"), size=16), on_click=forgot, height=ui.TOUCH
                ),
            ),
        ],
    )


def _login(nav: Nav, vm: SessionViewModel, brand: ft.Control) -> ft.View:
    t = nav.ctx.t
    server = ui.field(t("server_url"), vm.server_url, keyboard=ft.KeyboardType.URL)
    username = ui.field(t("username"), vm.username)
    password = ui.field(t("password"), password=True, autofocus=vm.resetting)
    username.read_only = vm.resetting  # a new PIN for this phone's own account only
    slot = ErrorSlot("error-login", vm.error)

    async def sign_in(e: ft.Event[ft.Button]) -> None:
        vm.server_url, vm.username, vm.password = (
            server.value or "",
            username.value or "",
            password.value or "",
        )
        if await vm.sign_in():
            nav.go("/")
            return
        # The cursor goes to the first empty field, else to the password (wrong, or refused).
        empty = [f for f in (server, username, password) if not (f.value or "").strip()]
        field = empty[0] if empty else password
        if field is password:
            password.value = ""
        await slot.reveal(vm.error, focus=field)

    def cancel(e: ft.Event[ft.Button]) -> None:
        vm.cancel_reset()
        nav.refresh()

    help_text = t("reset_pin_help") if vm.resetting else t("login_needs_network")
    body: list[ft.Control] = [
        brand,
        ui.text(help_text, 16, color=ui.MUTED),
        server,
        username,
        password,
        slot.control,
        ui.button(t("sign_in"), sign_in, icon=ft.Icons.LOGIN, ident="sign-in"),
    ]
    if vm.resetting:
        body.append(ui.button(t("cancel"), cancel, primary=False, ident="cancel-reset"))
    return ui.screen("/login", t("reset_pin_title") if vm.resetting else t("login_title"), body)


def _set_pin(nav: Nav, vm: SessionViewModel) -> ft.View:
    t = nav.ctx.t
    pin = ui.field(t("pin"), password=True, keyboard=ft.KeyboardType.NUMBER, max_length=6)
    again = ui.field(t("pin_again"), password=True, keyboard=ft.KeyboardType.NUMBER, max_length=6)
    slot = ErrorSlot("error-pin", vm.error)

    async def save(e: ft.Event[ft.Button]) -> None:
        vm.pin, vm.pin_confirm = pin.value or "", again.value or ""
        if vm.set_pin():
            nav.go("/")
            return
        pin.value = again.value = ""  # a refused PIN is chosen again, both times
        await slot.reveal(vm.error, focus=pin)

    return ui.screen(
        "/set-pin",
        t("set_pin_title"),
        [
            ui.text(t("set_pin_help"), 16),
            pin,
            again,
            slot.control,
            ui.button(t("save"), save, ident="save-pin"),
        ],
    )
