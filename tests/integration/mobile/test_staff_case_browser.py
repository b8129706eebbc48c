"""The staff case screen in a real browser at 360×760 (受审分离): the staff member who accepted a
case is not offered 办结 and is told why; another staff member's 办结 asks for confirmation,
and 取消 Cancel changes nothing. Screenshots go to test-artifacts/app/ for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from mobile.store import LocalStore
from mobile.viewmodels.casebook import CaseBook
from shared.idnumber import make_id_number
from tests.integration.mobile.browser import BROWSER, RunningApp, seed_device, shot, text_of, unlock, web_app
from tests.unit.mobile.factories import make_case
from tests.unit.mobile.fakes import STAFF

COLLEAGUE = replace(STAFF, username="staff9", display_name="赵科员")
MINE, THEIRS = "钱受理", "孙审批"  # applicants of the case I accepted / a colleague accepted

pytestmark = BROWSER


def accepted_case(store: LocalStore, acceptor: CaseBook, name: str, born: date, serial: int) -> None:
    applicant = {"name": name, "id_number": make_id_number("330212", born, serial), "phone": ""}
    case = make_case(acceptor, item_code="SB-001", situation="self", status="accepted",
                     accepted_at="2026-11-24T02:00:00Z", deadline="2026-12-31", applicant=applicant)
    acceptor.add_event(case, "accepted", {"from": "submitted", "to": "accepted"})


@pytest.fixture
def staff_app(tmp_path: Path) -> Iterator[RunningApp]:
    """The app offline for township staff member staff1, with two accepted cases pulled earlier."""
    data = tmp_path / "staff-device"
    data.mkdir()
    seed_device(data, STAFF, "dev-staff")
    store = LocalStore(data / "store.sqlite")
    now = lambda: datetime.now(UTC)  # noqa: E731
    accepted_case(store, CaseBook(store, STAFF, "dev-staff", now), MINE, date(1952, 3, 4), 13)
    accepted_case(store, CaseBook(store, COLLEAGUE, "dev-colleague", now), THEIRS, date(1960, 5, 6), 27)
    store.close()
    with web_app(data) as running:
        yield running


def open_case(page: Any, applicant: str) -> None:
    page.locator('[flt-semantics-identifier="case-row"]').filter(has_text=applicant).first.click()
    page.locator('[flt-semantics-identifier="case-detail"]').wait_for(timeout=20000)


def test_the_acceptor_is_told_why_there_is_no_approve_and_decisions_ask_first(
    staff_app: RunningApp, browser_page: Any
) -> None:
    page = browser_page
    unlock(page, staff_app.url)
    open_case(page, MINE)
    note = page.locator('[flt-semantics-identifier="separation-note"]')
    note.wait_for(timeout=20000)
    assert "受审分离" in text_of(note)
    assert page.locator('[flt-semantics-identifier="action-approved"]').count() == 0
    assert page.locator('[flt-semantics-identifier="action-rejected"]').count() == 0
    page.locator('[flt-semantics-identifier="action-needs_materials"]').wait_for(timeout=5000)
    page.mouse.move(180, 400)
    page.mouse.wheel(0, 2000)  # the note and the actions are at the end of the screen
    shot(page, "31-staff-acceptor-no-approve")

    page.locator('[flt-semantics-identifier="back"]').click()
    page.locator('[flt-semantics-identifier="case-list"]').wait_for(timeout=20000)
    open_case(page, THEIRS)
    approve = page.locator('[flt-semantics-identifier="action-approved"]')
    approve.wait_for(timeout=20000)
    assert page.locator('[flt-semantics-identifier="separation-note"]').count() == 0
    page.mouse.move(180, 400)
    page.mouse.wheel(0, 2000)
    approve.click()
    dialog = page.locator('[flt-semantics-identifier="confirm-dialog"]')
    dialog.wait_for(timeout=10000)
    assert "确定办结" in text_of(dialog)
    shot(page, "32-staff-approve-confirm")
    page.locator('[flt-semantics-identifier="confirm-no"]').click()
    dialog.wait_for(state="detached", timeout=10000)
    # Nothing changed: the button is back once Flutter has rebuilt the semantics under the dialog.
    page.locator('[flt-semantics-identifier="action-approved"]').wait_for(timeout=10000)
    page.locator('[flt-semantics-identifier="action-approved"]').click()
    dialog.wait_for(timeout=10000)
    page.locator('[flt-semantics-identifier="confirm-yes"]').click()
    page.locator('[flt-semantics-identifier="action-approved"]').wait_for(state="detached", timeout=10000)
    shot(page, "33-staff-approved")
    store = LocalStore(staff_app.data / "store.sqlite")
    try:
        cases = [row["doc"] for row in store.find_docs("case", limit=10, include_docs=True)]
        statuses = {c["applicant"]["name"]: c["status"] for c in cases}
    finally:
        store.close()
    assert statuses == {MINE: "accepted", THEIRS: "approved"}
