"""Fixtures of the app's integration tests: a fresh township on the server, and the 360×760
headless Chromium page of the browser tests (tests/integration/mobile/browser.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.mobile.browser import ARTIFACTS, CHROMIUM
from tests.integration.sync_server.server_fixtures import Township, make_township


@pytest.fixture
async def township(couchdb_url: str) -> Township:
    return await make_township(couchdb_url)


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            viewport={"width": 360, "height": 760},
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield ctx.pages[0]
        finally:
            # The last screen, kept for the person reading a failure.
            with contextlib.suppress(Exception):
                ctx.pages[0].screenshot(path=str(ARTIFACTS / "last.png"))
            ctx.close()
