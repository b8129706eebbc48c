"""Big phone photos and the signature alternatives in a real browser (issue 17), on a
360 × 760 phone screen: a ~20 MB photo from the file chooser arrives with progress and is
accepted; a PDF is refused with a message and the buttons still work; a proxy signs."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

from shared.idnumber import make_id_number
from tests.integration.mobile.browser import (
    ARTIFACTS,
    BROWSER,
    RunningApp,
    click,
    draw_signature,
    fill,
    receipt_code,
    shot,
    text_of,
    unlock,
)
from tests.integration.mobile.test_app_browser import app
from tests.unit.mobile.images import big_photo, jpeg_bytes, text_page

__all__ = ["app"]  # the agent's device of test_app_browser, a fixture used by name

pytestmark = BROWSER


def start_application(page: Any, url: str, name: str, number: str) -> None:
    """Unlock, then the wizard up to the materials checklist of 城乡居民基本养老保险参保登记."""
    unlock(page, url)
    click(page, "新建申请 New application")
    page.locator('[flt-semantics-identifier="wizard-item"]').wait_for(timeout=10000)
    fill(page, "搜索事项 Search items", "jibenyanglao")
    page.get_by_role("button", name="城乡居民基本养老保险参保登记").first.click()
    page.locator('[flt-semantics-identifier="wizard-situation"]').wait_for(timeout=10000)
    page.get_by_role("button", name="本人申请").first.click()
    page.locator('[flt-semantics-identifier="wizard-applicant"]').wait_for(timeout=10000)
    fill(page, "姓名 Name", name)
    fill(page, "身份证号 ID number", number)
    page.get_by_text("身份证号正确", exact=False).first.wait_for(timeout=10000)
    fill(page, "姓名 Name", name)  # typed again into the settled step (see test_app_browser)
    click(page, "下一步 Next")
    page.locator('[flt-semantics-identifier="wizard-materials"]').wait_for(timeout=10000)


def to_signature_step(page: Any) -> None:
    """From the materials checklist past the one-time notice to the signature step."""
    click(page, "下一步 Next")
    page.locator('[flt-semantics-identifier="wizard-notice"]').wait_for(timeout=10000)
    click(page, "下一步 Next")
    page.locator('[flt-semantics-identifier="wizard-signature"]').wait_for(timeout=10000)


def pick_file(page: Any, ident: str, path: Path) -> None:
    with page.expect_file_chooser() as chooser:
        page.locator(f'[flt-semantics-identifier="{ident}"]').click()
    chooser.value.set_files(str(path))


def test_a_20_mb_photo_arrives_with_progress_and_a_pdf_is_refused(
    app: RunningApp, browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    start_application(page, app.url, "陈桂芳", make_id_number("330212", date(1961, 3, 8), 417))

    # A PDF given to the image chooser: a clear refusal on the row, nothing stored.
    pdf = tmp_path / "form.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + b"0" * 50_000)
    pick_file(page, "pick-id_card", pdf)
    error = page.locator('[flt-semantics-identifier="scan-error-id_card"]')
    error.wait_for(timeout=30000)
    assert "不是图片" in text_of(error) and "Not a picture" in text_of(error)
    shot(page, "40-photo-not-an-image")

    # The buttons work again: a 48 MP, ~20 MB photo arrives, with progress, and is accepted.
    photo = tmp_path / "IMG_20261207_48MP.jpg"
    assert big_photo(photo, 8000, 6000, quality=50) > 18_000_000
    pick_file(page, "pick-id_card", photo)
    # The row shows the photo on its way (a share arrived, or "processing" once all of it has).
    progress = page.locator('[flt-semantics-identifier="scan-progress-id_card"]')
    progress.wait_for(timeout=60000)
    assert "照片传输中" in text_of(progress) or "正在处理照片" in text_of(progress), text_of(progress)
    page.screenshot(path=str(ARTIFACTS / "41-photo-arriving.png"))  # at once: the state is brief
    page.get_by_role("button", name="重拍 Retake").first.wait_for(timeout=120000)
    progress.wait_for(state="detached", timeout=10000)
    assert page.locator('[flt-semantics-identifier="scan-error-id_card"]').count() == 0
    shot(page, "42-photo-accepted")
    # The uploaded file is deleted once processed: an ID card's photo does not linger.
    uploads = app.data / "uploads"
    assert not list(uploads.glob("*.upload"))


def test_a_proxy_signs_for_an_applicant_who_cannot(app: RunningApp, browser_page: Any) -> None:
    page = browser_page
    start_application(page, app.url, "赵老汉", make_id_number("330212", date(1938, 2, 14), 71))
    to_signature_step(page)
    page.locator('[flt-semantics-identifier="signing-proxy"]').click()
    page.get_by_role("textbox", name="代签人姓名 Proxy's name").wait_for(timeout=10000)
    proxy_id = make_id_number("330212", date(1969, 6, 30), 19)
    fill(page, "代签人姓名 Proxy's name", "赵建华")
    fill(page, "代签人身份证号 Proxy's ID number", proxy_id[:17] + ("0" if proxy_id[17] != "0" else "1"))
    fill(page, "与申请人关系（可不填） Relation to the applicant (optional)", "儿子")
    # Typed again into the settled step (Flutter web can drop the first input, see test_app_browser).
    fill(page, "代签人姓名 Proxy's name", "赵建华")
    fill(page, "与申请人关系（可不填） Relation to the applicant (optional)", "儿子")
    shot(page, "43-proxy-form")
    page.mouse.move(180, 400)
    page.mouse.wheel(0, 600)
    draw_signature(page)
    click(page, "下一步 Next")
    refusal = page.locator('[flt-semantics-identifier="proxy-error"]')
    refusal.wait_for(timeout=10000)
    assert "代签人身份证号" in text_of(refusal) and "校验" in text_of(refusal)  # the wrong check digit
    shot(page, "44-proxy-wrong-id")
    # What was typed and drawn is kept: only the ID number is typed again (the review below
    # shows the name, and no new signature is drawn).
    fill(page, "代签人身份证号 Proxy's ID number", proxy_id)
    # Typed again into the settled, rebuilt step (Flutter web can drop the first input, as above).
    refusal.wait_for(timeout=10000)
    fill(page, "代签人身份证号 Proxy's ID number", proxy_id)
    click(page, "下一步 Next")

    page.locator('[flt-semantics-identifier="wizard-review"]').wait_for(timeout=10000)
    review = page.locator('[flt-semantics-identifier="wizard-review"]')
    page.get_by_text("赵建华", exact=False).first.wait_for(timeout=10000)
    assert "代签" in text_of(review) and proxy_id not in text_of(review)
    shot(page, "45-proxy-review")
    click(page, "提交 Submit")
    code = receipt_code(page)
    shot(page, "46-proxy-receipt")
    image = app.data / "receipts" / f"receipt-{code}.png"
    assert image.exists()
    shutil.copy(image, ARTIFACTS / "46b-proxy-receipt-image.png")


def test_a_fingerprint_photo_instead_of_a_signature(
    app: RunningApp, browser_page: Any, tmp_path: Path
) -> None:
    page = browser_page
    start_application(page, app.url, "钱秀兰", make_id_number("330212", date(1941, 11, 3), 88))
    to_signature_step(page)
    shot(page, "47-signing-choices")
    page.locator('[flt-semantics-identifier="signing-fingerprint"]').click()
    page.locator('[flt-semantics-identifier="pick-fingerprint"]').wait_for(timeout=10000)
    click(page, "下一步 Next")  # no photo yet: said so, and the step stays
    page.get_by_text("请拍摄手印照片", exact=False).first.wait_for(timeout=10000)
    thumb = tmp_path / "fingerprint.jpg"
    thumb.write_bytes(jpeg_bytes(text_page(1200, 900)))
    pick_file(page, "pick-fingerprint", thumb)
    page.locator('[flt-semantics-identifier="signing-mark"]').wait_for(timeout=60000)
    shot(page, "48-fingerprint-taken")
    click(page, "下一步 Next")
    review = page.locator('[flt-semantics-identifier="wizard-review"]')
    review.wait_for(timeout=10000)
    page.get_by_text("按手印", exact=False).first.wait_for(timeout=10000)
    assert "按手印" in text_of(review)
