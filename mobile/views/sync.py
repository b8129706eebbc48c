"""Sync screen (同步) and settings (sign-out, language)."""

from __future__ import annotations

import flet as ft

from mobile.views import ui
from mobile.views.nav import Nav


def build(nav: Nav) -> ft.View:
    ctx = nav.ctx
    t = ctx.t
    snap = ctx.sync.snapshot
    bar = ctx.sync.bar()
    names = ctx.names
    body: list[ft.Control] = [ui.panel(ui.text(bar.text, bold=True))]
    if snap.running:
        body.append(ft.ProgressBar(value=snap.progress))
    for db in snap.databases:
        lines: list[ft.Control] = [
            ui.text(names.database(db.name), bold=True),  # the village's name, not ot-v-<code>
            ui.text(f"↑ {db.docs_pushed}  ↓ {db.docs_pulled}  · {db.bytes / 1024:.0f} KB", 16),
        ]
        if db.error:
            lines.append(ui.message(db.error))
        if db.held:
            lines.append(ui.message(db.held_message()))
        body.append(ui.panel(*lines))

    async def sync_now(e: ft.Event[ft.Button]) -> None:
        await ctx.sync.sync_now()
        nav.refresh()

    return ui.screen(
        "/sync",
        t("sync_title"),
        body,
        back=lambda e: nav.go("/"),
        bottom=[ui.button(t("sync_now"), sync_now, icon=ft.Icons.SYNC, ident="sync-now")],
    )


def settings(nav: Nav) -> ft.View:
    ctx = nav.ctx
    t = ctx.t
    session = ctx.session
    account = session.account
    body: list[ft.Control] = []
    if account:
        names = ctx.names
        body += [
            ui.text(f"{names.person(account.username)} · {names.role(account.role)}", bold=True),
            ui.text(f"{t('username')}: {account.username}", 16, color=ui.MUTED),
            ui.text("、".join(names.place(code) for code in account.divisions), 16, color=ui.MUTED),
            ui.text(f"{t('server_url')}: {session.state.server_url}", 16, color=ui.MUTED),
        ]

    def lock(e: ft.Event[ft.Button]) -> None:
        session.lock()
        nav.go("/")

    def sign_out(e: ft.Event[ft.Button], confirm: bool = False) -> None:
        if session.sign_out(confirm_loss=confirm):
            nav.go("/")
        else:
            nav.refresh()

    def switch_language(e: ft.Event[ft.Button]) -> None:
        ctx.set_language("en" if t.language == "zh" else "zh")
        nav.refresh()

    body += [
        ui.button(t("language"), switch_language, icon=ft.Icons.TRANSLATE, primary=False, ident="language"),
        ui.button("锁定 Lock", lock, icon=ft.Icons.LOCK, primary=False),
        ui.button(t("sign_out"), sign_out, icon=ft.Icons.LOGOUT, primary=False, ident="sign-out"),
        ui.message(session.error),
    ]
    if session.confirm_loss_needed:
        body.append(
            ui.button(
                t("signout_confirm"),
                lambda e: sign_out(e, True),
                danger=True,
                wrap=True,  # two lines at 360 px: a fixed height cut the second off
                ident="sign-out-confirm",
            )
        )
    return ui.screen("/settings", t("settings_title"), body, back=lambda e: nav.go("/"))
