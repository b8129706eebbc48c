"""Big phone photos and the signature alternatives in a real browser (issue 17), on a
360 × 760 phone screen: a ~20 MB photo from the file chooser arrives with progress and is
accepted; a PDF is refused with a message and the buttons still work; a proxy signs."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from shared.idnumber import make_id_number
from tests.integration.mobile.test_app_browser import (
    ARTIFACTS,
    CHROMIUM,
    RunningApp,
    app,
    browser_page,
    click,
    fill,
    shot,
    text_of,
    unlock,
)
from tests.unit.mobile.images import big_photo

__all__ = ["app", "browser_page"]  # fixtures, used by name

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (apt-get install chromium)"
    ),
]


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
