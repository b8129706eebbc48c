"""The tracking page in real headless Chromium: look-up, offline reload, delivery, rating.

Screenshots (360×740, a common low-end Android size) go to `test-artifacts/citizen/`.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request

from sync_server.citizen import citizen_routes, index_case
from sync_server.citizen.service import CitizenService
from sync_server.couch import Couch
from sync_server.engine import free_port
from tests.integration.sync_server.citizen.conftest import ID_NUMBER, ITEM, make_case, make_event

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts" / "citizen"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed"
                       " (`make browser`, or apt-get install chromium)"),
]


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Site:
    url: str
    village: str
    server_db: str
    service: CitizenService


@pytest.fixture
def site(couchdb_url: str, make_db: Callable[..., str]) -> Iterator[Site]:
    village, server_db, catalog = make_db("tbv"), make_db("tbs"), make_db("tbc")
    holder: dict[str, Couch] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        holder["couch"] = Couch(couchdb_url)
        yield
        await holder["couch"].aclose()

    async def allow(_request: Request) -> Callable[[str], bool] | None:
        return lambda _db: True

    service = CitizenService(couch_of=lambda: holder["couch"], signing_key=Ed25519PrivateKey.generate(),
                             public_url="", server_db=server_db, catalog_db=catalog, village_prefix=village)
    app = Starlette(routes=citizen_routes(service, authorize_issue=allow), lifespan=lifespan)
    port = free_port()
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "citizen test server did not start"
        time.sleep(0.02)
    try:
        yield Site(f"http://127.0.0.1:{port}", village, server_db, service)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


async def seed(couchdb_url: str, site: Site) -> dict[str, Any]:
    couch = Couch(couchdb_url)
    try:
        await couch.put_doc(site.service.catalog_db, dict(ITEM))
        case = make_case(status="result_ready", deadline="2026-12-02")
        await couch.put_doc(site.village, case)
        steps = [("submitted", "village_agent", "2026-11-23T01:10:00Z"),
                 ("accepted", "township_staff", "2026-11-23T02:30:00Z"),
                 ("forwarded", "township_staff", "2026-11-23T03:00:00Z"),
                 ("approved", "county_operator", "2026-11-24T01:00:00Z"),
                 ("result_ready", "county_operator", "2026-11-24T05:45:00Z")]
        for kind, role, at in steps:
            await couch.put_doc(site.village, make_event(case["_id"], kind, role, at))
        await index_case(couch, site.village, case, server_db=site.server_db)
        return case
    finally:
        await couch.aclose()


@contextlib.asynccontextmanager
async def phone_page() -> AsyncIterator[Any]:
    """A 360×760 page of headless Chromium in Chinese and China's time (screenshots: ARTIFACTS)."""
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield await browser.new_page(viewport={"width": 360, "height": 760}, locale="zh-CN",
                                         timezone_id="Asia/Shanghai")
        finally:
            await browser.close()


async def test_tracking_page_in_chromium(couchdb_url: str, site: Site, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    case = await seed(couchdb_url, site)
    code = case["tracking_code"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        ctx = await pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 360, "height": 740}, locale="zh-CN", timezone_id="Asia/Shanghai",
            service_workers="allow")
        try:
            page = ctx.pages[0] if ctx.pages else await ctx.new_page()
            await page.goto(f"{site.url}/t/{code}")
            await expect(page.locator("#digits")).to_be_visible()
            await page.screenshot(path=str(ARTIFACTS / "1-ask-digits.png"))
            await page.fill("#last4", ID_NUMBER[-4:])
            await page.get_by_role("button", name="查询").click()
            await expect(page.locator("#timeline li")).to_have_count(5)
            await expect(page.locator("#status")).to_have_text("结果已出，等待送达")
            await expect(page.locator("#item")).to_have_text("高龄津贴申领")
            assert await page.evaluate("document.documentElement.scrollWidth") <= 360
            await page.screenshot(path=str(ARTIFACTS / "2-status.png"))
            await page.screenshot(path=str(ARTIFACTS / "2-status-full.png"), full_page=True)

            # The service worker controls the page once activated (clients.claim).
            await page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
            await ctx.set_offline(True)
            await page.reload()
            await expect(page.locator("#offline")).to_contain_text("当前没有网络")
            await expect(page.locator("#timeline li")).to_have_count(5)
            await page.screenshot(path=str(ARTIFACTS / "3-offline.png"))
            await ctx.set_offline(False)
            await page.get_by_role("button", name="刷新").click()
            await expect(page.locator("#offline")).to_contain_text("更新时间")

            await page.click("#lang")
            await expect(page.locator("#status")).to_have_text("Result ready, on its way to you")
            await page.screenshot(path=str(ARTIFACTS / "4-english.png"))
            await page.click("#lang")

            async with httpx.AsyncClient(base_url=site.url) as client:
                issued = (await client.post(f"/api/delivery/{code}/token")).json()
            await page.goto(f"{site.url}/t/{code}?d={issued['token']}")
            confirm = page.get_by_role("button", name="确认收到")
            await expect(confirm).to_be_visible()
            await page.screenshot(path=str(ARTIFACTS / "5-confirm-receipt.png"))
            await confirm.click()
            await expect(page.locator("#status")).to_have_text("已送达")
            await expect(page.locator("#rate")).to_be_visible()
            assert "?d=" not in page.url  # the spent token is dropped from the address bar
            await page.get_by_text("非常满意").click()
            await page.fill("#comment", "代办员上门服务，很方便")
            await page.locator("#rate").screenshot(path=str(ARTIFACTS / "6-rate.png"))
            await page.get_by_role("button", name="提交评价").click()
            await expect(page.locator("#thanks")).to_be_visible()
            await page.screenshot(path=str(ARTIFACTS / "7-rated.png"))

            # Scanning the same slip again shows the case, but offers no second confirmation.
            await page.goto(f"{site.url}/t/{code}?d={issued['token']}")
            await expect(page.locator("#status")).to_have_text("已送达")
            await expect(page.locator("#thanks")).to_be_visible()
            await expect(page.get_by_role("button", name="确认收到")).to_be_hidden()

            await page.set_viewport_size({"width": 320, "height": 640})
            assert await page.evaluate("document.documentElement.scrollWidth") <= 320
            await page.screenshot(path=str(ARTIFACTS / "8-320px.png"))
        finally:
            await ctx.close()


async def test_page_says_what_the_citizen_must_do(couchdb_url: str, site: Site, tmp_path: Path) -> None:
    """一次性告知 on the page: the missing materials by name; a refusal with its reason."""
    from playwright.async_api import expect

    couch = Couch(couchdb_url)
    try:
        await couch.put_doc(site.service.catalog_db, {
            **ITEM, "materials": [{"code": "hukou", "name_zh": "户口簿", "name_en": "Household register"},
                                  {"code": "bank", "name_zh": "本人银行卡或存折",
                                   "name_en": "Bank card or passbook"}]})
        needs = make_case(status="needs_materials", missing=["hukou", "bank"])
        refused = make_case(status="rejected", deadline=None, accepted_at=None)
        await couch.put_doc(site.village, needs)
        await couch.put_doc(site.village, refused)
        await couch.put_doc(site.village, make_event(needs["_id"], "materials_requested", "township_staff"))
        reason = make_event(refused["_id"], "rejected", "township_staff")
        reason["data"] = {"reason": "申请人未满80周岁，不符合高龄津贴条件"}
        await couch.put_doc(site.village, reason)
        for case in (needs, refused):
            await index_case(couch, site.village, case, server_db=site.server_db)
    finally:
        await couch.aclose()
    async with phone_page() as page:
        await page.goto(f"{site.url}/t/{needs['tracking_code']}")
        await page.fill("#last4", ID_NUMBER[-4:])
        await page.get_by_role("button", name="查询").click()
        await expect(page.locator("#todo")).to_be_visible()
        await expect(page.locator("#missing li")).to_have_text(["户口簿", "本人银行卡或存折"])
        await expect(page.locator("#todov")).to_contain_text("村代办员")
        await expect(page.locator("#missing")).to_be_in_viewport()  # seen without scrolling
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360
        await page.screenshot(path=str(ARTIFACTS / "9-needs-materials.png"))
        await page.click("#lang")
        english = ["Household register", "Bank card or passbook"]
        await expect(page.locator("#missing li")).to_have_text(english)
        await page.click("#lang")

        await page.goto(f"{site.url}/t/{refused['tracking_code']}")
        await page.fill("#last4", ID_NUMBER[-4:])
        await page.get_by_role("button", name="查询").click()
        await expect(page.locator("#status")).to_have_text("未予批准")
        await expect(page.locator("#reason")).to_contain_text("申请人未满80周岁，不符合高龄津贴条件")
        await expect(page.locator("#missing li")).to_have_count(0)
        await expect(page.locator("main")).not_to_contain_text("尚未受理")
        await page.screenshot(path=str(ARTIFACTS / "10-rejected.png"))


async def test_form_errors_show_beside_the_form_and_are_announced(
    couchdb_url: str, site: Site, tmp_path: Path
) -> None:
    """Issue 17: a rating without stars said so in the page's top line, out of sight above the
    form. Each form's error is now right under it, read out (role=alert), linked to its field
    (aria-describedby), and the field gets the focus."""
    from playwright.async_api import expect

    case = await seed(couchdb_url, site)
    code = case["tracking_code"]
    async with phone_page() as page:
        await page.goto(f"{site.url}/t/{code}")
        await page.fill("#last4", "12")
        await page.get_by_role("button", name="查询").click()
        error = page.locator("#digitsErr")
        await expect(error).to_have_text("请输入身份证号最后4位（数字或 X）。")
        await expect(error).to_have_attribute("role", "alert")
        await expect(page.locator("#last4")).to_have_attribute("aria-invalid", "true")
        assert "digitsErr" in (await page.locator("#last4").get_attribute("aria-describedby") or "")
        await expect(page.locator("#last4")).to_be_focused()
        await expect(page.locator("#msg")).to_be_hidden()  # said once, beside the field
        await page.fill("#last4", "0000")  # wrong digits: the server's 404, beside the field too
        await page.get_by_role("button", name="查询").click()
        await expect(error).to_contain_text("不正确")
        await page.fill("#last4", ID_NUMBER[-4:])
        await page.get_by_role("button", name="查询").click()
        await expect(page.locator("#status")).to_have_text("结果已出，等待送达")
        await expect(error).to_be_hidden()
        await expect(page.locator("#last4")).not_to_have_attribute("aria-invalid", "true")

        async with httpx.AsyncClient(base_url=site.url) as client:
            issued = (await client.post(f"/api/delivery/{code}/token")).json()
        await page.goto(f"{site.url}/t/{code}?d={issued['token']}")
        await page.get_by_role("button", name="确认收到").click()
        await expect(page.locator("#rate")).to_be_visible()
        await page.get_by_role("button", name="提交评价").click()
        rate_error = page.locator("#rateErr")
        await expect(rate_error).to_have_text("请选择 1 到 5 分。")
        await expect(rate_error).to_be_in_viewport()
        await expect(page.get_by_role("button", name="提交评价")).to_be_in_viewport()
        await expect(page.locator("#stars input").first).to_be_focused()
        await expect(page.locator("#rate fieldset")).to_have_attribute("aria-invalid", "true")
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360
        await page.screenshot(path=str(ARTIFACTS / "11-rating-error.png"))
        await page.locator("label[for=s4]").click()  # 满意
        await page.get_by_role("button", name="提交评价").click()
        await expect(page.locator("#thanks")).to_be_visible()
        await expect(rate_error).to_be_hidden()
