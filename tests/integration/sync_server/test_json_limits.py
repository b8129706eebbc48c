"""Issue 15, F10/F12: nested JSON and huge strings sent to every JSON endpoint of a real server."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sync_server.app import ROUTE_PARTS
from sync_server.bodycap import MAX_API_BODY
from sync_server.jsonlimits import MAX_DEPTH
from tests.integration.sync_server.gateway_helpers import JPEG, attachment, client, make_case
from tests.integration.sync_server.server_fixtures import RunningServer, Township, running_server, token_for

DEEP = ("[" * 2000 + "]" * 2000).encode()  # 4 KB, far past the parser's recursion limit
JUST_TOO_DEEP = {"docs": [make_case("330212001001", answers=json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH))]}


@pytest.fixture(scope="module")
def full_server(couchdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Every route module, as `onetrip up` mounts them."""
    with running_server(tmp_path_factory.mktemp("limits-data"), couchdb_url, ROUTE_PARTS) as server:
        yield server


def _json_error(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "reason"} and body["reason"]
    return body


ANONYMOUS = ["/api/auth/login", "/api/auth/refresh", "/api/track", "/api/track/ABCDEFGHJKMN/rating",
             "/api/delivery/check", "/api/delivery/confirm"]


async def test_deep_json_is_400_on_every_endpoint(full_server: RunningServer, township: Township,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """F10: ~2,000 levels in 4 KB: 400 with a reason, never a RecursionError 500 or a traceback."""
    headers = {"Content-Type": "application/json"}
    with caplog.at_level(logging.ERROR):
        for path in ANONYMOUS:
            body = _json_error(httpx.post(full_server.url + path, content=DEEP, headers=headers, timeout=30),
                               400)
            assert "deep" in body["reason"] or "嵌套" in body["reason"], (path, body)
        staff = token_for(full_server.url, township.staff)
        with httpx.Client(base_url=full_server.url, headers={"Authorization": f"Bearer {staff}"},
                          timeout=30) as c:
            _json_error(c.post("/api/reviews/case:01J0000000000000000000000", content=DEEP, headers=headers),
                        400)
        # The county callback checks its signature first: refused either way, and no 500.
        _json_error(httpx.post(full_server.url + "/api/county/callback", content=DEEP, headers=headers,
                               timeout=30), 400, 401, 403)
        db, case = township.dbs[0], make_case(township.villages[0])
        with client(full_server.url, token_for(full_server.url, township.agents[0])) as c:
            for method, path in [("POST", "/_bulk_docs"), ("PUT", f"/{case['_id']}"), ("POST", "/_revs_diff"),
                                 ("POST", "/_bulk_get"), ("POST", "/_changes"), ("PUT", "/_local/x")]:
                _json_error(c.request(method, f"/{db}{path}", content=DEEP, headers=headers), 400)
            nested = json.dumps(case)[:-1].encode() + b', "extra": ' + DEEP + b"}"
            boundary = "xyz"
            multipart = (f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode() + nested
                         + f"\r\n--{boundary}--".encode())
            _json_error(c.put(f"/{db}/{case['_id']}?new_edits=false", content=multipart,
                              headers={"Content-Type": f"multipart/related; boundary={boundary}"}), 400)
            _json_error(c.post(f"/{db}/_bulk_docs", json=JUST_TOO_DEEP), 400)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


async def test_a_30_mb_string_field_is_refused_and_inline_scans_still_pass(
        full_server: RunningServer, township: Township) -> None:
    """F12: string "fields" cannot sidestep the 5 MiB attachment cap; a 3 MiB inline scan can."""
    db, village = township.dbs[0], township.villages[0]
    with client(full_server.url, token_for(full_server.url, township.agents[0])) as c:
        huge = make_case(village, notes="x" * (30 * 1024 * 1024))
        _json_error(c.post(f"/{db}/_bulk_docs", json={"docs": [huge]}), 413)
        _json_error(c.put(f"/{db}/{huge['_id']}", json=huge), 413)
        many = make_case(village, answers={f"q{i}": "z" * (1024 * 1024 - 10) for i in range(12)})
        _json_error(c.post(f"/{db}/_bulk_docs", json={"docs": [many]}), 413)  # 12 strings within the cap
        key = make_case(village)
        key["answers"] = {"k" * (2 * 1024 * 1024): 1}
        _json_error(c.post(f"/{db}/_bulk_docs", json={"docs": [key]}), 413)
        sneaky = make_case(village, _attachments={"scan.jpg": {**attachment(JPEG), "note": "y" * 2_000_000}})
        _json_error(c.post(f"/{db}/_bulk_docs", json={"docs": [sneaky]}), 413)
        scan = JPEG + bytes(3 * 1024 * 1024)
        fine = make_case(village, _attachments={"scan.jpg": {"content_type": "image/jpeg",
                                                              "data": base64.b64encode(scan).decode()}})
        written = c.post(f"/{db}/_bulk_docs", json={"docs": [fine]})
        assert written.status_code == 201, written.text
        assert all("error" not in row for row in written.json())


def test_api_bodies_are_capped_before_they_are_read(full_server: RunningServer) -> None:
    """A body past 1 MiB to an API endpoint is 413 (it used to be read whole first)."""
    big = b"{" + b" " * (MAX_API_BODY + 10) + b"}"
    for path in ("/api/track", "/api/auth/login"):
        _json_error(httpx.post(full_server.url + path, content=big,
                               headers={"Content-Type": "application/json"}, timeout=30), 413)

        def chunks() -> Iterator[bytes]:
            yield from (big[i:i + 65536] for i in range(0, len(big), 65536))

        _json_error(httpx.post(full_server.url + path, content=chunks(),
                               headers={"Content-Type": "application/json"}, timeout=30), 413)
