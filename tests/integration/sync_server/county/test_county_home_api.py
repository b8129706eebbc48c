"""GET /api/county/cases — the county operator's home — and who may see and retry what.

Attacks: an operator of another county lists nothing of ours and cannot retry our dead
letter (404, as for a case that does not exist); a village agent is refused (403); no token 401.
"""

from __future__ import annotations

import random

from shared.divisions import Division
from sync_server.admin import cmd_add_user
from sync_server.county import outbox as ob
from sync_server.registry import add_division
from tests.integration.sync_server.county.conftest import Loop, put_forwarded_case
from tests.integration.sync_server.server_fixtures import PASSWORD


async def bearer(loop: Loop, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await loop.token(username)}"}


async def other_county_operator(loop: Loop) -> str:
    county = f"3399{random.randrange(10, 99)}"
    await add_division(loop.couch, Division(county, f"测试县{county}", "Test county"))
    name = f"co-x-{random.randrange(10**6)}"
    await cmd_add_user(loop.couch, name, "county_operator", [county], PASSWORD)
    return name


async def test_the_county_operator_sees_hand_offs_dead_letters_and_results_and_retries(loop: Loop) -> None:
    acked = await put_forwarded_case(loop.couch, loop.db)
    await ob.enqueue(loop.couch, acked["_id"], loop.db, loop.clock())
    await loop.run_until(lambda e: e["state"] == "acked", acked["_id"])
    # The county decided and the result is ready: the village has still to deliver it.
    current = await loop.couch.get_doc(loop.db, acked["_id"])
    assert current is not None
    await loop.couch.put_doc(loop.db, {**current, "status": "result_ready"})
    dead = await put_forwarded_case(loop.couch, loop.db)
    await ob.enqueue(loop.couch, dead["_id"], loop.db, loop.clock())
    loop.sim.down = True
    await loop.run_until(lambda e: e["state"] == "dead", dead["_id"])

    operator = await bearer(loop, loop.township.county)
    listed = await loop.server_client.get("/api/county/cases", headers=operator)
    assert listed.status_code == 200, listed.text
    entries = {e["case_id"]: e for e in listed.json()["entries"]}
    assert entries[acked["_id"]]["state"] == "acked" and entries[acked["_id"]]["county_ref"]
    assert entries[acked["_id"]]["case"]["status"] == "result_ready"
    assert entries[acked["_id"]]["case"]["tracking_code"] == acked["tracking_code"]
    assert entries[acked["_id"]]["case"]["village"] == loop.db.removeprefix("ot-v-")
    assert entries[dead["_id"]]["state"] == "dead"
    assert entries[dead["_id"]]["last_error"].startswith("HTTP 503")
    name = dead["applicant"]["name"]
    assert entries[dead["_id"]]["case"]["applicant"] == name[0] + "*" * (len(name) - 1)
    assert name not in listed.text and dead["applicant"]["id_number"] not in listed.text

    # Another county's operator: sees none of it, and cannot retry it.
    stranger = await bearer(loop, await other_county_operator(loop))
    theirs = await loop.server_client.get("/api/county/cases", headers=stranger)
    assert theirs.status_code == 200
    assert not {acked["_id"], dead["_id"]} & {e["case_id"] for e in theirs.json()["entries"]}
    refused = await loop.server_client.post(f"/api/county/outbox/{dead['_id']}/retry", headers=stranger)
    assert refused.status_code == 404 and set(refused.json()) == {"error", "reason"}
    entry = await ob.get_entry(loop.couch, dead["_id"])
    assert entry is not None and entry["state"] == "dead"  # untouched
    # A village agent and nobody at all are refused outright.
    agent = await bearer(loop, loop.township.agents[0])
    assert (await loop.server_client.get("/api/county/cases", headers=agent)).status_code == 403
    assert (await loop.server_client.get("/api/county/cases")).status_code == 401

    # The county operator of this county retries the dead letter; it goes out again.
    loop.sim.down = False
    retried = await loop.server_client.post(f"/api/county/outbox/{dead['_id']}/retry", headers=operator)
    assert retried.status_code == 200 and retried.json()["state"] == "pending"
    await loop.run_until(lambda e: e["state"] == "acked", dead["_id"])


async def test_an_entry_whose_village_database_is_gone_does_not_hide_the_others(loop: Loop) -> None:
    """Seen on Apache CouchDB: one deleted village database made the whole list answer 500."""
    case = await put_forwarded_case(loop.couch, loop.db)
    await ob.enqueue(loop.couch, case["_id"], loop.db, loop.clock())
    gone = f"{loop.db[:-3]}{(int(loop.db[-3:]) + 500) % 1000:03d}"  # same township, no database
    ghost = f"case:{case['_id'][5:-1]}Z"
    await ob.enqueue(loop.couch, ghost, gone, loop.clock())
    operator = await bearer(loop, loop.township.county)
    listed = await loop.server_client.get("/api/county/cases", headers=operator)
    assert listed.status_code == 200, listed.text
    entries = {e["case_id"]: e for e in listed.json()["entries"]}
    assert entries[case["_id"]]["case"]["status"] == "forwarded"
    assert entries[ghost]["case"]["status"] is None and entries[ghost]["state"] == "pending"
