"""The callback refuses bad, stale and replayed signatures (401) and decisions the status machine forbids."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from sync_server.county import outbox as ob
from sync_server.county.replay import SEEN_PREFIX, purge_seen
from sync_server.county.signature import MAX_SKEW, SIGNATURE_HEADER, signed_headers
from sync_server.provision import SERVER_DB
from tests.integration.sync_server.county.conftest import Loop, put_forwarded_case


def body_for(case_id: str, kind: str = "approved", event_id: str = "ev-1", **extra: Any) -> bytes:
    data = {"case_id": case_id, "county_ref": "330212-2026-009999", "event_id": event_id, "kind": kind,
            "time": "2026-11-24T08:00:00Z", "handler": "李审批", "office": "县民政局", "opinion": "同意",
            **extra}
    return json.dumps(data, ensure_ascii=False).encode()


async def post(loop: Loop, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await loop.server_client.post("/api/county/callback", content=body, headers=headers)


async def handed_off(loop: Loop) -> dict[str, Any]:
    case = await put_forwarded_case(loop.couch, loop.db)
    await ob.enqueue(loop.couch, case["_id"], loop.db, loop.clock())
    return case


def refused(response: httpx.Response, status: int, word: str) -> None:
    assert response.status_code == status, response.text
    answer = response.json()
    assert set(answer) == {"error", "reason"} and word in answer["reason"], answer


async def test_bad_stale_and_replayed_callbacks_are_refused(loop: Loop) -> None:
    case = await handed_off(loop)
    body = body_for(case["_id"])
    now = int(time.time())

    refused(await post(loop, body, signed_headers(b"wrong secret", now, body)), 401, "signature")
    refused(await post(loop, body, {"Content-Type": "application/json"}), 401, "missing")
    refused(await post(loop, body, signed_headers(loop.secret, now - 3600, body)), 401, "window")
    tampered = signed_headers(loop.secret, now, body)
    refused(await post(loop, body.replace(b"approved", b"rejected"), tampered), 401, "signature")

    good = signed_headers(loop.secret, now, body)
    first = await post(loop, body, good)
    assert first.status_code == 200 and first.json()["status"] == "approved"
    refused(await post(loop, body, good), 401, "replayed")

    # The county re-sending the same decision, freshly signed, is harmless: no second event.
    again = await post(loop, body, signed_headers(loop.secret, now + 1, body))
    assert again.status_code == 200 and again.json()["event_written"] is False
    stored = await loop.couch.get_doc(loop.db, case["_id"])
    assert stored is not None and stored["status"] == "approved"
    assert stored["county_ref"] == "330212-2026-009999"
    entry = await ob.get_entry(loop.couch, case["_id"])
    assert entry is not None and entry["state"] == "acked"  # the decision also tells us the county number


async def test_malformed_unknown_and_forbidden_callbacks_are_refused(loop: Loop) -> None:
    case = await handed_off(loop)
    now = int(time.time())

    async def signed(body: bytes) -> httpx.Response:
        return await post(loop, body, signed_headers(loop.secret, now, body))

    refused(await signed(b"not json"), 400, "JSON")
    refused(await signed(body_for(case["_id"], kind="maybe", event_id="e2")), 400, "kind")
    refused(await signed(json.dumps({"case_id": case["_id"]}).encode()), 400, "county_ref")
    refused(await signed(body_for("case:01JX0000000000000000000000", event_id="e3")), 404, "never")
    refused(await signed(body_for(case["_id"], kind="result_ready", event_id="e4")), 409, "forwarded")
    stored = await loop.couch.get_doc(loop.db, case["_id"])
    assert stored is not None and stored["status"] == "forwarded"


async def test_an_acknowledgement_on_the_callback_sets_the_county_number(loop: Loop) -> None:
    case = await handed_off(loop)
    body = body_for(case["_id"], kind="ack", event_id="ack-1")
    response = await post(loop, body, signed_headers(loop.secret, int(time.time()), body))
    assert response.status_code == 200 and response.json() == {
        "ok": True, "case_id": case["_id"], "status": "forwarded", "event_written": True}
    entry = await ob.get_entry(loop.couch, case["_id"])
    assert entry is not None and entry["state"] == "acked" and entry["county_ref"] == "330212-2026-009999"


async def test_old_signatures_are_forgotten_once_they_could_not_be_accepted_anyway(loop: Loop) -> None:
    case = await handed_off(loop)
    body = body_for(case["_id"], kind="ack", event_id="ack-2")
    headers = signed_headers(loop.secret, int(time.time()), body)
    assert (await post(loop, body, headers)).status_code == 200
    seen_id = SEEN_PREFIX + hashlib.sha256(headers[SIGNATURE_HEADER].encode()).hexdigest()
    now = datetime.now(UTC)
    await purge_seen(loop.couch, now)
    assert await loop.couch.get_doc(SERVER_DB, seen_id) is not None  # still inside the window: kept
    assert await purge_seen(loop.couch, now + timedelta(seconds=2 * MAX_SKEW + 5)) >= 1
    assert await loop.couch.get_doc(SERVER_DB, seen_id) is None
