"""`make screenshots` (README 截图): the README's pictures, taken from a fresh demo township.

Starts `onetrip up` in a temporary data folder on free ports, waits for the demo township,
then drives the web app and the citizen page in headless Debian Chromium on a 360×760 phone
viewport, exactly as a person would: an agent signs in, syncs, fills in an application and
hands over the receipt, delivers a result by its QR text; township staff open the conflict
review and supervision; the citizen looks the case up and rates it. The pictures are
palette-compressed into `docs/img/` (each well under 150 KB). Someone still has to LOOK at
them before committing: a picture proves nothing until a person has seen it.

Usage: `python -m tools.screenshots [--out DIR] [--keep-data]`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
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
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 360, "height": 760}
PIN = "246810"
STACK_TIMEOUT = 240.0  # the first start builds the app's CJK font subset; seeding takes ~20 s on 2 cores
STOP_TIMEOUT = 30.0
MAX_BYTES = 150_000
SETTLE_MS = 1500  # pixels lag behind the DOM in CanvasKit (FLET.md): wait before each picture


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size // 1024} KB",
              flush=True)

    def fill(self, label: str, value: str) -> None:
        box = self.page.get_by_role("textbox", name=label).first
        box.click()  # a fill right after semantics are turned on can be lost (FLET.md)
        box.fill(value)

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


def optimize(path: Path) -> None:
    """A 256-colour palette without dithering: screens are flat colours, so this is near lossless."""
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                              dither=Image.Dither.NONE)
    small.save(path, optimize=True)


# -- the story --------------------------------------------------------------------------------


def sign_in(phone: Phone, stack: Stack, login: Login) -> None:
    """First online sign-in, then the PIN set-up if the app asks for one."""
    page = phone.page
    phone.open_app(stack.app)
    page.get_by_role("textbox").first.wait_for(timeout=60000)
    phone.fill("服务器地址", stack.server)
    phone.fill("用户名", login.username)
    phone.fill("密码", login.password)
    phone.click("登录")
    page.wait_for_function(
        """() => document.querySelector('[flt-semantics-identifier="case-list"]')
                 || [...document.querySelectorAll('input')].some(i => (i.ariaLabel || '').includes('再输一次'))""",
        timeout=30000)
    if page.get_by_role("textbox", name="再输一次").count():
        phone.fill("解锁密码", PIN)
        phone.fill("再输一次", PIN)
        phone.click("保存")
    phone.wait("case-list")


def sync(phone: Phone) -> None:
    """The sync screen's button, then back home once the app reports success."""
    phone.click("立即同步")
    phone.wait("sync-now")
    phone.ident("sync-now").first.click()
    phone.text("同步成功", timeout=60000) if False else _wait_synced(phone)
    phone.page.get_by_role("button", name="返回").first.click() if phone.page.get_by_role(
        "button", name="返回").count() else phone.page.go_back()
    phone.wait("case-list")


def _wait_synced(phone: Phone) -> None:
    phone.page.wait_for_function(
        "() => /↓\\s*[1-9]/.test(document.body.innerText) || /已同步|Synced/.test(document.body.innerText)",
        timeout=90000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNG files go (default docs/img)")
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary data folder")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: run `make browser` (Debian chromium and fonts-noto-cjk)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="onetrip-shots-"))
    try:
        with demo_stack(work / "data") as stack:
            from tools.screenshot_story import capture

            taken = capture(stack, _demo(stack.data), args.out)
    except ScreenshotError as exc:
        print(f"screenshots failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep_data:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"data kept in {work}")
    too_big = [p for p in taken if p.stat().st_size > MAX_BYTES]
    for path in too_big:
        print(f"{path.name} is {path.stat().st_size // 1024} KB (over {MAX_BYTES // 1000} KB)", file=sys.stderr)
    print(f"{len(taken)} pictures in {args.out}: look at every one before committing them.")
    return 1 if too_big else 0


def sample_id_number() -> str:
    from shared.idnumber import make_id_number

    return make_id_number("330212", date(1958, 5, 17), 931)


if __name__ == "__main__":
    sys.exit(main())
