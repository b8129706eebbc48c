"""The Flet app (应用入口): `main(page)` wires the screens to the view-models.

Routes: `/` (sign-in, PIN, the case list or the county operator's home), `/new`, `/new/<case>`
(resume a draft), `/case/<case>`, `/receipt/<case>`, `/slip/<case>` (result slip), `/delivery`,
`/sync`, `/settings`. The shell keeps the
view-model of the current screen so that a refresh (after any action) rebuilds the
controls from the same state; a new route builds a fresh view-model.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import flet as ft

from mobile.config import ASSETS_DIR, AppConfig, load_config
from mobile.services.scan import ScanSource
from mobile.services.webfont import FILE_NAME, FONT_FAMILY
from mobile.viewmodels.context import AppContext
from mobile.viewmodels.county import CountyViewModel
from mobile.viewmodels.result_slip import ResultSlipViewModel
from mobile.viewmodels.staff import ReviewsViewModel, SupervisionViewModel
from mobile.views import (
    case_detail,
    case_list,
    county,
    delivery,
    login,
    receipt,
    result_slip,
    staff,
    sync,
    wizard,
)
from mobile.views.picker import PhotoPicker, Progress, upload_dir

log = logging.getLogger(__name__)
ContextFactory = Callable[[], AppContext]
# Screens that show at once and fill in when the server answers (their view-model's `load`).
ONLINE_SCREENS = (ReviewsViewModel, SupervisionViewModel, CountyViewModel, ResultSlipViewModel)


class Shell:
    """Navigation and device services for the screens of one page (one phone)."""

    def __init__(self, page: ft.Page, ctx: AppContext) -> None:
        self.page = page
        self.ctx = ctx
        self.route = "/"
        self.vm: Any = None
        # Services register with the page when constructed and are dropped when nothing
        # references them (docs/design.md §Flet notes), so the shell keeps them.
        self.picker = PhotoPicker(page, upload_dir(ctx.config.data_dir))

    # -- navigation ------------------------------------------------------------------------

    def go(self, route: str) -> None:
        self.route = route
        self.vm = self._view_model(route)
        self.refresh()
        if isinstance(self.vm, ONLINE_SCREENS):
            # Online screens: show at once, fill in when the server answers.
            vm = self.vm

            async def load() -> None:
                await vm.load()
                if self.vm is vm:
                    self.refresh()
                    self.page.update()

            self.page.run_task(load)

    def refresh(self) -> None:
        try:
            view = self._build()
        except Exception:  # a broken screen must not leave the agent on a blank page
            log.exception("screen %s failed", self.route)
            self.route, self.vm = "/", None
            view = self._build()
        self.page.views.clear()
        self.page.views.append(view)

    def redraw(self) -> None:
        """Rebuilds and sends the screen now, from inside a long handler (e.g. upload progress)."""
        self.refresh()
        self.page.update()

    def _view_model(self, route: str) -> Any:
        ctx = self.ctx
        if not ctx.signed_in:
            return None
        path = route.partition("?")[0]
        parts = path.strip("/").split("/")
        if parts[0] == "new":
            wizard_vm = ctx.wizard()
            if len(parts) > 1:
                wizard_vm.resume(parts[1])
            return wizard_vm
        if parts[0] == "case":
            detail_vm = ctx.case_detail()
            detail_vm.load(parts[1])
            return detail_vm
        if parts[0] == "receipt":
            return ctx.receipt(parts[1])
        if parts[0] == "slip":
            return ctx.result_slip(parts[1])
        if parts[0] == "delivery":
            return ctx.delivery()
        if parts[0] == "reviews":
            return ctx.reviews()
        if parts[0] == "supervision":
            return ctx.supervision()
        if parts[0] in ("sync", "settings"):
            return None
        return ctx.county() if ctx.is_county else ctx.case_list()

    def _build(self) -> ft.View:
        if not self.ctx.signed_in:
            return login.build(self)
        head = self.route.strip("/").split("/")[0].partition("?")[0]
        if self.vm is None and head not in ("sync", "settings"):
            self.vm = self._view_model(self.route)
        builders: dict[str, Callable[[], ft.View]] = {
            "new": lambda: wizard.build(self, self.vm),
            "case": lambda: case_detail.build(self, self.vm),
            "receipt": lambda: receipt.build(self, self.vm),
            "delivery": lambda: delivery.build(self, self.vm),
            "sync": lambda: sync.build(self),
            "settings": lambda: sync.settings(self),
            "reviews": lambda: staff.reviews(self, self.vm),
            "supervision": lambda: staff.supervision(self, self.vm),
            "slip": lambda: result_slip.build(self, self.vm),
        }
        if isinstance(self.vm, CountyViewModel):
            return county.build(self, self.vm)
        return builders.get(head, lambda: case_list.build(self, self.vm))()

    # -- device services -------------------------------------------------------------------

    def toast(self, text: str) -> None:
        """A short note at the bottom; call it after the screen change of the same handler."""
        self.page.show_dialog(ft.SnackBar(ft.Text(text, size=16), duration=ft.Duration(seconds=3)))
        # show_dialog updates only the dialog and marks the handler as "updated", so Flet skips
        # its automatic page update (docs/design.md §Flet notes): send the rest of the handler's changes now.
        self.page.update()

    def show_image(self, data: bytes) -> None:
        self.page.show_dialog(
            ft.AlertDialog(content=ft.InteractiveViewer(content=ft.Image(src=data)), scrollable=True)
        )

    def run(self, work: Callable[[], Awaitable[None]]) -> None:
        self.page.run_task(work)

    async def pick_image(self, progress: Progress | None = None) -> ScanSource | None:
        """A picture from the file chooser, as a file (see views/picker.py); PickError on failure."""
        return await self.picker.pick(progress)

    def release(self, source: ScanSource | None) -> None:
        self.picker.release(source)

    async def save_file(self, name: str, data: bytes) -> None:
        """Offers `data` to the user to keep (a download in a browser, the share/save sheet on a phone)."""
        await self.picker.save_file(name, data)

    async def take_photo(self, progress: Progress | None = None) -> ScanSource | None:
        """The camera on a phone build; in a browser the file chooser (which offers the camera on phones)."""
        if self.page.web:
            return await self.pick_image(progress)
        try:
            from mobile.views.camera import take_photo
        except ImportError:  # pragma: no cover - flet-camera missing from the build
            return await self.pick_image(progress)
        return await take_photo(self.page) or None

    # -- background sync -------------------------------------------------------------------

    async def sync_forever(self) -> None:
        """Sync in the background: every `sync_interval` seconds while signed in."""
        while True:
            await asyncio.sleep(self.ctx.config.sync_interval)
            if not self.ctx.signed_in:
                continue
            await self.ctx.sync_once()
            if self.route == "/":
                self.refresh()
                self.page.update()


def make_main(factory: ContextFactory, *, background_sync: bool = True) -> Callable[[ft.Page], None]:
    """A `main(page)` building its context with `factory` (tests pass their own)."""

    def main(page: ft.Page) -> None:
        ctx = factory()
        page.title = ctx.config.brand_name
        page.theme_mode = ft.ThemeMode.LIGHT
        font = f"fonts/{FILE_NAME}"
        if (ASSETS_DIR / font).is_file():
            # Web mode draws Chinese only with a font it is given (see services/webfont.py).
            page.fonts = {FONT_FAMILY: font}
            page.theme = ft.Theme(color_scheme_seed=ctx.config.primary_color, font_family=FONT_FAMILY)
        else:
            page.theme = ft.Theme(color_scheme_seed=ctx.config.primary_color)
        page.padding = 0
        shell = Shell(page, ctx)
        page.data = shell
        shell.go("/")
        if background_sync:
            page.run_task(shell.sync_forever)

    return main


def default_context(config: AppConfig | None = None) -> AppContext:
    return AppContext(config or load_config())


main = make_main(default_context)


if __name__ == "__main__":  # `flet build` runs this module (pyproject [tool.flet.app])
    ft.run(main, assets_dir=str(ASSETS_DIR))
