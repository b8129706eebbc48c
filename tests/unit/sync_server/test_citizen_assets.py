"""The tracking page's files: weight budget, no outside resources, both languages, serving."""

from __future__ import annotations

import gzip
import re

import httpx
from starlette.applications import Starlette

from sync_server.citizen import assets
from sync_server.citizen.routes import citizen_routes
from sync_server.citizen.service import CitizenService
from sync_server.couch import Couch

# Bytes compressed: the first load on 3G (docs/design.md §Bytes on a village link, issue 7).
BUDGET = 30 * 1024
FIRST_LOAD = ("index.html", "app.css", "app.js", "manifest.webmanifest", "sw.js")


def test_first_load_is_under_30_kb_compressed() -> None:
    sizes = {name: len(gzip.compress((assets.PWA_DIR / name).read_bytes(), 9)) for name in FIRST_LOAD}
    total = sum(sizes.values())
    print(f"first load, gzip -9: {sizes} = {total} bytes")
    assert total < BUDGET, sizes


def test_no_outside_resources() -> None:
    for name in ("index.html", "app.css", "app.js", "sw.js"):
        text = (assets.PWA_DIR / name).read_text()
        assert not re.search(r"https?://|//[a-z0-9-]+\.[a-z]", text), name
        assert "<script>" not in text  # the Content-Security-Policy forbids inline scripts


def test_every_page_text_exists_in_both_languages() -> None:
    html = (assets.PWA_DIR / "index.html").read_text()
    script = (assets.PWA_DIR / "app.js").read_text()
    zh_block = script[script.index("zh: {"):script.index("en: {")]
    en_block = script[script.index("en: {"):script.index("var $")]
    wanted = set(re.findall(r'data-t="(\w+)"', html)) | set(re.findall(r"(?<![\w.])t\('(\w+)'\)", script))
    for key in wanted:
        assert re.search(rf"\b{key}:", zh_block), f"zh lacks {key}"
        assert re.search(rf"\b{key}:", en_block), f"en lacks {key}"


def test_icons_are_small_pngs() -> None:
    for name in ("icon-192.png", "icon-512.png", "icon-maskable-512.png"):
        data = (assets.PWA_DIR / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 10_000, name


def client() -> httpx.AsyncClient:
    service = CitizenService(couch_of=no_couch, signing_key=None, public_url="")
    app = Starlette(routes=citizen_routes(service))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://citizen.test")


def no_couch() -> Couch:
    raise AssertionError("these requests must not reach CouchDB")


async def test_page_is_served_gzipped_versioned_and_locked_down() -> None:
    async with client() as http:
        page = await http.get("/t/K7QM-9XRT-2HNC", headers={"Accept-Encoding": "gzip"})
        assert page.status_code == 200 and page.headers["content-encoding"] == "gzip"
        assert "办件进度查询" in page.text and "{{v}}" not in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "script-src 'self'" in page.headers["content-security-policy"]
        version = re.search(r"app\.js\?v=(\w+)", page.text)
        assert version is not None
        js = await http.get(f"/pwa/app.js?v={version.group(1)}")
        assert "immutable" in js.headers["cache-control"]
        again = await http.get("/pwa/app.js", headers={"If-None-Match": js.headers["etag"]})
        assert again.status_code == 304
        worker = await http.get("/t/sw.js")
        assert worker.headers["service-worker-allowed"] == "/t/" and version.group(1) in worker.text
        assert (await http.get("/t/")).status_code == 200
        assert (await http.get("/pwa/manifest.webmanifest")).json()["start_url"] == "/t/"
        missing = await http.get("/pwa/secrets.txt")
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"


async def test_issue_is_refused_by_default() -> None:
    async with client() as http:
        assert (await http.post("/api/delivery/K7QM-9XRT-2HNC/token")).status_code == 403
