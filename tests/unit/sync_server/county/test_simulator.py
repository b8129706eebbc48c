"""The county platform simulator, in-process: validation, idempotency, failure injection, signed decisions."""

from __future__ import annotations

import json
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sync_server.county.record import build_record
from sync_server.county.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, check
from sync_server.county.simulator import Simulator, create_simulator_app
from tests.unit.sync_server.county.factories import make_case, make_event

SECRET = b"x" * 32


def a_record() -> dict[str, Any]:
    case = make_case()
    events = [make_event(case, "submitted"), make_event(case, "accepted")]
    record = build_record(case, events, {}, db="ot-v-330212001001", item_name="低保",
                          link=lambda db, doc, name: f"http://files/{name}", now="2026-11-24T06:00:00Z")
    return dict(record)


def receiver(received: list[tuple[dict[str, str], bytes]]) -> Starlette:
    async def callback(request: Request) -> JSONResponse:
        received.append((dict(request.headers), await request.body()))
        return JSONResponse({"ok": True, "status": "approved"})

    return Starlette(routes=[Route("/api/county/callback", callback, methods=["POST"])])


def client_for(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://county")


async def test_handoff_is_idempotent_by_key_and_validated() -> None:
    app = create_simulator_app("http://server/api/county/callback", SECRET)
    record = a_record()
    async with client_for(app) as client:
        first = await client.post("/api/cases", json=record, headers={"Idempotency-Key": record["case_id"]})
        again = await client.post("/api/cases", json=record, headers={"Idempotency-Key": record["case_id"]})
        no_key = await client.post("/api/cases", json=record)
        bad = await client.post("/api/cases", json={**record, "process": []},
                                headers={"Idempotency-Key": "k2"})
        listing = (await client.get("/sim/cases")).json()
    assert first.status_code == 201 and first.json()["county_ref"] == "330212-2026-000001"
    assert again.status_code == 200 and again.json()["county_ref"] == first.json()["county_ref"]
    assert again.json()["replayed"] is True
    assert no_key.status_code == 400 and no_key.json()["error"] == "bad_request"
    assert bad.status_code == 422 and "process" in bad.json()["reason"]
    assert [c["case_id"] for c in listing["cases"]] == [record["case_id"]]


async def test_failures_slowness_and_downtime_can_be_injected() -> None:
    app = create_simulator_app("http://server/api/county/callback", SECRET)
    record = a_record()
    headers = {"Idempotency-Key": record["case_id"]}
    async with client_for(app) as client:
        assert (await client.post("/sim/fail", json={"next": 2, "status": 502})).json()["fail_next"] == 2
        statuses = [(await client.post("/api/cases", json=record, headers=headers)).status_code
                    for _ in range(3)]
        assert statuses == [502, 502, 201]
        await client.post("/sim/down", json={"down": True})
        assert (await client.post("/api/cases", json=record, headers=headers)).status_code == 503
        await client.post("/sim/down", json={"down": False})
        assert (await client.post("/sim/slow", json={"seconds": 0.01})).json()["delay"] == 0.01
        assert (await client.post("/api/cases", json=record, headers=headers)).status_code == 200
        assert (await client.post("/sim/fail", json={"next": "x"})).status_code == 400
    assert app.state.sim.requests == 5


async def test_decisions_are_sent_signed_to_the_callback() -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    app = create_simulator_app("http://server/api/county/callback", SECRET,
                               transport=httpx.ASGITransport(app=receiver(received)))
    record = a_record()
    async with client_for(app) as client:
        ref = (await client.post("/api/cases", json=record,
                                 headers={"Idempotency-Key": record["case_id"]})).json()["county_ref"]
        answer = await client.post(f"/sim/decide/{ref}", json={"kind": "approved", "opinion": "准予"})
        unknown = await client.post("/sim/decide/nope", json={"kind": "approved"})
        wrong = await client.post(f"/sim/decide/{ref}", json={"kind": "maybe"})
    assert answer.json() == {"callback_status": 200, "callback": {"ok": True, "status": "approved"}}
    assert unknown.status_code == 404 and wrong.status_code == 400
    headers, body = received[0]
    verdict = check(SECRET, body, headers[TIMESTAMP_HEADER.lower()], headers[SIGNATURE_HEADER.lower()],
                    int(headers[TIMESTAMP_HEADER.lower()]))
    assert verdict.ok
    sent = json.loads(body)
    assert sent["case_id"] == record["case_id"] and sent["county_ref"] == ref
    assert sent["kind"] == "approved" and sent["opinion"] == "准予"
    sim: Simulator = app.state.sim
    assert sim.cases[ref].decisions == ["approved"]
