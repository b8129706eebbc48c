"""The 低保 (JZ-001) form filled offline in a real browser on a 360 × 760 phone screen: the
household, the applicant, two household members, then the receipt — and the generated 申请表
(PDF and PNG) stored with the case."""

from __future__ import annotations

import base64
import io
import re
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pypdf
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mobile.store import LocalStore
from shared.idnumber import make_id_number
from tests.integration.mobile.browser import (
    ARTIFACTS,
    CHROMIUM,
    RunningApp,
    click,
    draw_signature,
    fill,
    seed_device,
    shot,
    text_of,
    unlock,
    web_app,
)
from tests.integration.mobile.test_app_browser import KEY
from tests.unit.mobile.fakes import AGENT
from tests.unit.mobile.test_viewmodels_wizard_form import definition
from tools.flutter_web import choose, next_to, tap, type_at, wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def form_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The app in web mode, offline, with the 低保 form pulled into its catalog on an earlier sync."""
    data = tmp_path_factory.mktemp("device-forms")
    key = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    seed_device(data, AGENT, "dev-forms", public_key=base64.b64encode(key).decode())
    catalog = LocalStore(data / "catalog.sqlite")
    stored = definition("JZ-001")
    catalog.put({"_id": f"form:JZ-001@{stored['version']}", "type": "form", "definition": stored})
    version = stored["version"]
    pointer = {"_id": "item-form:JZ-001", "type": "item_form", "form_id": "JZ-001", "version": version}
    catalog.put(pointer)
    catalog.close()
    with web_app(data) as app:
        yield app


def test_the_dibao_form_with_two_members_offline_to_the_receipt(
    form_app: RunningApp, browser_page: Any
) -> None:
    page = browser_page
    unlock(page, form_app.url)
    click(page, "新建申请 New application")
    page.locator('[flt-semantics-identifier="wizard-item"]').wait_for(timeout=10000)
    fill(page, "搜索事项 Search items", "低保")
    page.get_by_role("button", name="最低生活保障申请").first.click()
    page.locator('[flt-semantics-identifier="wizard-situation"]').wait_for(timeout=10000)
    page.get_by_role("button", name="首次申请").first.click()
    page.locator('[flt-semantics-identifier="wizard-applicant"]').wait_for(timeout=10000)
    fill(page, "姓名 Name", "王秀英")
    # A citizen of this run only: a rerun would otherwise be offered this run's answers (免填).
    citizen = make_id_number("330212", date(1956, 3, 8), 100 + uuid.uuid4().int % 800)
    fill(page, "身份证号 ID number", citizen)
    page.get_by_text("身份证号正确", exact=False).first.wait_for(timeout=10000)
    fill(page, "姓名 Name", "王秀英")  # typed again into the settled step (see test_app_browser)
    click(page, "下一步 Next")

    # 1/4 the household: a wrong number is said under its field as it is typed
    page.locator('[flt-semantics-identifier="wizard-form"]').wait_for(timeout=10000)
    wait_for(page, "q-residence")
    choose(page, "q-residence-rural")
    fill(page, "共同生活家庭人口数", "2.5")
    page.wait_for_function(
        """() => [...document.querySelectorAll('[flt-semantics-identifier="error-q-household_size"]')]
                 .some(n => (n.getAttribute('aria-label') || n.innerText || '').includes('请输入整数'))""",
        timeout=10000)
    shot(page, "50-form-household-message")
    type_at(page, "q-household_size", "3")
    choose(page, "q-housing-own")
    choose(page, "q-hardship_reasons-illness")
    shot(page, "51-form-household")
    next_to(page, "q-applicant_health")  # 2/4 the applicant
    type_at(page, "q-applicant_income", "300")
    choose(page, "q-applicant_health-chronic")
    choose(page, "q-applicant_work-farming")
    next_to(page, "add-members")  # 3/4 two household members
    for n, (name, relation, year) in enumerate([("李桂兰", "spouse", 1958), ("王小明", "child", 1985)]):
        tap(page, "add-members")
        page.locator(f'[flt-semantics-identifier="members-{n}"]').wait_for(timeout=10000)
        # The choices first (each redraws the screen), then the typed answers, each typed again
        # into the settled screen (Flutter web can drop the first input, see test_app_browser).
        choose(page, f"q-relation-{n}-{relation}")
        choose(page, f"q-member_health-{n}-healthy")
        choose(page, f"q-member_work-{n}-{'unable' if n == 0 else 'employed'}")
        type_at(page, f"q-member_name-{n}", name)
        type_at(page, f"q-member_id-{n}", make_id_number("330212", date(year, 5, 1), 40 + n))
        type_at(page, f"q-member_income-{n}", "0" if n == 0 else "1500")
    shot(page, "52-form-members")
    next_to(page, "q-has_account")  # 4/4 the totals note and the account question
    choose(page, "q-has_account-no")
    shot(page, "53-form-totals")
    click(page, "下一步 Next")

    page.locator('[flt-semantics-identifier="wizard-materials"]').wait_for(timeout=10000)
    # The 申请表 just filled in is made from the form: received, nothing to photograph or bring.
    state = page.locator('[flt-semantics-identifier="material-state-application"]')
    state.wait_for(timeout=10000)
    assert "由表单生成 Made from the form" in text_of(state)
    assert page.locator('[flt-semantics-identifier="photo-application"]').count() == 0
    shot(page, "53a-form-materials")
    click(page, "下一步 Next")
    notice = page.locator('[flt-semantics-identifier="wizard-notice"]')
    notice.wait_for(timeout=10000)
    assert "身份证" in text_of(notice) and "最低生活保障申请书" not in text_of(notice)
    shot(page, "53b-form-notice")
    click(page, "下一步 Next")
    page.locator('[flt-semantics-identifier="wizard-signature"]').wait_for(timeout=10000)
    draw_signature(page)
    click(page, "下一步 Next")
    page.locator('[flt-semantics-identifier="wizard-review"]').wait_for(timeout=10000)
    click(page, "提交 Submit")
    node = page.locator('[flt-semantics-identifier="tracking-code"]')
    node.wait_for(timeout=20000)
    code = (node.get_attribute("aria-label") or node.inner_text()).split()[0]
    shot(page, "54-form-receipt")

    store = LocalStore(form_app.data / "store.sqlite")
    try:
        case = next(store.get(str(r["id"])) for r in store.find_cases(status="submitted", limit=50)
                    if store.get(str(r["id"]))["tracking_code"] == code)
        assert [m["member_name"] for m in case["answers"]["members"]] == ["李桂兰", "王小明"]
        assert case["answers"]["total_income"] == 1800
        entry = next(e for e in case["materials"] if e["source"] == "generated")
        pdf = store.get_attachment(entry["material_id"], "form.pdf")
        preview = store.get_attachment(entry["material_id"], "form.png")
    finally:
        store.close()
    (ARTIFACTS / "55-application-form.pdf").write_bytes(pdf)
    (ARTIFACTS / "55-application-form.png").write_bytes(preview)
    text = re.sub(r"[\s\x00]+", "", "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages))
    for expected in ("最低生活保障申请表", "王秀英", "李桂兰", "王小明", "配偶", "子女", code):
        assert expected in text, expected
