"""End to end with real processes (issue 5's proof): offline edits on two phones → gateway →
automatic merge or a staff review → acceptance in the app → county outbox → simulator →
signed decisions → the next device sync, with the audit trail of every step.

The server stack (HTTP server, workers, county outbox, simulator) runs as its own process
(`tests.integration.e2e_helpers`) over the session's engine; phones are `LocalStore`s syncing
through the gateway with their bearer token; township staff use the app's own view-models.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from mobile.config import load_config
from mobile.viewmodels.context import AppContext
from shared.idnumber import make_id_number
from shared.status import Status
from sync_server.couch import Couch
from sync_server.county import outbox as ob
from tests.integration.e2e_helpers import (
    Phone,
    ServerStack,
    audit_of,
    case_events,
    phone,
    server_stack,
    staff_token,
)
from tests.integration.sync_server.server_fixtures import PASSWORD, Township, make_township
from tests.unit.mobile.images import jpeg_bytes, text_page
from tests.waiting import wait_until

ITEM = "CL-001"  # a county-level item (残疾人证): township staff forward it to the county
# Captured with the application; the fifth, "photo", comes later on the second phone.
REQUIREMENTS = ("application_form", "id_card", "hukou", "assessment")
SMALL_JPEG = jpeg_bytes(text_page(120, 160), quality=60)
ID_FIRST, ID_A, ID_B = (make_id_number("330212", date(1958, 5, 17), n) for n in (231, 232, 233))


@pytest.fixture(scope="module")
async def township(couchdb_url: str) -> Township:
    return await make_township(couchdb_url)


@pytest.fixture(scope="module")
def stack(couchdb_url: str, township: Township,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerStack]:
    data = tmp_path_factory.mktemp("e2e") / "data"
    data.mkdir()
    # Both tests use the first village: its database alone is followed and handed off, so the
    # stack never touches the other tests' databases in the shared engine.
    with server_stack(couchdb_url, data, township.dbs[0], township.dbs[:1]) as running:
        yield running


@pytest.fixture
async def couch(couchdb_url: str) -> AsyncIterator[Couch]:
    client = Couch(couchdb_url)
    yield client
    await client.aclose()


async def two_phones(stack: ServerStack, township: Township, folder: Path) -> tuple[Phone, Phone]:
    agent = township.agents[0]
    return (await phone(stack.url, folder / "phone-1", agent, f"e2e-{folder.name}-1"),
            await phone(stack.url, folder / "phone-2", agent, f"e2e-{folder.name}-2"))


def submitted_case(first: Phone, village: str) -> str:
    """A complete application for ITEM captured on `first`: applicant, address, four scans, submitted."""
    book = first.book
    draft = book.new_draft(ITEM, village)
    materials = [{"requirement": r, "attachment": f"{r}-1.jpg", "source": "captured"} for r in REQUIREMENTS]
    case = book.save(draft, {**draft, "situation": "new", "materials": materials, "missing": [],
                             "applicant": {"name": "李建国", "id_number": ID_FIRST,
                                           "phone": "13800000001"},
                             "answers": {"address": "一号路 1 号"}})
    for entry in materials:
        rev = first.store.put_attachment(case["_id"], case["_rev"], entry["attachment"], SMALL_JPEG,
                                         "image/jpeg")["rev"]
        case = {**case, "_rev": rev}
    case = book.save(case, {**book.get(case["_id"]), "status": Status.SUBMITTED.value})
    book.add_event(case, "submitted", {"from": "draft", "to": "submitted"})
    return str(case["_id"])


def edit(device: Phone, case_id: str, change: dict[str, Any]) -> dict[str, Any]:
    before = device.book.get(case_id)
    return device.book.save(before, {**before, **change})


def add_scan(device: Phone, case_id: str, requirement: str) -> None:
    """What the app does for a newly captured material: a materials entry and its attachment."""
    before = device.book.get(case_id)
    entry = {"requirement": requirement, "attachment": f"{requirement}-1.jpg", "source": "captured"}
    case = device.book.save(before, {**before, "materials": [*before["materials"], entry]})
    device.store.put_attachment(case_id, case["_rev"], entry["attachment"], SMALL_JPEG, "image/jpeg")


async def conflicted_on_server(couch: Couch, db: str, case_id: str, *phones: Phone) -> None:
    """Both phones push their offline edits: the server holds two leaves until the worker merges them."""
    for device in phones:
        summary = await device.push()
        assert summary.ok and summary.docs_written, summary


async def signed_in_staff(folder: Path, server_url: str, username: str) -> AppContext:
    config = replace(load_config(environ={}), data_dir=folder, server_url=server_url)
    ctx = AppContext(config)
    ctx.session.username, ctx.session.password = username, PASSWORD
    assert await ctx.session.sign_in(), ctx.session.error
    return ctx


async def staff_forward(folder: Path, stack: ServerStack, township: Township, case_id: str) -> AppContext:
    """Township staff sync, accept and forward the case in the app (recorded edits + events), sync."""
    staff = await signed_in_staff(folder, stack.url, township.staff)
    await staff.sync_once()
    assert staff.sync.snapshot.error == "", staff.sync.snapshot
    detail = staff.case_detail()
    detail.load(case_id)
    for target in (Status.ACCEPTED, Status.FORWARDED):
        assert detail.perform(target), detail.error
    await staff.sync_once()
    assert staff.sync.snapshot.error == "", staff.sync.snapshot
    return staff


async def server_case(couch: Couch, db: str, case_id: str) -> dict[str, Any]:
    doc = await couch.get_doc(db, case_id, conflicts=True)
    assert doc is not None
    return doc


async def pulled(device: Phone, couch: Couch, db: str, case_id: str) -> None:
    """Pull until the phone holds the server's revision of the case as it is now. A worker may
    rewrite the case while the pull reads `_changes`, and pouchdb-server's feed is no snapshot:
    the rewrite then comes with the next pull (ADR 0160)."""
    rev = (await server_case(couch, db, case_id))["_rev"]

    async def holds() -> bool:
        summary = await device.pull()
        assert summary.ok, summary
        return not device.store.revs_diff({case_id: [rev]})

    await wait_until(holds, what=f"the phone to hold {case_id} at {rev}")


async def county_ref(couch: Couch, db: str, case_id: str) -> str:
    case = await wait_until(lambda: _with_ref(couch, db, case_id), timeout=30, what="the county case number")
    return str(case["county_ref"])


async def _with_ref(couch: Couch, db: str, case_id: str) -> dict[str, Any] | None:
    case = await server_case(couch, db, case_id)
    return case if case.get("county_ref") else None


async def decide(stack: ServerStack, ref: str, kind: str) -> None:
    """The county operator's decision in the simulator, sent back on the signed callback."""
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{stack.county}/sim/decide/{ref}", json={"kind": kind, "opinion": "同意"})
    assert response.status_code == 200, response.text
    assert response.json()["callback_status"] == 200, response.text


async def county_cases(stack: ServerStack) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(f"{stack.county}/sim/cases")
    assert response.status_code == 200, response.text
    return list(response.json()["cases"])


async def one_case_on_two_phones(
    stack: ServerStack, township: Township, tmp_path: Path
) -> tuple[Phone, Phone, str]:
    """Two phones of one agent holding the same submitted case, synced once: the start of a conflict."""
    first, second = await two_phones(stack, township, tmp_path)
    case_id = submitted_case(first, township.villages[0])
    summary = await first.push()
    assert summary.ok and summary.docs_written, summary
    await second.pull()
    return first, second, case_id


async def test_concurrent_edits_merge_and_travel_to_the_county_and_back(
    stack: ServerStack, township: Township, couch: Couch, tmp_path: Path
) -> None:
    db = township.dbs[0]
    first, second, case_id = await one_case_on_two_phones(stack, township, tmp_path)

    # Offline on both phones: one changes the phone number, the other the address and adds a scan.
    edit(first, case_id, {"applicant": {**first.book.get(case_id)["applicant"], "phone": "13900000002"}})
    edit(second, case_id, {"answers": {"address": "二号路 2 号"}})
    add_scan(second, case_id, "photo")
    await conflicted_on_server(couch, db, case_id, first, second)

    async def merged() -> dict[str, Any] | None:
        case = await server_case(couch, db, case_id)
        return None if case.get("_conflicts") else case

    case = await wait_until(merged, what="the worker's merge")
    assert case["applicant"]["phone"] == "13900000002" and case["answers"]["address"] == "二号路 2 号"
    assert {m["requirement"] for m in case["materials"]} == {*REQUIREMENTS, "photo"}
    assert "photo-1.jpg" in case["_attachments"] and not case.get("needs_review")

    staff = await staff_forward(tmp_path / "staff", stack, township, case_id)
    ref = await county_ref(couch, db, case_id)
    assert [c["county_ref"] for c in await county_cases(stack) if c["case_id"] == case_id] == [ref]
    await decide(stack, ref, "approved")
    await decide(stack, ref, "result_ready")
    assert (await server_case(couch, db, case_id))["status"] == Status.RESULT_READY

    # The next device sync shows the decisions.
    await pulled(first, couch, db, case_id)
    assert first.book.get(case_id)["status"] == Status.RESULT_READY
    kinds = [e["kind"] for e in first.book.events(case_id)]
    for kind in ("created", "submitted", "conflict_resolved", "accepted", "forwarded", "county_ack",
                 "approved", "result_ready"):
        assert kind in kinds, kinds

    # The audit trail, every step with who and when: an event written by the server carries its
    # `server_time`; one recorded on a device has the gateway's `audit:` record in ot-server, whose
    # `at` is its server arrival time and whose user and device are the ones the event names.
    events = await case_events(couch, db, case_id)
    by_kind = {e["kind"]: e for e in events}
    assert by_kind["submitted"]["by"] == township.agents[0] and by_kind["accepted"]["by"] == township.staff
    assert by_kind["forwarded"]["role"] == "township_staff" and by_kind["approved"]["role"] == "system"
    assert by_kind["conflict_resolved"]["data"], by_kind["conflict_resolved"]
    device_events = [e for e in events if not e.get("server_time")]

    async def shipped() -> bool:  # records reach ot-server from the gateway's journal (ADR 0049)
        for event in device_events:
            if len(await audit_of(couch, db, event["_id"])) != 1:
                return False
        devices = {(a["user"], a["device"]) for a in await audit_of(couch, db, case_id)}
        return {(township.agents[0], first.device), (township.agents[0], second.device)} <= devices

    await wait_until(shipped, what="the audit records of the case and its device events")
    for event in events:
        assert event["by"] and event["role"] and event["device_time"], event
        if event.get("server_time"):
            continue
        [audit] = await audit_of(couch, db, event["_id"])
        assert (audit["user"], audit["device"], audit["role"]) == (event["by"], event["device"],
                                                                   event["role"])
        assert audit["at"], audit
    audits = await audit_of(couch, db, case_id)
    who = {(a["user"], a["device"]) for a in audits}
    assert {(township.agents[0], first.device), (township.agents[0], second.device)} <= who
    assert any(a["user"] == township.staff and a["role"] == "township_staff" for a in audits)
    assert all(a["at"] for a in audits)
    entry = await ob.get_entry(couch, case_id)
    assert entry is not None and entry["state"] == ob.OutboxState.ACKED and entry["county_ref"] == ref
    staff.close()
    for device in (first, second):
        device.store.close()


async def test_a_review_conflict_holds_the_case_until_staff_decide(
    stack: ServerStack, township: Township, couch: Couch, tmp_path: Path
) -> None:
    db = township.dbs[0]
    first, second, case_id = await one_case_on_two_phones(stack, township, tmp_path)

    # Two different ID numbers typed offline: a person must choose.
    for device, number in ((first, ID_A), (second, ID_B)):
        edit(device, case_id, {"applicant": {**device.book.get(case_id)["applicant"], "id_number": number}})
    await conflicted_on_server(couch, db, case_id, first, second)

    async def under_review() -> dict[str, Any] | None:
        case = await server_case(couch, db, case_id)
        return case if case.get("needs_review") and not case.get("_conflicts") else None

    await wait_until(under_review, what="the review")
    review = await couch.get_doc(db, f"review:{case_id.removeprefix('case:')}")
    assert review is not None and review["status"] == "open"
    assert sorted(review["fields"]["applicant.id_number"]) == sorted([ID_A, ID_B])

    # Staff accept and forward it, but nothing goes to the county while the review is open:
    # the workers have seen the forwarded case (their checkpoint is past it) and enqueued nothing.
    staff = await staff_forward(tmp_path / "staff", stack, township, case_id)
    forwarded = await server_case(couch, db, case_id)
    assert forwarded["status"] == Status.FORWARDED and forwarded["needs_review"]

    async def worker_past_it() -> bool:
        checkpoint = await couch.get_doc("ot-server", f"checkpoint:{db}")
        if checkpoint is None:
            return False
        answer = await couch.changes(db, since=checkpoint["seq"], limit=1)
        return not answer["results"]

    await wait_until(worker_past_it, what="the workers to process the forwarded case")
    assert await ob.get_entry(couch, case_id) is None
    assert not (await server_case(couch, db, case_id)).get("county_ref")

    # Staff decide through the review API; the hand-off follows.
    token = await staff_token(stack.url, township.staff)
    async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
        response = await http.post(f"/api/reviews/{case_id}", headers={"Authorization": f"Bearer {token}"},
                                   json={"database": db, "fields": {"applicant.id_number": ID_B}})
    assert response.status_code == 200, response.text
    ref = await county_ref(couch, db, case_id)
    decided = await server_case(couch, db, case_id)
    assert decided["applicant"]["id_number"] == ID_B and not decided["needs_review"]
    await decide(stack, ref, "approved")
    await pulled(first, couch, db, case_id)
    assert first.book.get(case_id)["status"] == Status.APPROVED
    events = await case_events(couch, db, case_id)
    when = {e["kind"]: e["server_time"] for e in events if e.get("server_time")}
    assert when["review_decided"] <= when["county_ack"] <= when["approved"], when
    staff.close()
    for device in (first, second):
        device.store.close()
