"""The app in headless Chromium, for the browser tests of this folder: a device folder seeded
as after an earlier sign-in, the app started in web mode on it, and the steps the tests share
(unlock, type, tap, sign, screenshots to test-artifacts/app/ for a person to look at).
The 360×760 page itself is the `browser_page` fixture (conftest.py)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from mobile.services.device_state import Account, DeviceState, DeviceStateFile
from mobile.services.pin import create_pin
from sync_server.engine import free_port

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts" / "app"
PIN = "246810"
OFFLINE = "http://127.0.0.1:9"  # port 9 (discard) has no server: the app is offline, as in a village

BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (apt-get install chromium)"
    ),
]


@dataclass(frozen=True)
class RunningApp:
    url: str
    data: Path


def seed_device(data: Path, account: Account, device_id: str, **state: Any) -> None:
    """The device's state after an online sign-in and a PIN set (`PIN`), with `state` on top."""
    DeviceStateFile(data).save(
        replace(
            DeviceState(device_id=device_id, server_url=OFFLINE),
            account=account,
            access_token="a",
            refresh_token="r",
            pin=create_pin(PIN).to_json(),
            **state,
        )
    )


STARTUP_SECONDS = 180


@contextlib.contextmanager
def web_app(data: Path, server_url: str = OFFLINE) -> Iterator[RunningApp]:
    """The app in web mode on the device folder `data`, stopped when the block ends; its output
    goes to `data/app.log`. The block starts once the app answers its page."""
    port = free_port()
    env = {**os.environ, "ONETRIP_DEVICE_DATA": str(data), "ONETRIP_SERVER_URL": server_url}
    with (data / "app.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mobile.cli", "app", "--web", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            _wait_until_answering(url, proc, data)
            yield RunningApp(url, data)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_until_answering(url: str, proc: subprocess.Popen[bytes], data: Path) -> None:
    # Its first start makes the web font: slow on a loaded 2-core machine, so a generous bound.
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError((data / "app.log").read_text())
        time.sleep(0.2)  # polling the app's start-up, not waiting out a duration
    raise RuntimeError(f"the app did not answer {url} within {STARTUP_SECONDS} s:\n"
                       + (data / "app.log").read_text(errors="replace")[-4000:])


def shot(page: Any, name: str) -> None:
    # Pixels lag behind the DOM (docs/design.md §Flet notes): give CanvasKit a moment before the screenshot.
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def click(page: Any, name: str) -> None:
    page.get_by_role("button", name=name).first.click()


def fill(page: Any, label: str, value: str) -> None:
    box = page.get_by_role("textbox", name=label)
    box.click()
    box.fill(value)


def text_of(node: Any) -> str:
    """What a screen reader reads of a Flutter semantics node."""
    return f"{node.get_attribute('aria-label') or ''} {node.inner_text()}"


def open_app(page: Any, url: str) -> None:
    """The app loaded and its semantics tree switched on (Flutter web builds it on request)."""
    page.goto(url)
    page.wait_for_function("() => !document.getElementById('loading')", timeout=30000)
    page.locator("flt-semantics-placeholder").dispatch_event("click")


def unlock(page: Any, url: str, *, pin: str = PIN, home: str = "case-list") -> None:
    """Opens the app and unlocks it with the PIN, to the `home` screen."""
    open_app(page, url)
    page.get_by_role("textbox", name="解锁密码 PIN").wait_for(timeout=20000)
    fill(page, "解锁密码 PIN", pin)
    click(page, "解锁 Unlock")
    page.locator(f'[flt-semantics-identifier="{home}"]').wait_for(timeout=20000)


def draw_signature(page: Any) -> None:
    pad = page.locator('[flt-semantics-identifier="signature-pad"]')
    pad.wait_for(timeout=10000)
    box = pad.bounding_box()
    assert box is not None
    x, y = box["x"], box["y"]
    for stroke in (
        [(40, 60), (120, 70), (200, 60), (280, 80)],
        [(150, 30), (150, 170)],
        [(60, 140), (290, 150)],
    ):
        page.mouse.move(x + stroke[0][0], y + stroke[0][1])
        page.mouse.down()
        for px, py in stroke[1:]:
            page.mouse.move(x + px, y + py, steps=8)
        page.mouse.up()


def receipt_code(page: Any) -> str:
    """The tracking code on the receipt screen, once it shows."""
    node = page.locator('[flt-semantics-identifier="tracking-code"]')
    node.wait_for(timeout=15000)
    return str((node.get_attribute("aria-label") or node.inner_text()).split()[0])
