"""Township staff's screens in headless Chromium at 360×760 (issue 17): errors beside the form
that caused them, names instead of codes, the header's shortcuts with words, one 已提交 chip,
and a sign-out confirmation whose words are not cut. Screenshots go to test-artifacts/app/."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from mobile.store import LocalStore
from mobile.viewmodels.casebook import CaseBook
from shared.idnumber import make_id_number
from shared.ids import new_tracking_code
from tests.integration.mobile.browser import BROWSER, RunningApp, seed_device, shot, text_of, unlock, web_app
from tests.unit.mobile.factories import make_case
from tests.unit.mobile.fakes import AGENT, STAFF

pytestmark = BROWSER

# What the server's directory gave at sign-in (sync_server/auth/directory.py).
NAMED_STAFF = replace(
    STAFF,
    display_name="王站长",
    people=(("agent1", "李晓燕"), ("staff1", "王站长")),
    places=(
        ("330212001", "云溪镇(示例)"),
        ("330212001001", "青山村(示例)"),
        ("330212001002", "白水村(示例)"),
    ),
)


@pytest.fixture(scope="module")
def staff_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The app in web mode for a township staff member with a submitted case from agent1."""
    data = tmp_path_factory.mktemp("staff-device")
    seed_device(data, NAMED_STAFF, "dev-staff-browser")
    store = LocalStore(data / "store.sqlite")
    agent = CaseBook(store, AGENT, "dev-agent", lambda: datetime.now(UTC))
    case = make_case(
        agent,
        item_code="SB-001",
        situation="self",
        status="submitted",
        tracking_code=new_tracking_code(b"\x09" * 7),
        applicant={
            "name": "孙玉珍",
            "id_number": make_id_number("330212", date(1952, 4, 3), 31),
            "phone": "",
        },
    )
    agent.add_event(case, "submitted", {"tracking_code": case["tracking_code"]})
    store.close()
    (data / "case.txt").write_text(case["_id"])
    with web_app(data) as running:
        yield running


def ident(page: Any, name: str) -> Any:
    return page.locator(f'[flt-semantics-identifier="{name}"]')


def said(page: Any, words: str) -> None:
    """Waits until the screen reader's tree (labels and texts) holds `words`."""
    page.wait_for_function(
        """words => [...document.querySelectorAll('flt-semantics')].some(
            n => (n.getAttribute('aria-label') || '').includes(words) || n.textContent.includes(words))""",
        arg=words,
        timeout=10000,
    )


def inside(box: Any, width: float = 360, height: float = 760) -> bool:
    return box is not None and box["x"] >= 0 and box["y"] >= 0 and (
        box["x"] + box["width"] <= width and box["y"] + box["height"] <= height)


def test_staff_header_has_words_whole_name_and_one_submitted_chip(
    staff_app: RunningApp, browser_page: Any
) -> None:
    page = browser_page
    unlock(page, staff_app.url)
    for name, words in (("open-reviews", "冲突审核"), ("open-supervision", "电子监察"),
                        ("open-delivery", "送达确认"), ("open-settings", "设置")):
        node = ident(page, name)
        node.wait_for(timeout=10000)
        assert words in text_of(node) and inside(node.bounding_box())
    # "办件 Cases" with the name whole on its own line under it (a line may wrap, never cut)
    title = ident(page, "case-list-title")
    title.wait_for(timeout=10000)
    assert inside(title.bounding_box())
    assert "办件 Cases" in text_of(title) and "王站长" in text_of(title), text_of(title)
    assert ident(page, "filter-submitted").count() == 1
    # The rest of the screen is drawn under the shortcuts (a layout error would leave it blank).
    ident(page, "case-row").first.wait_for(timeout=10000)
    assert inside(ident(page, "sync-bar").bounding_box())
    shot(page, "40-staff-home")


def test_reject_without_reason_shows_the_error_beside_the_button(
    staff_app: RunningApp, browser_page: Any
) -> None:
    page = browser_page
    unlock(page, staff_app.url)
    row = ident(page, "case-row").first
    row.wait_for(timeout=10000)
    row.click()
    ident(page, "case-detail").wait_for(timeout=20000)
    shot(page, "41-staff-case-detail")
    # Names, not codes: the agent and the role on the timeline.
    said(page, "李晓燕 · 村代办员 Village agent")
    reject = ident(page, "action-rejected")
    reject.scroll_into_view_if_needed()
    reject.click()
    error = ident(page, "error-rejected")
    error.wait_for(timeout=10000)
    page.wait_for_timeout(600)  # the scroll to the error is animated (200 ms)
    assert "请填写原因" in text_of(error)
    assert inside(error.bounding_box()) and inside(reject.bounding_box())
    assert page.locator("flt-announcement-host").count() == 1  # where live regions are spoken
    shot(page, "42-reject-needs-reason")


def test_sign_out_confirmation_is_not_cut(staff_app: RunningApp, browser_page: Any) -> None:
    page = browser_page
    unlock(page, staff_app.url)
    ident(page, "open-settings").click()
    said(page, "王站长 · 乡镇工作人员 Township staff")
    said(page, "云溪镇(示例)")  # the township by name, not 330212001
    ident(page, "sign-out").click()
    confirm = ident(page, "sign-out-confirm")
    confirm.wait_for(timeout=10000)
    box = confirm.bounding_box()
    assert inside(box) and box["height"] >= 56
    shot(page, "43-sign-out-confirm")
