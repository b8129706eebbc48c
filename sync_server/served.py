"""Headers of every stored file the server serves (附件下载): a device's bytes never run as a page.

An attachment is served under the canonical name of its allow-listed type (anything else,
e.g. a file stored before the allow-list, as `application/octet-stream`), with
`X-Content-Type-Options: nosniff`, `Content-Disposition: attachment` and a CSP that lets
nothing run even if a browser renders it (ADR 0105).
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import Response

from sync_server.gateway.sniff import parse_type

FILE_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"


def file_headers(name: str, stored_type: str | None) -> dict[str, str]:
    """Content-Type, nosniff, Content-Disposition and CSP for attachment `name`."""
    filename = quote(name.rsplit("/", 1)[-1], safe="")
    return {
        "Content-Type": parse_type(stored_type) or "application/octet-stream",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f"attachment; filename*=UTF-8''{filename}",
        "Content-Security-Policy": FILE_CSP,
    }


def as_file(response: Response, name: str) -> Response:
    """`response` (an attachment forwarded from CouchDB) with the file headers; errors untouched."""
    if response.status_code < 300:
        for key, value in file_headers(name, response.headers.get("content-type")).items():
            response.headers[key] = value
    return response
