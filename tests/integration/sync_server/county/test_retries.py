"""Retries with backoff under injected failures: exactly one county case; dead letter, then manual retry."""

from __future__ import annotations

import asyncio
import dataclasses

from sync_server.county import outbox as ob
from sync_server.engine import free_port
from tests.integration.sync_server.county.conftest import Loop, put_forwarded_case


async def test_three_failures_then_success_make_exactly_one_county_case(loop: Loop) -> None:
    case = await put_forwarded_case(loop.couch, loop.db)
    assert await ob.enqueue(loop.couch, case["_id"], loop.db, loop.clock())
    assert not await ob.enqueue(loop.couch, case["_id"], loop.db, loop.clock())  # idempotent
    loop.sim.fail_next = 3

    entry = await loop.run_until(lambda e: e["state"] == "acked", case["_id"])
    assert entry["attempts"] == 4 and loop.sim.requests == 4 and len(loop.sim.cases) == 1
    results = [h["result"] for h in entry["history"]]
    assert results[:3] == ["HTTP 500: " + '{"error":"simulated_failure","reason":"injected failure"}'] * 3
    assert results[3].startswith("taken ")


async def test_a_lost_answer_is_retried_without_a_second_county_case(loop: Loop) -> None:
    case = await put_forwarded_case(loop.couch, loop.db)
    await ob.enqueue(loop.couch, case["_id"], loop.db, loop.clock())
    await loop.worker.run_once()
    entry = await ob.get_entry(loop.couch, case["_id"])
    assert entry is not None and entry["state"] == "acked"
    # As if our answer had been lost: the entry is pending again and is re-sent under the same key.
    lost = {**entry, "state": "pending", "next_attempt_at": ob.iso(loop.clock())}
    await ob.save(loop.couch, lost, loop.clock())
    await loop.worker.run_once()
    again = await ob.get_entry(loop.couch, case["_id"])
    assert again is not None and again["state"] == "acked" and again["county_ref"] == entry["county_ref"]
    assert loop.sim.requests == 2 and len(loop.sim.cases) == 1


async def test_a_county_down_too_long_gives_a_dead_letter_that_staff_can_retry(loop: Loop) -> None:
    case = await put_forwarded_case(loop.couch, loop.db)
    await ob.enqueue(loop.couch, case["_id"], loop.db, loop.clock())
    loop.sim.down = True
    dead = await loop.run_until(lambda e: e["state"] == "dead", case["_id"])
    assert dead["attempts"] == 4 and dead["last_error"].startswith("HTTP 503")
    assert loop.sim.requests == 4 and not loop.sim.cases

    staff = {"Authorization": f"Bearer {await loop.token(loop.township.staff)}"}
    listed = await loop.server_client.get("/api/county/outbox", params={"state": "dead"}, headers=staff)
    (shown,) = [e for e in listed.json()["entries"] if e["case_id"] == case["_id"]]
    assert shown["state"] == "dead" and shown["last_error"].startswith("HTTP 503")

    agent = {"Authorization": f"Bearer {await loop.token(loop.township.agents[0])}"}
    refused = await loop.server_client.post(f"/api/county/outbox/{case['_id']}/retry", headers=agent)
    assert refused.status_code == 403 and set(refused.json()) == {"error", "reason"}
    anonymous = await loop.server_client.post(f"/api/county/outbox/{case['_id']}/retry")
    assert anonymous.status_code == 401

    loop.sim.down = False
    retried = await loop.server_client.post(f"/api/county/outbox/{case['_id']}/retry", headers=staff)
    assert retried.status_code == 200
    assert retried.json()["state"] == "pending" and retried.json()["attempts"] == 0
    again = await loop.server_client.post(f"/api/county/outbox/{case['_id']}/retry", headers=staff)
    assert again.status_code == 409

    acked = await loop.run_until(lambda e: e["state"] == "acked", case["_id"])
    assert acked["county_ref"] and len(loop.sim.cases) == 1


async def test_a_refused_record_is_dead_at_once(loop: Loop) -> None:
    applicant = {"name": "张三", "id_number": "123", "phone": ""}
    case = await put_forwarded_case(loop.couch, loop.db, applicant=applicant)
    await ob.enqueue(loop.couch, case["_id"], loop.db, loop.clock())
    await loop.worker.run_once()
    entry = await ob.get_entry(loop.couch, case["_id"])
    assert entry is not None and entry["state"] == "dead" and entry["attempts"] == 1
    assert entry["last_error"].startswith("HTTP 422") and "id_number" in entry["last_error"]


async def test_a_withdrawn_case_is_cancelled_not_sent(loop: Loop) -> None:
    case = await put_forwarded_case(loop.couch, loop.db, status="withdrawn")
    await ob.enqueue(loop.couch, case["_id"], loop.db, loop.clock())
    await loop.worker.run_once()
    entry = await ob.get_entry(loop.couch, case["_id"])
    assert entry is not None and entry["state"] == "cancelled" and loop.sim.requests == 0


async def test_a_county_platform_that_does_not_answer_at_all_is_retried(loop: Loop) -> None:
    case = await put_forwarded_case(loop.couch, loop.db)
    await ob.enqueue(loop.couch, case["_id"], loop.db, loop.clock())
    closed = f"http://127.0.0.1:{free_port()}/api/cases"  # nothing listens there
    nobody = dataclasses.replace(loop.worker, county_url=closed, http=None)
    try:
        await nobody.run_once()
    finally:
        if nobody.http is not None:
            await nobody.http.aclose()
    entry = await ob.get_entry(loop.couch, case["_id"])
    assert entry is not None and entry["state"] == "pending" and entry["attempts"] == 1
    assert "unreachable" in entry["last_error"]
    # Rescheduled by the backoff (0.75 s here; times are stored to the second, so not strictly later).
    assert entry["next_attempt_at"] >= ob.iso(loop.clock()) and len(entry["history"]) == 1


async def test_of_two_workers_holding_the_same_entry_only_one_sends_it(loop: Loop) -> None:
    case = await put_forwarded_case(loop.couch, loop.db)
    await ob.enqueue(loop.couch, case["_id"], loop.db, loop.clock())
    entry = await ob.get_entry(loop.couch, case["_id"])
    assert entry is not None
    other = dataclasses.replace(loop.worker)
    results = await asyncio.gather(loop.worker.attempt(dict(entry)), other.attempt(dict(entry)))
    assert sorted(results) == [False, True]
    assert loop.sim.requests == 1
