"""The tracking page's files (PWA 资源) from `assets/pwa/`, served compressed and versioned.

Files are read once, gzip-compressed once and answered from memory: the page must load
fast on 3G. `{{v}}` in the shell and the service worker becomes a hash of every file, so
a new release changes the asset URLs and the worker's cache name together, and assets can
be cached for a year.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

PWA_DIR = Path(__file__).resolve().parents[2] / "assets" / "pwa"
SHELL = "index.html"
WORKER = "sw.js"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
}
COMPRESSIBLE = {".html", ".css", ".js", ".webmanifest"}
YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str
    cache: str


@dataclass(frozen=True)
class Bundle:
    shell: Asset
    worker: Asset
    files: dict[str, Asset]
    version: str


def load(folder: Path = PWA_DIR) -> Bundle:
    """Read, version and compress every file of the page."""
    raw = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix in TYPES}
    version = hashlib.sha256(b"".join(hashlib.sha256(b).digest() for b in raw.values())).hexdigest()[:10]

    def make(name: str, cache: str) -> Asset:
        body = raw[name].replace(b"{{v}}", version.encode())
        suffix = Path(name).suffix
        gzipped = gzip.compress(body, 9, mtime=0) if suffix in COMPRESSIBLE else None
        return Asset(body, gzipped, TYPES[suffix], f'"{hashlib.sha256(body).hexdigest()[:16]}"', cache)

    immutable = f"public, max-age={YEAR}, immutable"
    files = {name: make(name, immutable) for name in raw if name not in {SHELL, WORKER}}
    return Bundle(shell=make(SHELL, "no-cache"), worker=make(WORKER, "no-cache"), files=files,
                  version=version)


def respond(request: Request, asset: Asset, extra: dict[str, str] | None = None) -> Response:
    """The asset, gzipped when the client accepts it; 304 when its ETag matches."""
    headers = {"ETag": asset.etag, "Cache-Control": asset.cache, "Vary": "Accept-Encoding", **(extra or {})}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    body = asset.body
    if asset.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        body = asset.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=asset.media_type, headers=headers)
