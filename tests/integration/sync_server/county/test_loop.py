"""The whole county loop against the real engine: forwarded case → outbox → simulator → ack → decisions."""

from __future__ import annotations

from typing import Any

from sync_server.county import outbox as ob
from sync_server.county.transition import enqueue_if_ready
from tests.integration.sync_server.county.conftest import SCAN, Loop, put_forwarded_case


async def events_of(loop: Loop, case_id: str) -> list[dict[str, Any]]:
    ulid = case_id.removeprefix("case:")
    rows = (await loop.couch.get_json(f"/{loop.db}/_all_docs", startkey=f"event:{ulid}:",
                                      endkey=f"event:{ulid}:\ufff0", include_docs=True))["rows"]
    return [row["doc"] for row in rows]


async def test_a_forwarded_case_goes_to_the_county_and_its_decisions_come_back(loop: Loop) -> None:
    case = await put_forwarded_case(loop.couch, loop.db)
    # What the workers' transition does on the case's change; enqueueing twice makes one entry.
    assert await enqueue_if_ready(loop.couch, loop.db, case, loop.clock())
    assert not await enqueue_if_ready(loop.couch, loop.db, case, loop.clock())

    entry = await loop.run_until(lambda e: e["state"] == ob.OutboxState.ACKED, case["_id"])
    ref = entry["county_ref"]
    assert ref.startswith(f"{loop.db[5:11]}-") and entry["attempts"] == 1 and entry["last_error"] is None

    # The county received one record with the applicant's full and masked ID and a fetchable scan.
    (received,) = loop.sim.cases.values()
    record = received.record
    assert record["applicant"]["id_number_masked"] == "330212********1234"
    assert [p["step"] for p in record["process"]] == ["申报", "受理", "承办"]
    (scan,) = record["materials"][0]["files"]
    fetched = await loop.server_client.get(scan["url"])
    assert fetched.status_code == 200 and fetched.content == SCAN and scan["length"] == len(SCAN)
    forged = await loop.server_client.get(scan["url"].replace("sig=", "sig=0"))
    assert forged.status_code == 403 and forged.json()["error"] == "forbidden"

    stored = await loop.couch.get_doc(loop.db, case["_id"])
    assert stored is not None and stored["county_ref"] == ref and stored["status"] == "forwarded"
    assert stored["meta"]["fields"]["county_ref"]["vv"] == {"server": 1}

    status, answer = await loop.sim.send_decision(ref, "approved")
    assert status == 200 and answer["status"] == "approved"
    status, answer = await loop.sim.send_decision(ref, "result_ready")
    assert status == 200 and answer["status"] == "result_ready"

    stored = await loop.couch.get_doc(loop.db, case["_id"])
    assert stored is not None and stored["status"] == "result_ready"
    assert stored["meta"]["fields"]["status"]["vv"]["server"] >= 1
    kinds = [(e["kind"], e["role"]) for e in await events_of(loop, case["_id"])]
    assert sorted(k for k, r in kinds if r == "system") == ["approved", "county_ack", "result_ready"]
    approved = next(e for e in await events_of(loop, case["_id"]) if e["kind"] == "approved")
    assert approved["data"]["county_ref"] == ref and approved["data"]["handler"]

    # The worker has nothing more to do with it.
    assert await loop.worker.run_once() == 0
    assert len(loop.sim.cases) == 1


async def test_a_case_waiting_for_review_is_not_sent(loop: Loop) -> None:
    case = await put_forwarded_case(loop.couch, loop.db)
    await ob.enqueue(loop.couch, case["_id"], loop.db, loop.clock())
    await loop.couch.put_doc(loop.db, {**case, "needs_review": True})
    await loop.worker.run_once()
    entry = await ob.get_entry(loop.couch, case["_id"])
    assert entry is not None and entry["state"] == "pending" and entry["attempts"] == 0
    assert "review" in entry["last_error"] and loop.sim.requests == 0
