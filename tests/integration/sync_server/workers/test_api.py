"""`/api/reviews` and `/api/supervision` through a real server, accounts and engine."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from shared.workdays import WorkCalendar
from sync_server.couch import Couch
from sync_server.provision import SERVER_DB, ensure_db
from sync_server.workers import api as workers_api
from sync_server.workers.conflicts import resolve_case
from sync_server.workers.deadlines import Deadlines
from tests.integration.sync_server.server_fixtures import (
    MY_ROUTES,
    RunningServer,
    make_township,
    start_server,
    token_for,
)
from tests.integration.sync_server.workers.helpers import NOW, edited, make_case, new_case_id, put_conflict
from tests.waiting import wait_until

TODAY = date(2026, 11, 27)
NOON_TODAY = 1_795_752_000.0 + 4 * 3600  # 2026-11-27T04:00:00Z = 12:00 in China


@pytest.fixture(scope="module")
def server(couchdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        tmp_path_factory.mktemp("workers-api"), couchdb_url, (*MY_ROUTES, workers_api.routes)
    )
    try:
        yield running
    finally:
        running.stop()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_township_staff_decide_a_review(server: RunningServer, couch: Couch, couchdb_url: str) -> None:
    town = await make_township(couchdb_url)
    db = town.dbs[0]
    await ensure_db(couch, db)
    case_id = new_case_id()
    base = make_case(
        case_id, division={"village": town.villages[0], "township": town.code, "county": "330212"}
    )
    await put_conflict(
        couch,
        db,
        base,
        edited(base, "tab-a", {"applicant.id_number": "11010519491231002X"}),
        edited(base, "tab-b", {"applicant.id_number": "330212199001011250"}, offset_ms=4),
    )
    resolution = await resolve_case(couch, db, case_id, now=NOW)
    assert resolution is not None and resolution.review_fields == ("applicant.id_number",)
    staff = token_for(server.url, town.staff)
    agent = token_for(server.url, town.agents[0])
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        listed = await http.get("/api/reviews", params={"township": town.code}, headers=auth(staff))
        assert listed.status_code == 200, listed.text
        [review] = [r for r in listed.json()["reviews"] if r["case_id"] == case_id]
        assert sorted(review["fields"]["applicant.id_number"]) == ["11010519491231002X", "330212199001011250"]
        # Each candidate names the device that edited it (written straight to CouchDB: no audit record).
        sources = dict(zip(review["fields"]["applicant.id_number"], review["sources"]["applicant.id_number"],
                           strict=True))
        assert sources["11010519491231002X"]["device"] == "tab-a"
        assert "by" not in sources["11010519491231002X"]
        assert sources["330212199001011250"]["device"] == "tab-b"
        assert sources["330212199001011250"]["edited_at"].startswith("20")
        assert (
            await http.get("/api/reviews", params={"township": town.code}, headers=auth(agent))
        ).status_code == 403
        assert (
            await http.get("/api/reviews", params={"township": "330212999"}, headers=auth(staff))
        ).status_code == 403
        assert (await http.get("/api/reviews", params={"township": town.code})).status_code == 401
        url = f"/api/reviews/{case_id}"
        bad = await http.post(
            url, json={"database": db, "fields": {"applicant.id_number": "123"}}, headers=auth(staff)
        )
        assert bad.status_code == 400 and bad.json()["error"] == "bad_request"
        missing = await http.post(url, json={"database": db, "fields": {}}, headers=auth(staff))
        assert missing.status_code == 400
        ok = await http.post(
            url,
            json={"database": db, "fields": {"applicant.id_number": "330212199001011250"}},
            headers=auth(staff),
        )
        assert ok.status_code == 200, ok.text
        again = await http.post(
            url,
            json={"database": db, "fields": {"applicant.id_number": "330212199001011250"}},
            headers=auth(staff),
        )
        assert again.status_code == 409
    case = await couch.get_doc(db, case_id)
    assert case is not None
    assert case["applicant"]["id_number"] == "330212199001011250" and case["needs_review"] is False
    assert case["meta"]["fields"]["applicant.id_number"]["vv"]["server"] >= 1
    review_doc = await couch.get_doc(db, f"review:{case_id.split(':')[1]}")
    assert (
        review_doc is not None
        and review_doc["status"] == "decided"
        and review_doc["decided_by"] == town.staff
    )
    ulid = case_id.split(":")[1]
    events = (
        await couch.get_json(
            f"/{db}/_all_docs", include_docs=True, startkey=f"event:{ulid}:", endkey=f"event:{ulid}:\ufff0"
        )
    )["rows"]
    kinds = sorted(r["doc"]["kind"] for r in events)
    assert kinds == ["conflict_resolved", "review_decided"]


async def test_supervision_figures(
    server: RunningServer, couch: Couch, couchdb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    town = await make_township(couchdb_url)
    db = town.dbs[0]
    await ensure_db(couch, db)
    await ensure_db(couch, SERVER_DB)
    deadlines = Deadlines(couch, SERVER_DB, clock=lambda: NOON_TODAY, calendar=WorkCalendar())
    division = {"village": town.villages[0], "township": town.code, "county": "330212"}
    overdue, due, done = new_case_id(), new_case_id(), new_case_id()
    await couch.bulk_docs(
        db,
        [
            make_case(overdue, status="accepted", accepted_at="2026-11-20T02:00:00Z", division=division),
            make_case(due, status="accepted", accepted_at="2026-11-24T02:00:00Z", division=division),
            make_case(done, status="approved", accepted_at="2026-11-23T02:00:00Z", division=division),
        ],
    )
    ulid = done.split(":")[1]
    await couch.put_doc(
        db,
        {
            "_id": f"event:{ulid}:01KB0000000000000000000000",
            "type": "event",
            "case_id": done,
            "kind": "approved",
            "by": town.staff,
            "server_time": "2026-11-25T02:00:00Z",
        },
    )
    await couch.put_doc(
        db,
        {
            "_id": f"event:{ulid}:01KB0000000000000000000001",
            "type": "event",
            "case_id": done,
            "kind": "rated",
            "by": "citizen",
            "server_time": "2026-11-26T02:00:00Z",
            "data": {"score": 5},
        },
    )
    for case_id in (overdue, due, done):
        await deadlines.update(db, case_id, TODAY)
    staff = token_for(server.url, town.staff)
    monkeypatch.setattr(server.clock, "offset", NOON_TODAY - time.time())
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        answer = await http.get("/api/supervision", params={"township": town.code}, headers=auth(staff))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["today"] == "2026-11-27"
    assert [c["case_id"] for c in body["overdue"]] == [overdue]
    assert [c["case_id"] for c in body["due_soon"]] == [due]
    assert body["villages"][town.villages[0]] == {"open": 2, "overdue": 1, "due_soon": 1, "finished": 1}
    assert body["average_handling_days"] == 2  # accepted Mon 11-23, approved Wed 11-25
    assert body["staff"]["agent1"] == {"open": 2, "overdue": 1, "due_soon": 1, "finished": 1}
    assert body["satisfaction"]["average"] == 5 and body["satisfaction"]["count"] == 1


async def test_review_candidates_say_who_pushed_them_from_which_device_and_when(
    server: RunningServer, couch: Couch, couchdb_url: str
) -> None:
    """Two people rename the applicant offline and push through the gateway: the review shows,
    per version, the pushing user and device and the server's arrival time (the audit trail)."""
    town = await make_township(couchdb_url)
    db, village = town.dbs[0], town.villages[0]
    agent = token_for(server.url, town.agents[0], device="agent-phone-1")
    staff = token_for(server.url, town.staff, device="staff-tablet-1")
    case_id = new_case_id()
    base = make_case(case_id, division={"village": village, "township": town.code, "county": "330212"},
                     item_code="DEMO-001", agent=town.agents[0])
    base_hash, a_hash, b_hash = "a" * 32, "b" * 32, "c" * 32
    first = {**base, "_rev": f"1-{base_hash}", "_revisions": {"start": 1, "ids": [base_hash]}}

    def leaf(device: str, name: str, rev_hash: str) -> dict[str, object]:
        doc = edited(base, device, {"applicant.name": name})
        return {**doc, "_rev": f"2-{rev_hash}", "_revisions": {"start": 2, "ids": [rev_hash, base_hash]}}

    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        for token, docs in ((agent, [first, leaf("agent-phone-1", "张珊", a_hash)]),
                            (staff, [leaf("staff-tablet-1", "张杉", b_hash)])):
            pushed = await http.post(f"/sync/{db}/_bulk_docs", json={"docs": docs, "new_edits": False},
                                     headers=auth(token))
            assert pushed.status_code == 201 and pushed.json() == [], pushed.text
        resolution = await resolve_case(couch, db, case_id, now=time.time())
        assert resolution is not None and "applicant.name" in resolution.review_fields

        async def listed_with_authors() -> dict[str, dict[str, str]] | None:
            answer = await http.get("/api/reviews", params={"township": town.code}, headers=auth(staff))
            [review] = [r for r in answer.json()["reviews"] if r["case_id"] == case_id]
            names, sources = review["fields"]["applicant.name"], review["sources"]["applicant.name"]
            found = dict(zip(names, sources, strict=True))
            return found if all("by" in s for s in found.values()) else None  # audit records ship shortly

        sources = await wait_until(listed_with_authors, what="audit records of both pushes")
    assert sources["张珊"]["by"] == town.agents[0] and sources["张珊"]["pushed_from"] == "agent-phone-1"
    assert sources["张杉"]["by"] == town.staff and sources["张杉"]["pushed_from"] == "staff-tablet-1"
    assert all(s["received_at"].endswith("Z") for s in sources.values())
