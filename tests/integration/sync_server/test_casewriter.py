"""The server's case writer against the real engine: edits recorded, 409s retried, events once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from ulid import ULID

from shared.documents import EventKind, new_event
from shared.edits import SERVER_DEVICE, record_edit
from shared.errors import TransitionError
from shared.status import Role
from sync_server.casewriter import CaseBusy, CaseWriter
from sync_server.couch import JSON, Couch
from tests.integration.sync_server.workers.helpers import make_case, new_case_id

NOW = datetime(2026, 11, 28, 3, 10, tzinfo=UTC)


@pytest.fixture
async def db(couch: Couch) -> AsyncIterator[str]:
    name = f"ot-casewriter-{str(ULID()).lower()}"  # each test its own database
    await couch.create_db(name)
    yield name
    await couch.request("DELETE", f"/{name}")


async def stored_case(couch: Couch, db: str, **overrides: Any) -> JSON:
    case = make_case(new_case_id(), **overrides)
    case["_rev"] = (await couch.put_doc(db, case))["rev"]
    return case


async def device_edit(couch: Couch, db: str, case_id: str, path: str, value: Any) -> None:
    """What a device's sync does between the writer's read and its write."""
    current = await couch.get_doc(db, case_id)
    assert current is not None
    await couch.put_doc(db, record_edit(current, path, value, device="phone-1", wall_ms=1))


async def test_an_edit_is_recorded_as_the_servers(couch: Couch, db: str) -> None:
    case = await stored_case(couch, db, status="forwarded")
    written = await CaseWriter(couch, db).edit(case["_id"], lambda c: {"status": "approved"}, now=NOW,
                                               role=Role.SYSTEM)
    assert written is not None and written.changed
    stored = await couch.get_doc(db, case["_id"])
    assert stored is not None and stored["status"] == "approved" and stored["_rev"] == written.case["_rev"]
    assert stored["meta"]["fields"]["status"]["vv"] == {SERVER_DEVICE: 1}
    # Nothing to change: nothing written.
    again = await CaseWriter(couch, db).edit(case["_id"], lambda c: None, now=NOW)
    assert again is not None and not again.changed and again.case["_rev"] == stored["_rev"]


async def test_a_conflict_is_read_again_and_the_edit_decides_afresh(couch: Couch, db: str) -> None:
    case = await stored_case(couch, db, status="result_ready")
    seen: list[str] = []

    async def racing_device() -> None:
        await device_edit(couch, db, case["_id"], "applicant.phone", "13900000000")

    def deliver(current: JSON) -> dict[str, Any] | None:
        seen.append(str(current["_rev"]))
        return {"status": "delivered"} if current["status"] == "result_ready" else None

    await racing_device()  # the writer holds the older revision: its first put gets a 409
    written = await CaseWriter(couch, db).edit(case["_id"], deliver, now=NOW, case=case)
    assert written is not None and written.changed and len(seen) == 2 and seen[0] != seen[1]
    stored = await couch.get_doc(db, case["_id"])
    assert stored is not None
    assert (stored["status"], stored["applicant"]["phone"]) == ("delivered", "13900000000")


async def test_a_case_that_keeps_changing_is_busy(couch: Couch, db: str, couchdb_url: str) -> None:
    case = await stored_case(couch, db)
    tries = 0

    def edit(current: JSON) -> dict[str, Any]:
        """A device syncs a new revision between every read of the writer and its write."""
        nonlocal tries
        tries += 1
        raced = record_edit(current, "answers.household", 100 + tries, device="phone-1", wall_ms=tries)
        assert httpx.put(f"{couchdb_url}/{db}/{quote(current['_id'])}", json=raced).status_code == 201
        return {"answers.household": tries}

    with pytest.raises(CaseBusy):
        await CaseWriter(couch, db, tries=3).edit(case["_id"], edit, now=NOW)
    assert tries == 3
    stored = await couch.get_doc(db, case["_id"])
    assert stored is not None and stored["answers"]["household"] == 103  # the device's, never ours


async def test_a_status_change_the_role_may_not_make_is_refused(couch: Couch, db: str) -> None:
    case = await stored_case(couch, db, status="accepted")
    with pytest.raises(TransitionError):
        await CaseWriter(couch, db).edit(case["_id"], lambda c: {"status": "approved"}, now=NOW,
                                         role=Role.SYSTEM)
    stored = await couch.get_doc(db, case["_id"])
    assert stored is not None and stored["_rev"] == case["_rev"]


async def test_a_missing_case_is_none(couch: Couch, db: str) -> None:
    assert await CaseWriter(couch, db).edit(new_case_id(), lambda c: {"status": "x"}, now=NOW) is None


async def test_an_event_is_written_once(couch: Couch, db: str) -> None:
    case = await stored_case(couch, db)
    event = new_event(case["_id"], ULID(), EventKind.RATED, by="citizen", role="citizen", device="web",
                      device_time="2026-11-28T03:10:00Z", server_time="2026-11-28T03:10:00Z")
    writer = CaseWriter(couch, db)
    assert await writer.add_event(event) is True
    assert await writer.add_event(event) is False
    stored = await couch.get_doc(db, event["_id"])
    assert stored is not None and stored["_rev"].startswith("1-") and stored["kind"] == "rated"


async def test_edit_many_writes_what_did_not_change_meanwhile(couch: Couch, db: str) -> None:
    fresh = await stored_case(couch, db, status="accepted")
    raced = await stored_case(couch, db, status="accepted")
    await device_edit(couch, db, raced["_id"], "applicant.phone", "13900000000")
    written = await CaseWriter(couch, db).edit_many(
        {fresh["_id"]: fresh, raced["_id"]: raced}, lambda c: {"deadline": "2026-12-04"}, now=NOW
    )
    assert written == [fresh["_id"]]
    stored_fresh = await couch.get_doc(db, fresh["_id"])
    stored_raced = await couch.get_doc(db, raced["_id"])
    assert stored_fresh is not None and stored_fresh["deadline"] == "2026-12-04"
    assert stored_raced is not None and "deadline" not in stored_raced
