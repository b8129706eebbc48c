"""`make screenshots` (README 截图): the README's pictures, taken from a fresh demo township.

Starts `onetrip up` in a temporary data folder on free ports, waits for the demo township,
then drives the web app and the citizen page in headless Debian Chromium on a 360×760 phone
viewport, exactly as a person would: an agent signs in, syncs, fills in an application (the
pension item's form included) and hands over the receipt, delivers a result by its QR text;
township staff open the conflict review, a case they accepted (受审分离: someone else decides
it), supervision with the cases behind a figure and a result's QR slip; the county operator
opens the county home; the citizen looks the case up and rates it. The pictures are
palette-compressed into `docs/img/` (each well under 150 KB). Someone still has to LOOK at
them before committing: a picture proves nothing until a person has seen it.

Usage: `python -m tools.screenshots [--out DIR] [--keep-data]`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw, ImageFont

from sync_server.engine import free_port
from tools import flutter_web

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"
FAILED = ROOT / "test-artifacts" / "screenshots-failed.png"  # the last screen when a step timed out
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT: Any = {"width": 360, "height": 760}
PIN = "246810"
STACK_TIMEOUT = 240.0  # the first start builds the app's CJK font subset; seeding takes ~20 s on 2 cores
STOP_TIMEOUT = 30.0
MAX_BYTES = 150_000
# Pixels lag behind the DOM in CanvasKit (docs/design.md §Flet notes): wait before each picture.
SETTLE_MS = 1500
SAMPLE = "（样本）"  # generated people are marked as samples wherever their name shows


@dataclass(frozen=True)
class Stack:
    """A running `onetrip up`: where its server and app answer, and its data folder."""

    server: str
    app: str
    data: Path


@dataclass(frozen=True)
class Login:
    username: str
    password: str


class ScreenshotError(RuntimeError):
    """A screen did not appear, or the stack did not start (截图失败)."""


def onetrip_command() -> list[str]:
    script = Path(sys.executable).parent / "onetrip"
    return [str(script), "up"] if script.exists() else [sys.executable, "-m", "sync_server.cli", "up"]


@contextlib.contextmanager
def demo_stack(data: Path) -> Iterator[Stack]:
    """`onetrip up` over the empty folder `data`, stopped with SIGINT (like Ctrl-C) at the end."""
    ports = {"ONETRIP_PORT": free_port(), "ONETRIP_APP_PORT": free_port(), "ONETRIP_COUNTY_PORT": free_port()}
    env = {**os.environ, "ONETRIP_DATA": str(data), **{k: str(v) for k, v in ports.items()}}
    for name in ("COUCHDB_URL", "COUNTY_PLATFORM_URL", "ONETRIP_PUBLIC_URL", "ONETRIP_HOST"):
        env.pop(name, None)  # always the embedded engine and simulator: never touch a real installation
    log_path = data.parent / "up.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(onetrip_command(), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        try:
            stack = Stack(f"http://127.0.0.1:{ports['ONETRIP_PORT']}",
                          f"http://127.0.0.1:{ports['ONETRIP_APP_PORT']}", data)
            _wait_ready(proc, stack, log_path)
            yield stack
        finally:
            _stop(proc)


def _wait_ready(proc: subprocess.Popen[bytes], stack: Stack, log_path: Path) -> None:
    deadline = time.monotonic() + STACK_TIMEOUT
    checks: list[tuple[str, Callable[[], bool]]] = [
        ("server /healthz", lambda: httpx.get(f"{stack.server}/healthz", timeout=2).status_code == 200),
        ("demo.json with cases", lambda: bool(_demo(stack.data).get("cases"))),
        ("web app", lambda: httpx.get(stack.app, timeout=2).status_code == 200),
    ]
    for what, check in checks:
        print(f"waiting for {what} …", flush=True)
        while True:
            if proc.poll() is not None:
                raise ScreenshotError(f"onetrip up exited ({proc.returncode}): see {log_path}")
            with contextlib.suppress(httpx.HTTPError, OSError, ValueError):
                if check():
                    break
            if time.monotonic() > deadline:
                raise ScreenshotError(f"no {what} within {STACK_TIMEOUT:.0f} s: see {log_path}")
            time.sleep(0.5)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _demo(data: Path) -> dict[str, Any]:
    path = data / "demo.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


# -- the browser ------------------------------------------------------------------------------


class Phone:
    """One Chromium page the size of a cheap Android phone, with the app's ways of being driven."""

    def __init__(self, page: Any, out: Path) -> None:
        self.page = page
        self.out = out
        self.taken: list[Path] = []

    def shot(self, name: str) -> None:
        self.page.wait_for_timeout(SETTLE_MS)
        path = self.out / f"{name}.png"
        self.page.screenshot(path=str(path))
        optimize(path)
        self.taken.append(path)
        print(f"  {path.name}: {path.stat().st_size // 1024} KB", flush=True)

    def fill(self, label: str, value: str) -> None:
        box = self.page.get_by_role("textbox", name=label).first
        # A fill right after a screen appears can be lost (docs/design.md §Flet notes): check it took.
        for _ in range(3):
            box.click()
            box.fill(value)
            self.page.wait_for_timeout(300)
            if box.input_value() == value:
                return
        raise ScreenshotError(f"could not type into {label!r}")

    def click(self, name: str) -> None:
        self.page.get_by_role("button", name=name).first.click()

    def ident(self, identifier: str) -> Any:
        return self.page.locator(f'[flt-semantics-identifier="{identifier}"]')

    def wait(self, identifier: str, timeout: float = 20000) -> None:
        self.ident(identifier).first.wait_for(timeout=timeout)

    def text(self, value: str, timeout: float = 20000) -> None:
        self.page.get_by_text(value, exact=False).first.wait_for(timeout=timeout)

    def open_app(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_function("() => !document.getElementById('loading')", timeout=60000)
        self.page.locator("flt-semantics-placeholder").dispatch_event("click")

    def draw_signature(self, identifier: str = "signature-pad") -> None:
        pad = self.ident(identifier)
        pad.wait_for(timeout=10000)
        box = pad.bounding_box()
        if box is None:
            raise ScreenshotError("the signature pad has no size")
        x, y = box["x"], box["y"]
        for stroke in ([(30, 90), (70, 40), (100, 110), (140, 50), (170, 100)],
                       [(190, 60), (230, 60), (210, 40), (215, 120)],
                       [(250, 100), (280, 50), (300, 110)]):
            self.page.mouse.move(x + stroke[0][0], y + stroke[0][1])
            self.page.mouse.down()
            for px, py in stroke[1:]:
                self.page.mouse.move(x + px, y + py, steps=6)
            self.page.mouse.up()


def sample_scan(lines: list[str]) -> bytes:
    """A document-like JPEG stamped 样本 SAMPLE: what the agent photographs in the story."""
    image = Image.new("RGB", (640, 400), (236, 241, 246))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((8, 8, 631, 391), radius=24, outline=(90, 110, 140), width=3)
    draw.rectangle((480, 30, 610, 180), outline=(90, 110, 140), width=2)  # the photo
    for n, line in enumerate(lines):
        draw.text((32, 40 + 52 * n), line, fill=(20, 20, 20), font=_font(30))
    stamp = Image.new("RGBA", (520, 120), (0, 0, 0, 0))
    ImageDraw.Draw(stamp).text((10, 10), "样本 SAMPLE", fill=(200, 30, 30, 150), font=_font(84))
    stamp = stamp.rotate(18, expand=True)
    image.paste(stamp, (60, 120), stamp)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in sorted(Path("/usr/share/fonts").rglob("NotoSansCJK-Regular.ttc")):
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def optimize(path: Path) -> None:
    """A 256-colour palette without dithering: screens are flat colours, so this is near lossless."""
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                              dither=Image.Dither.NONE)
    small.save(path, optimize=True)


# -- the story --------------------------------------------------------------------------------


def sign_in(phone: Phone, stack: Stack, login: Login, home: str = "case-list") -> None:
    """First online sign-in, then the PIN set-up if the app asks for one; `home` is the start screen."""
    page = phone.page
    phone.open_app(stack.app)
    page.get_by_role("textbox").first.wait_for(timeout=60000)
    phone.fill("服务器地址", stack.server)
    phone.fill("用户名", login.username)
    phone.fill("密码", login.password)
    phone.click("登录")
    page.wait_for_function(
        """home => document.querySelector(`[flt-semantics-identifier="${home}"]`)
                 || [...document.querySelectorAll('input')]
                    .some(i => (i.ariaLabel || '').includes('再输一次'))""",
        arg=home, timeout=30000)
    if page.get_by_role("textbox", name="再输一次").count():
        phone.fill("解锁密码", PIN)
        phone.fill("再输一次", PIN)
        phone.click("保存")
    phone.wait(home)


def sync(phone: Phone) -> None:
    """The sync screen's button, then back home once the app reports a finished sync."""
    phone.click("立即同步")
    phone.wait("sync-now")
    page = phone.page
    before = page.inner_text("body")
    phone.ident("sync-now").first.click()
    # Done when the screen shows a finished round that differs from the one before (or after a
    # while an unchanged one: two rounds can have the same minute and counts).
    started = time.monotonic()
    while True:
        page.wait_for_timeout(500)
        now = page.inner_text("body")
        finished = "上次同步" in now and "正在同步" not in now
        if finished and (now != before or time.monotonic() - started > 15):
            break
        if time.monotonic() - started > 120:
            raise ScreenshotError("the sync did not finish within 120 s")
    back_home(phone)


def back_home(phone: Phone) -> None:
    """Back (返回) until the case list shows: a case opened from supervision goes back to the list."""
    for _ in range(3):
        phone.ident("back").first.click()
        with contextlib.suppress(Exception):
            phone.wait("case-list", timeout=5000)
            return
    phone.wait("case-list")


def scroll_down(phone: Phone) -> None:
    """Down to the end of a long screen (the actions below a case's timeline)."""
    phone.page.mouse.move(180, 400)
    phone.page.mouse.wheel(0, 5000)


def capture(stack: Stack, demo: dict[str, Any], out: Path) -> list[Path]:
    """The whole story in one browser; returns the pictures taken, in story order."""
    from playwright.sync_api import sync_playwright

    users = demo["users"]
    agent = next(u for u in users if u["role"] == "village_agent")
    staff = next(u for u in users if u["role"] == "township_staff")  # the one who accepts (受理)
    county = next((u for u in users if u["role"] == "county_operator"), None)
    result = _result_to_deliver(stack, demo, agent["username"])
    slip = next((c for c in demo["cases"] if c["status"] == "result_ready" == c.get("story", "result_ready")
                 and c is not result), None)
    with tempfile.TemporaryDirectory(prefix="onetrip-chromium-") as profile, sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=ARGS, viewport=VIEWPORT, locale="zh-CN",
            timezone_id="Asia/Shanghai")
        try:
            phone = Phone(ctx.pages[0], out)
            agent_login = Login(agent["username"], agent["password"])
            print(f"agent {agent_login.username}:", flush=True)
            sign_in(phone, stack, agent_login)
            # Pulled documents count as "to sync" until the next push (reported); the app's own
            # background sync clears them a minute later, a second round does it now.
            sync(phone)
            sync(phone)
            phone.shot("01-case-list")
            code, last4 = new_application(phone)
            sync(phone)
            on_server(stack, code, last4)
            if result is not None:
                deliver(phone, stack, agent_login, result)
                sync(phone)
            print(f"township staff {staff['username']}:", flush=True)
            sign_out(phone)
            sign_in(phone, stack, Login(staff["username"], staff["password"]))
            sync(phone)
            waiting = next(c for c in demo["cases"]
                           if c["status"] == "submitted" and c.get("story", "submitted") == "submitted")
            accepted = [c["tracking_code"] for c in demo["cases"] if c["status"] == "accepted"]
            township(phone, waiting["tracking_code"], accepted, slip)
            if county is not None:
                print(f"county operator {county['username']}:", flush=True)
                sign_out(phone)
                sign_in(phone, stack, Login(county["username"], county["password"]), home="county-home")
                county_home(phone)
            print("citizen:", flush=True)
            citizen(phone, stack, result or next(c for c in demo["cases"] if c["status"] == "delivered"))
        except Exception:
            with contextlib.suppress(Exception):
                FAILED.parent.mkdir(parents=True, exist_ok=True)
                ctx.pages[0].screenshot(path=str(FAILED))
                print(f"the last screen is in {FAILED}", file=sys.stderr)
            raise
        finally:
            ctx.close()
    return phone.taken


def _result_to_deliver(stack: Stack, demo: dict[str, Any], agent: str) -> dict[str, Any] | None:
    """The agent's waiting result with the latest deadline: the story delivers it on time."""
    ready = [c for c in demo["cases"] if c["status"] == "result_ready" == c.get("story", "result_ready")
             and c.get("agent") == agent]
    deadlines: dict[str, str] = {}
    with httpx.Client(base_url=stack.server, timeout=30) as client:
        for case in ready:
            query = {"code": case["tracking_code"], "id_last4": case["id_last4"]}
            answer = client.post("/api/track", json=query)
            if answer.status_code == 200:
                deadlines[case["id"]] = str(answer.json().get("deadline") or "")
    return max(ready, key=lambda c: deadlines.get(c["id"], ""), default=None)


def new_application(phone: Phone) -> tuple[str, str]:
    """Item → situation → applicant → the item's form → materials (one scanned) → one-time
    notice → signature → receipt. Returns the receipt's tracking code and the ID number's last 4."""
    from shared.idnumber import make_id_number

    page = phone.page
    phone.click("新建申请")
    phone.wait("wizard-item")
    phone.click("城乡居民基本养老保险参保登记")
    phone.wait("wizard-situation")
    phone.wait("item-facts")
    scroll_down(phone)  # the whole of the item's facts: conditions, fee, legal basis
    phone.shot("02-item-facts")
    phone.click("本人申请")
    phone.wait("wizard-applicant")
    name = "王秀英" + SAMPLE
    number = make_id_number("330212", date(1958, 5, 17), 931)
    phone.fill("姓名", name)
    phone.fill("身份证号", number)
    phone.fill("手机号", "19900001234")
    phone.text("身份证号正确")
    phone.click("下一步")
    phone.wait("wizard-form")
    pension_form(phone)
    scan = sample_scan(["居民身份证（样本）", f"姓名 {name}", "出生 1958-05-17",
                        f"公民身份号码 {number[:6]}********{number[-4:]}"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "id-card.jpg"
        path.write_bytes(scan)
        with page.expect_file_chooser() as chooser:
            phone.ident("pick-id_card").first.click()
        chooser.value.set_files(str(path))
        page.get_by_role("button", name="重拍").first.wait_for(timeout=20000)
    phone.shot("04-wizard-materials")
    phone.click("下一步")
    phone.wait("wizard-notice")
    phone.shot("05-one-time-notice")
    phone.click("下一步")
    phone.draw_signature()
    phone.wait("signing-fingerprint")
    phone.shot("06-signing")  # the ways to sign: own signature, 按手印 fingerprint, 代签 proxy
    phone.click("下一步")
    phone.wait("wizard-review")
    phone.click("提交")
    phone.wait("tracking-code")
    node = phone.ident("tracking-code").first
    code = (node.get_attribute("aria-label") or node.inner_text()).split()[0]
    page.wait_for_timeout(3500)  # the "submitted" note covers the bottom for 3 s
    phone.shot("07-receipt")
    phone.click("首页")
    phone.wait("case-list")
    return code, number[-4:]


def on_server(stack: Stack, code: str, last4: str, timeout: float = 90.0) -> None:
    """The new application, form answers and all, reached the server through the gateway: the
    citizen's look-up finds it (a refused push would leave the tour's story untrue)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=stack.server, timeout=30) as client:
        while True:
            answer = client.post("/api/track", json={"code": code, "id_last4": last4})
            if answer.status_code == 200:
                print(f"  {code} is on the server", flush=True)
                return
            if time.monotonic() > deadline:
                raise ScreenshotError(f"the new application {code} is not on the server "
                                      f"({answer.status_code} {answer.text[:200]})")
            # A miss is slowed down per code (429 with Retry-After); otherwise ask again soon.
            time.sleep(float(answer.headers.get("Retry-After", "1")))


def pension_form(phone: Phone) -> None:
    """The pension item's form (SB-001, one page) filled with the demo's valid sample answers:
    the choices first (each redraws the screen), then the typed answers, then Next."""
    from onetrip_demo.answers import sample_answers

    page = phone.page
    answers = sample_answers("SB-001", date.today())
    if answers is None:
        raise ScreenshotError("the demo has no sample answers for SB-001")
    flutter_web.wait_for(page, "q-insured_status")
    for name in ("insured_status", "contribution_grade", "payment_method", "other_pension"):
        flutter_web.choose(page, f"q-{name}-{answers[name]}")
    for name in ("account_number", "phone", "registered_address"):  # the account shows once bank is chosen
        flutter_web.type_at(page, f"q-{name}", str(answers[name]))
    flutter_web.unfocus(page)
    flutter_web.bring(page, "q-payment_method")
    phone.shot("03-wizard-form")
    flutter_web.next_to(page, "wizard-materials")


def deliver(phone: Phone, stack: Stack, agent: Login, case: dict[str, Any]) -> None:
    """The county's result at the citizen's door: the slip's QR (typed here), verified offline, signed."""
    from shared.delivery import delivery_url

    with httpx.Client(base_url=stack.server, timeout=30) as client:
        login = client.post("/api/auth/login", json={"username": agent.username, "password": agent.password,
                                                     "device_id": "screenshots-tool"})
        login.raise_for_status()
        issued = client.post(f"/api/delivery/{case['tracking_code']}/token",
                             headers={"Authorization": f"Bearer {login.json()['access_token']}"})
        issued.raise_for_status()
    phone.ident("open-delivery").first.click()
    url = delivery_url(stack.server, case["tracking_code"], issued.json()["token"])
    phone.fill("手动输入二维码内容", url)
    phone.click("核验")
    phone.text("二维码有效")
    phone.draw_signature()
    phone.shot("15-delivery")
    phone.click("送达")
    phone.wait("delivered")
    phone.click("首页")
    phone.wait("case-list")


def sign_out(phone: Phone) -> None:
    phone.ident("open-settings").first.click()
    phone.wait("sign-out")
    phone.ident("sign-out").first.click()
    with contextlib.suppress(Exception):
        phone.page.get_by_role("textbox", name="用户名").wait_for(timeout=3000)
        return
    phone.click("仍然退出")
    phone.page.get_by_role("textbox", name="用户名").wait_for(timeout=10000)


def township(phone: Phone, submitted_code: str, accepted: list[str], slip: dict[str, Any] | None) -> None:
    """A submitted case with its accept actions, a case this person accepted (受审分离), the
    conflict side by side, supervision and the cases behind a figure, then a result's QR slip."""
    page = phone.page
    open_case(phone, submitted_code)
    scroll_down(phone)  # down to the timeline and the township's actions
    phone.shot("08-township-case")
    back_home(phone)
    phone.ident("open-reviews").first.click()
    phone.text("办件 Case", timeout=30000)
    page.wait_for_timeout(SETTLE_MS)  # the versions are laid out once the server answered
    box = page.get_by_role("button", name="确认").first.bounding_box()
    for _ in range(3):  # pick the first version of the last field, to show the choice being made
        if box is None:
            break
        page.mouse.click(box["x"] + box["width"] / 4, box["y"] - 30)
        with contextlib.suppress(Exception):
            page.get_by_text("✓", exact=False).first.wait_for(timeout=3000)
            break
    phone.shot("10-conflict-review")
    back_home(phone)
    phone.ident("open-supervision").first.click()
    phone.text("满意", timeout=30000)
    phone.shot("11-supervision")
    phone.ident("figure-red").first.click()  # the red card's cases (overdue)
    phone.wait("drill-red")
    phone.shot("12-supervision-drill")
    back_home(phone)
    # A case this staff member accepted: 办结 is someone else's decision (受审分离, ADR 0122).
    for code in accepted:
        open_case(phone, code)
        with contextlib.suppress(Exception):
            phone.wait("separation-note", timeout=5000)
            scroll_down(phone)
            phone.shot("09-separation-note")
            back_home(phone)
            break
        back_home(phone)
    if slip is not None:
        choose_filter(phone, "result_ready")
        open_case(phone, slip["tracking_code"])
        phone.ident("open-result-slip").first.click()
        phone.wait("slip-qr")
        phone.text(slip["tracking_code"])
        phone.shot("14-result-slip")
        back_home(phone)


def open_case(phone: Phone, code: str) -> None:
    """Searches the list of the current filter for a tracking code and opens the case."""
    page = phone.page
    phone.fill("搜索", code)
    page.keyboard.press("Enter")
    phone.text(code)
    page.wait_for_timeout(SETTLE_MS)
    page.get_by_text(code, exact=False).first.click()
    phone.wait("case-detail")
    page.wait_for_timeout(SETTLE_MS)


def choose_filter(phone: Phone, value: str) -> None:
    """Swipes the filter line until the chip `value` is on the screen, then taps it."""
    page = phone.page
    first = phone.ident("filter-submitted").first.bounding_box()
    if first is None:
        raise ScreenshotError("the filter line has no size")
    page.mouse.move(180, first["y"] + first["height"] / 2)
    chosen = phone.ident(f"filter-{value}").first
    for _ in range(10):
        if chosen.count() and (box := chosen.bounding_box()) is not None and box["x"] + box["width"] <= 360:
            break
        page.mouse.wheel(120, 0)
        page.wait_for_timeout(200)
    chosen.click()
    page.wait_for_timeout(SETTLE_MS)


def county_home(phone: Phone) -> None:
    """The county operator's start screen: results on their way back, dead letters, hand-offs."""
    phone.wait("county-results", timeout=30000)
    phone.wait("county-handoffs")
    phone.shot("13-county-home")


def citizen(phone: Phone, stack: Stack, case: dict[str, Any]) -> None:
    """The tracking page on the phone: look-up with the last four ID digits, timeline, rating."""
    page = phone.page
    page.goto(f"{stack.server}/t/{case['tracking_code']}")
    page.locator("#last4").wait_for(timeout=20000)
    page.fill("#last4", case["id_last4"])
    page.get_by_role("button", name="查询").click()
    page.locator("#timeline li").first.wait_for(timeout=20000)
    phone.shot("16-citizen-tracking")
    rate = page.locator("#rate")
    if rate.is_visible():
        page.get_by_text("非常满意").click()
        page.fill("#comment", "代办员上门送达，一趟都没跑")
        rate.scroll_into_view_if_needed()
        phone.shot("17-citizen-rating")
        page.get_by_role("button", name="提交评价").click()
        page.locator("#thanks").wait_for(timeout=20000)
    # The status line at the top, the timeline below it (a fixed offset above the timeline cut
    # the status box in half).
    page.evaluate("document.getElementById('status').scrollIntoView({block: 'start'})")
    page.evaluate("window.scrollBy(0, -12)")
    phone.shot("18-citizen-timeline")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNG files go (default docs/img)")
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary data folder")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: run `make browser` (Debian chromium, fonts-noto-cjk)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="onetrip-shots-"))
    try:
        with demo_stack(work / "data") as stack:
            taken = capture(stack, _demo(stack.data), args.out)
    except (ScreenshotError, flutter_web.StepNotReached) as exc:
        print(f"screenshots failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep_data:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"data kept in {work}")
    too_big = [p for p in taken if p.stat().st_size > MAX_BYTES]
    for path in too_big:
        print(f"{path.name}: {path.stat().st_size // 1024} KB, over {MAX_BYTES // 1000} KB", file=sys.stderr)
    print(f"{len(taken)} pictures in {args.out}: look at every one before committing them.")
    return 1 if too_big else 0


if __name__ == "__main__":
    sys.exit(main())
