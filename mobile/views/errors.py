"""Form errors next to what caused them (表单错误提示).

An error shows right under the control that caused it (the reason field, the checklist, the
PIN), never at the top of a long screen: the form is not rebuilt, so the screen does not
jump; the error is scrolled into sight and the field gets the focus. The slot is a
Semantics live region labelled with the error: Flutter's web engine speaks a live region's
label through its `aria-live` announcement element when the label changes, so a screen
reader hears the error without moving there.
"""

from __future__ import annotations

import flet as ft

from mobile.views import ui


class ErrorSlot:
    """An empty place under a control that shows (and announces) its error."""

    def __init__(self, ident: str, text: str = "") -> None:
        self.ident = ident
        self.control = ft.Semantics(
            identifier=ident,
            key=ft.ScrollKey(ident),  # type: ignore[call-arg]  # a dataclass mypy cannot see through
            live_region=True,
            # The label is what is read: the words inside are not read a second time.
            exclude_semantics=True,
            content=ft.Container(height=0),
        )
        self.show(text)

    @property
    def text(self) -> str:
        return self.control.label or ""

    def show(self, text: str) -> None:
        """Sets the error ("" hides it); the screen shows it at its next update."""
        self.control.label = text or None
        self.control.content = ui.message(text)

    async def reveal(self, text: str, focus: ft.TextField | None = None) -> None:
        """Shows `text` now, scrolls it into sight and puts the cursor in `focus`."""
        self.show(text)
        # The whole page, so other changes the handler made show too (Flet skips its own
        # update after a handler that updated).
        self.control.page.update()
        await _scroll_into_sight(self.control, self.ident)
        if focus is not None:
            await focus.focus()


async def _scroll_into_sight(control: ft.Control, key: str) -> None:
    screen = control.parent
    while screen is not None and not (isinstance(screen, ft.Column) and screen.scroll):
        screen = screen.parent
    if isinstance(screen, ft.Column):
        await screen.scroll_to(scroll_key=key, duration=200)
