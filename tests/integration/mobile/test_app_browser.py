"""The app in a real browser: headless Debian Chromium drives the main flow offline —
unlock with the PIN, create an application through every wizard step, get the receipt —
and saves screenshots of each screen to test-artifacts/ (a person looks at them)."""

from __future__ import annotations

import base64
import itertools
import re
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mobile.store import LocalStore
from mobile.viewmodels.casebook import CaseBook
from shared.delivery import delivery_url, issue_token
from shared.idnumber import make_id_number
from shared.ids import new_tracking_code
from tests.integration.mobile.browser import (
    ARTIFACTS,
    BROWSER,
    PIN,
    RunningApp,
    click,
    draw_signature,
    fill,
    open_app,
    receipt_code,
    seed_device,
    shot,
    text_of,
    unlock,
    web_app,
)
from tests.unit.mobile.factories import make_case
from tests.unit.mobile.fakes import AGENT
from tests.unit.mobile.images import jpeg_bytes, text_page

PAD = 12  # the screens' padding (mobile/views/ui.py)
KEY = Ed25519PrivateKey.generate()
RESULT_CODE = new_tracking_code(b"\x05" * 7)

pytestmark = BROWSER


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The app in web mode, for an agent who signed in online earlier and set a PIN."""
    data = tmp_path_factory.mktemp("device")
    seed_device(
        data, AGENT, "dev-browser",
        public_key=base64.b64encode(KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode(),
    )
    # A result waiting for delivery, pulled on an earlier sync.
    store = LocalStore(data / "store.sqlite")
    book = CaseBook(store, AGENT, "dev-browser", lambda: datetime.now(UTC))
    result = make_case(
        book,
        item_code="SB-001",
        situation="self",
        status="result_ready",
        tracking_code=RESULT_CODE,
        applicant={
            "name": "李建国",
            "id_number": make_id_number("330212", date(1950, 1, 2), 11),
            "phone": "",
        },
    )
    # A second case, so the list can show whether two fit under the header on a small phone.
    make_case(
        book,
        status="submitted",
        applicant={
            "name": "赵桂兰",
            "id_number": make_id_number("330212", date(1948, 7, 9), 25),
            "phone": "",
        },
    )
    store.close()
    (data / "result-case.txt").write_text(result["_id"])
    with web_app(data) as running:
        yield running


def test_offline_unlock_and_new_application_to_receipt(
    app: RunningApp, browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    open_app(page, app.url)

    page.get_by_role("textbox", name="解锁密码 PIN").wait_for(timeout=20000)
    shot(page, "01-unlock")
    fill(page, "解锁密码 PIN", PIN)
    click(page, "解锁 Unlock")

    page.locator('[flt-semantics-identifier="case-list"]').wait_for(timeout=20000)
    shot(page, "02-case-list")
    click(page, "新建申请 New application")

    page.locator('[flt-semantics-identifier="wizard-item"]').wait_for(timeout=10000)
    shot(page, "03-item")
    # The list filters as the agent types (no Enter), by full pinyin too.
    fill(page, "搜索事项 Search items", "zzzzzz")
    page.locator('[flt-semantics-identifier="no-items"]').wait_for(timeout=10000)
    fill(page, "搜索事项 Search items", "jibenyanglao")
    page.locator('[flt-semantics-identifier="no-items"]').wait_for(state="detached", timeout=10000)
    shot(page, "03b-item-search")
    page.get_by_role("button", name="城乡居民基本养老保险参保登记").first.click()

    page.locator('[flt-semantics-identifier="wizard-situation"]').wait_for(timeout=10000)
    # What the agent tells the citizen first: conditions, fee, legal basis.
    facts = page.locator('[flt-semantics-identifier="item-facts"]')
    facts.wait_for(timeout=10000)
    for shown in ("受理条件 Conditions", "年满16周岁", "收费 Fee", "免费 Free", "设定依据 Legal basis",
                  "《中华人民共和国社会保险法》"):
        assert shown in text_of(facts), text_of(facts)
    shot(page, "04-situation")
    page.get_by_role("button", name="本人申请").first.click()

    page.locator('[flt-semantics-identifier="wizard-applicant"]').wait_for(timeout=10000)
    number = make_id_number("330212", date(1958, 5, 17), 231)
    fill(page, "姓名 Name", "王秀英")
    fill(page, "身份证号 ID number", number[:17] + ("0" if number[17] != "0" else "1"))
    page.locator('[flt-semantics-identifier="id-check"]').wait_for(timeout=10000)
    shot(page, "05-applicant-wrong-id")
    fill(page, "身份证号 ID number", number)
    fill(page, "手机号 Phone", "13912345678")
    page.get_by_text("身份证号正确", exact=False).first.wait_for(timeout=10000)
    # Flutter web can drop the first input into a step it has just built (seen on a loaded
    # machine: the name empty, "Enter the name"); typed again into the settled step, it lands.
    fill(page, "姓名 Name", "王秀英")
    shot(page, "06-applicant")
    click(page, "下一步 Next")

    page.locator('[flt-semantics-identifier="wizard-materials"]').wait_for(timeout=10000)
    scan = tmp_path / "id-card.jpg"
    scan.write_bytes(jpeg_bytes(text_page(1600, 1100)))
    with page.expect_file_chooser() as chooser:
        page.locator('[flt-semantics-identifier="pick-id_card"]').click()
    chooser.value.set_files(str(scan))
    page.get_by_role("button", name="重拍 Retake").first.wait_for(timeout=20000)
    shot(page, "07-materials")
    page.mouse.wheel(0, 600)
    shot(page, "07b-materials-scrolled")
    click(page, "下一步 Next")

    page.locator('[flt-semantics-identifier="wizard-notice"]').wait_for(timeout=10000)
    shot(page, "08-one-time-notice")
    click(page, "下一步 Next")

    draw_signature(page)
    shot(page, "09-signature")
    click(page, "下一步 Next")

    page.locator('[flt-semantics-identifier="wizard-review"]').wait_for(timeout=10000)
    shot(page, "10-review")
    click(page, "提交 Submit")

    code = receipt_code(page)
    shot(page, "11-receipt")
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", code), code
    # The receipt says when the case is due and how the citizen looks it up.
    due = page.locator('[flt-semantics-identifier="due-date"]')
    due.wait_for(timeout=10000)
    assert "预计办结" in text_of(due)
    page.mouse.move(180, 400)
    page.mouse.wheel(0, 900)
    how = page.locator('[flt-semantics-identifier="how-to-check"]')
    how.wait_for(timeout=10000)
    assert "后4位" in text_of(how) and f"/t/{code}" in text_of(how)
    shot(page, "11b-receipt-how-to-check")
    image = app.data / "receipts" / f"receipt-{code}.png"
    assert image.exists()
    shutil.copy(image, ARTIFACTS / "11c-receipt-image.png")
    click(page, "首页 Home")
    page.locator('[flt-semantics-identifier="case-list"]').wait_for(timeout=10000)
    page.get_by_text("王秀英", exact=False).first.wait_for(timeout=10000)
    shot(page, "12-case-list-after")


def test_delivery_with_typed_qr_text_and_receiver_signature(app: RunningApp, browser_page: Any) -> None:
    case_id = (app.data / "result-case.txt").read_text()
    token = issue_token(
        KEY, case_id=case_id, tracking_code=RESULT_CODE, now=datetime.now(UTC), token_id=b"\x07" * 8
    )
    page = browser_page
    unlock(page, app.url)
    page.locator('[flt-semantics-identifier="open-delivery"]').click()
    page.get_by_role("textbox", name="手动输入二维码内容 Type the QR text").wait_for(timeout=10000)
    shot(page, "21-delivery-scan")
    fill(
        page, "手动输入二维码内容 Type the QR text", delivery_url("http://127.0.0.1:8000", RESULT_CODE, token)
    )
    click(page, "核验 Verify")
    page.get_by_text("李建国", exact=False).first.wait_for(timeout=10000)
    draw_signature(page)
    shot(page, "22-delivery-verified")
    click(page, "送达 Deliver")
    page.locator('[flt-semantics-identifier="delivered"]').wait_for(timeout=10000)
    shot(page, "23-delivered")


def boxes_when(
    page: Any, selector: str, ready: Callable[[list[Any]], bool], timeout: float = 10
) -> list[Any]:
    """The bounding boxes of `selector` once `ready(boxes)` holds: layout and scrolling take frames."""
    deadline = time.monotonic() + timeout
    while True:
        nodes = page.locator(selector)
        boxes = [nodes.nth(i).bounding_box() for i in range(nodes.count())]
        if boxes and None not in boxes and ready(boxes):
            return boxes
        if time.monotonic() > deadline:
            raise AssertionError(f"{selector}: {boxes}")
        page.wait_for_timeout(100)


CHIPS = '[flt-semantics-identifier^="filter-"]'


def settled_boxes(page: Any, selector: str, ready: Callable[[list[Any]], bool]) -> list[Any]:
    """`boxes_when`, and then the same boxes three looks in a row: the web font may still be
    arriving after the first layout (a fresh checkout makes its subset at the app's first
    start), and chips laid out in the fallback font are narrower."""
    seen: list[list[Any]] = []

    def steady(boxes: list[Any]) -> bool:
        seen.append(boxes)
        return ready(boxes) and len(seen) >= 3 and seen[-3] == seen[-2] == boxes

    return boxes_when(page, selector, steady, timeout=20)


def chip_widths(page: Any) -> list[float]:
    """Each filter chip's own width, measured on a screen wide enough for the whole line."""
    size = page.viewport_size
    bar = '[flt-semantics-identifier="sync-bar"]'
    page.set_viewport_size({"width": 1200, "height": size["height"]})
    # The line starts at the same place on both screens: only the full-width sync bar tells
    # that the app has laid itself out for the wide one (until then the chips are still clipped).
    boxes_when(page, bar, lambda bs: bs[0]["width"] > 1000)
    boxes = settled_boxes(page, CHIPS, lambda bs: bs[-1]["x"] + bs[-1]["width"] < 1200)
    page.set_viewport_size(size)
    boxes_when(page, bar, lambda bs: bs[0]["width"] < size["width"])
    boxes_when(page, CHIPS, lambda bs: bs[-1]["x"] > size["width"])
    return [b["width"] for b in boxes]


def whole(box: Any, width: float, screen: float) -> bool:
    """A chip wholly in sight: a box cut by the screen's edge ends there, narrower than the chip."""
    return bool(box["x"] >= PAD and box["x"] + box["width"] <= screen - PAD and box["width"] >= width - 0.5)


def test_case_filters_are_one_line_and_leave_room_for_two_cases(app: RunningApp, browser_page: Any) -> None:
    """On a 360 × 760 phone the filter chips are one sideways-scrolling line of whole chips at
    least 48 px high (gloved fingers), so the header leaves room for two cases."""
    page = browser_page
    unlock(page, app.url)
    rows = page.locator('[flt-semantics-identifier="case-row"]')
    rows.nth(1).wait_for(timeout=10000)  # the fixture's two cases, or more
    widths = chip_widths(page)
    line = boxes_when(page, CHIPS, lambda bs: True)
    shot(page, "30-case-list-filters")
    assert len(line) == 7, line  # the agent's filters, 全部 … 已办结
    assert {b["y"] for b in line} == {line[0]["y"]}, line  # one line
    assert all(b["height"] >= 48 for b in line), line
    assert line[0]["x"] == PAD and line[-1]["x"] > page.viewport_size["width"], line  # it scrolls
    # Whole labels: each chip as wide here as on the wide screen (its box may be cut by the
    # screen's edge, so its width is where the next chip starts), none squeezed.
    pitch = [b["x"] - a["x"] for a, b in itertools.pairwise(line)]
    assert all(p >= w for p, w in zip(pitch, widths, strict=False)), (pitch, widths)

    # The header (app bar, sync bar, search, filters) leaves two whole cases above the bottom
    # button; with the chips wrapped onto four lines the first case started at y ≈ 480.
    first, second = rows.nth(0).bounding_box(), rows.nth(1).bounding_box()
    bottom = page.locator('[flt-semantics-identifier="new-application"]').bounding_box()
    bar = page.locator('[flt-semantics-identifier="sync-bar"]').bounding_box()
    assert first is not None and second is not None and bottom is not None and bar is not None
    assert first["y"] < 300, first
    assert second["y"] + second["height"] <= bottom["y"], (second, bottom)
    assert bar["height"] <= 64, bar  # two lines of words beside the 56-px sync button


def test_a_cut_or_hidden_case_filter_is_reached_and_chosen(app: RunningApp, browser_page: Any) -> None:
    """The chip cut by the screen's edge, tapped, is chosen and scrolled wholly into sight (the
    screen itself stays); the last chip is reached by scrolling the line, then tapped."""
    page = browser_page
    unlock(page, app.url)
    screen = page.viewport_size["width"]
    widths = chip_widths(page)

    def cut_by_the_edge(boxes: list[Any]) -> list[int]:
        # A chip's box is clipped where the screen's padding begins: the cut one ends right there.
        return [i for i, b in enumerate(boxes) if b["x"] < screen - PAD <= b["x"] + b["width"] + 0.5]

    # Layout after the viewport change takes frames: wait until the line has settled into one.
    line = settled_boxes(page, CHIPS, lambda bs: bool(cut_by_the_edge(bs)))
    bar = page.locator('[flt-semantics-identifier="sync-bar"]').bounding_box()

    cut = cut_by_the_edge(line)[0]
    page.locator(CHIPS).nth(cut).click()
    page.locator(CHIPS).nth(cut).locator('[aria-checked="true"]').wait_for(timeout=10000)
    boxes_when(page, CHIPS, lambda bs: whole(bs[cut], widths[cut], screen))
    assert page.locator('[flt-semantics-identifier="sync-bar"]').bounding_box() == bar
    shot(page, "31-case-list-filter-revealed")

    # A finger swipes the line; Chromium here has a mouse, whose sideways wheel does the same.
    page.mouse.move(screen / 2, line[0]["y"] + line[0]["height"] / 2)
    page.mouse.wheel(2000, 0)
    boxes_when(page, CHIPS, lambda bs: whole(bs[-1], widths[-1], screen))
    page.locator(CHIPS).last.click()
    page.locator('[flt-semantics-identifier="filter-finished"] [aria-checked="true"]').wait_for(timeout=10000)
    boxes_when(page, CHIPS, lambda bs: whole(bs[-1], widths[-1], screen))
    shot(page, "32-case-list-finished")


def test_case_search_filters_as_typed_by_full_pinyin_and_part_of_the_code(
    app: RunningApp, browser_page: Any
) -> None:
    """The search box promises name, pinyin, ID and code: full pinyin and 4 characters of a
    tracking code find the case as they are typed, with no Enter."""
    from playwright.sync_api import expect

    page = browser_page
    unlock(page, app.url)
    rows = page.locator('[flt-semantics-identifier="case-row"]')
    rows.nth(1).wait_for(timeout=10000)
    box = "搜索姓名、拼音、身份证号、查询码 Name, pinyin, ID, code"
    fill(page, box, "lijianguo")  # 李建国
    expect(rows).to_have_count(1, timeout=10000)
    shot(page, "32-case-search-pinyin")
    fill(page, box, RESULT_CODE.replace("-", "")[4:8].lower())
    expect(rows).to_have_count(1, timeout=10000)
    fill(page, box, "")
    expect(rows.nth(1)).to_be_attached(timeout=10000)


def test_sync_now_without_a_server_says_offline(app: RunningApp, browser_page: Any) -> None:
    """The whole way from the button to the round: the server (port 9) does not answer, the
    round's first question finds it out, and the sync screen says offline, not "syncing"."""
    page = browser_page
    unlock(page, app.url)
    page.get_by_text("立即同步", exact=False).first.click()  # the case list's button opens the screen
    now = page.locator('[flt-semantics-identifier="sync-now"]')
    now.wait_for(timeout=10000)
    now.click()
    page.get_by_text("无网络", exact=False).first.wait_for(timeout=20000)
    shot(page, "40-sync-offline")
    assert not page.get_by_text("正在同步", exact=False).count()
