"""The result slip and the county operator's home in a real browser at 360×760, against the
real server: township staff open a result-ready case and print its slip (the PDF download is
checked); a county operator unlocks to the county's hand-offs and retries a dead letter.
Screenshots go to test-artifacts/app/ (a person looks at them)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_server.county import outbox as ob
from sync_server.provision import SERVER_DB
from tests.integration.mobile.browser import BROWSER, fill, shot, unlock, web_app
from tests.integration.mobile.helpers import APP_PIN, MODULES, hand_off, put_case, signed_in
from tests.integration.sync_server.server_fixtures import (
    RunningServer,
    Township,
    make_township,
    running_server,
)

pytestmark = BROWSER


@dataclass(frozen=True)
class World:
    server: RunningServer
    township: Township
    staff_data: Path
    county_data: Path
    ready: dict[str, Any]
    dead: dict[str, Any]


async def seed(couchdb_url: str, server: RunningServer, township: Township, root: Path) -> World:
    ready = await put_case(couchdb_url, township.dbs[0], status="result_ready",
                           applicant={"name": "李建国", "id_number": "330212195001021234", "phone": ""})
    forwarded = await put_case(couchdb_url, township.dbs[1], status="forwarded")
    dead = await put_case(couchdb_url, township.dbs[1], status="forwarded")
    result = await put_case(couchdb_url, township.dbs[1], status="approved", county_ref="C-2026-9")
    await hand_off(couchdb_url, township.dbs[1], pending=forwarded, dead=dead, acked=result,
                   county_ref="C-2026-9")
    staff = await signed_in(root / "staff", server.url, township.staff)
    await staff.sync_once()  # the result-ready case is on the staff member's device
    assert staff.sync.snapshot.error == "", staff.sync.snapshot
    staff.close()
    county = await signed_in(root / "county", server.url, township.county)
    county.close()
    return World(server, township, root / "staff", root / "county", ready, dead)


@pytest.fixture(scope="module")
def world(couchdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_server(tmp_path_factory.mktemp("server-data"), couchdb_url, MODULES) as server:
        township = asyncio.run(make_township(couchdb_url))
        yield asyncio.run(seed(couchdb_url, server, township, tmp_path_factory.mktemp("devices")))


@pytest.fixture
def run_app() -> Iterator[Any]:
    """`run_app(data, server_url)`: the app in web mode on that device folder; its URL."""
    with ExitStack() as apps:
        yield lambda data, server_url: apps.enter_context(web_app(data, server_url)).url


def shows(page: Any, text: str) -> None:
    """Waits until `text` is on the screen, as text or in a semantics label."""
    page.wait_for_function(
        "t => document.body.innerText.includes(t) || [...document.querySelectorAll('[aria-label]')]"
        ".some(n => n.getAttribute('aria-label').includes(t))",
        arg=text, timeout=20000)


def test_staff_print_the_result_slip(world: World, run_app: Any, browser_page: Any, tmp_path: Path) -> None:
    page = browser_page
    unlock(page, run_app(world.staff_data, world.server.url), pin=APP_PIN)
    fill(page, "搜索姓名、拼音、身份证号、查询码 Name, pinyin, ID, code", world.ready["tracking_code"])
    # Staff start on "submitted": swipe the filter line to the results waiting for delivery.
    chips = page.locator('[flt-semantics-identifier^="filter-"]')
    first = chips.first.bounding_box()
    assert first is not None
    page.mouse.move(180, first["y"] + first["height"] / 2)
    chosen = page.locator('[flt-semantics-identifier="filter-result_ready"]')
    for _ in range(10):
        if chosen.count() and (box := chosen.bounding_box()) is not None and box["x"] + box["width"] <= 360:
            break
        page.mouse.wheel(120, 0)
        page.wait_for_timeout(200)
    chosen.click()
    rows = page.locator('[flt-semantics-identifier="case-row"]')
    page.wait_for_function("() => document.querySelectorAll('[flt-semantics-identifier=\"case-row\"]')"
                           ".length === 1", timeout=10000)
    rows.first.click()
    page.locator('[flt-semantics-identifier="case-detail"]').wait_for(timeout=20000)
    button = page.locator('[flt-semantics-identifier="open-result-slip"]')
    button.scroll_into_view_if_needed()
    shot(page, "slip-1-case-result-ready")
    button.click()
    page.locator('[flt-semantics-identifier="slip-qr"]').wait_for(timeout=20000)
    page.get_by_text(world.ready["tracking_code"], exact=False).first.wait_for(timeout=10000)
    page.get_by_text("有效期至", exact=False).first.wait_for(timeout=10000)
    box = page.locator('[flt-semantics-identifier="slip-qr"]').bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360  # the QR fits the phone
    shot(page, "slip-2-result-slip")
    with page.expect_download(timeout=20000) as download:
        page.locator('[flt-semantics-identifier="slip-save-pdf"]').click()
    saved = tmp_path / "slip.pdf"
    download.value.save_as(str(saved))
    assert saved.read_bytes().startswith(b"%PDF")
    assert download.value.suggested_filename == f"result-slip-{world.ready['tracking_code']}.pdf"


def test_county_operator_home_and_retry(world: World, run_app: Any, browser_page: Any) -> None:
    page = browser_page
    unlock(page, run_app(world.county_data, world.server.url), pin=APP_PIN, home="county-home")
    results = page.locator('[flt-semantics-identifier="county-results"]')
    results.wait_for(timeout=20000)
    shows(page, "C-2026-9")
    assert page.locator('[flt-semantics-identifier="case-list"]').count() == 0  # not the agent's screen
    shot(page, "county-1-home")
    retry = page.locator(f'[flt-semantics-identifier="retry-{world.dead["tracking_code"]}"]')
    retry.scroll_into_view_if_needed()
    shows(page, "HTTP 422")
    shot(page, "county-2-dead-letter")
    retry.click()
    shows(page, "Queued again")
    shot(page, "county-3-retried")
    entry = _entry(world, world.dead["_id"])
    assert entry["state"] == "pending" and entry["attempts"] == 0


def _entry(world: World, case_id: str) -> dict[str, Any]:
    # Plain HTTP: Playwright's sync API runs its own event loop in this thread.
    response = httpx.get(f"{world.server.ctx.couchdb_url}/{SERVER_DB}/{ob.outbox_id(case_id)}", timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())
