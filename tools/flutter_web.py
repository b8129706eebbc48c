"""Tapping and typing in the Flet app's Flutter web build, on a 360 × 760 page, robustly.

Shared by the browser tests (tests/integration/mobile/) and `make screenshots`
(tools/screenshots.py). Flutter web draws on a canvas and keeps a semantics tree of
`flt-semantics-identifier` nodes beside it; three habits of it decide how to drive it:

- it moves its own scroll view, so the DOM's scrollIntoView does nothing, and a tap on a node
  outside the visible part is lost: `bring` scrolls with the mouse wheel first;
- the first tap after typing only takes the focus from the text field: `unfocus` spends it on
  the step's heading;
- the first input into a screen just drawn can be dropped: `type_at` types twice.

`page` is a Playwright page throughout.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeout

TOP, BOTTOM = 70, 680  # the part of a 760 px screen between the app bar and the step's buttons
NEXT = "下一步 Next"


class StepNotReached(RuntimeError):
    """Next did not lead to the expected screen; the message is the wizard's own refusal."""


def bring(page: Any, ident: str) -> Any:
    """The node `ident`, scrolled wholly between the app bar and the buttons: Flutter web moves
    its own scroll view, so the DOM's scrollIntoView does not, and a tap off screen is lost."""
    node = page.locator(f'[flt-semantics-identifier="{ident}"]').first
    node.wait_for(state="attached", timeout=10000)
    box = node.bounding_box()
    if box is not None and box["y"] >= TOP and box["y"] + box["height"] <= BOTTOM:
        return node
    page.mouse.move(180, 400)
    page.mouse.wheel(0, (box["y"] - 300) if box is not None else 300)
    page.wait_for_function(
        """([ident, top, bottom]) => {
            const node = document.querySelector(`[flt-semantics-identifier="${ident}"]`);
            const r = node && node.getBoundingClientRect();
            return r && r.top >= top && r.bottom <= bottom;
        }""",
        arg=[ident, TOP, BOTTOM], timeout=10000)
    return node


def unfocus(page: Any) -> None:
    """A tap on the step's heading: the first tap after typing only takes the focus from the
    field in Flutter web, so it is spent here rather than on a button."""
    page.mouse.click(6, 84)


def tap(page: Any, ident: str) -> None:
    unfocus(page)
    bring(page, ident).click()


def choose(page: Any, ident: str) -> None:
    """Taps a choice and waits until the redrawn screen shows it chosen (✓): a tap during the
    redraw would land on the old screen."""
    tap(page, ident)
    page.wait_for_function(
        """(ident) => [...document.querySelectorAll(`[flt-semantics-identifier="${ident}"]`)]
                 .some(n => (n.getAttribute('aria-label') || n.innerText || '').includes('✓'))""",
        arg=ident, timeout=10000)


def type_at(page: Any, ident: str, value: str) -> None:
    """Types into the text field of question `ident`, then again into the settled screen
    (Flutter web can drop the first input into a screen just drawn)."""
    for _ in range(2):
        box = bring(page, ident).get_by_role("textbox")
        box.click()
        box.fill(value)


def next_to(page: Any, ident: str) -> None:
    """Next, until the next page's `ident` shows: the first tap after typing may only take the
    focus from the field; a refusal is reported with the wizard's message."""
    unfocus(page)
    for _ in range(3):
        page.get_by_role("button", name=NEXT).first.click()
        try:
            wait_for(page, ident, 5000)
            return
        except PlaywrightTimeout:
            continue
    error = page.locator('[flt-semantics-identifier="wizard-error"]')
    raise StepNotReached(f"{ident} not reached: {error.get_attribute('aria-label') if error.count() else ''}")


def wait_for(page: Any, ident: str, timeout: float = 10000) -> None:
    page.locator(f'[flt-semantics-identifier="{ident}"]').first.wait_for(timeout=timeout)
