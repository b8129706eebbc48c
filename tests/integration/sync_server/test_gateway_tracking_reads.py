"""The tracking index read by the shared reader (ADR 0167): the rule holds, concurrent writes share reads."""

from __future__ import annotations

import asyncio
import os

import httpx

from shared.ids import RANDOM_BYTES, new_tracking_code
from sync_server.couch import Couch
from sync_server.gateway.validation import Stored
from sync_server.gateway.writes import add_tracking_owners
from sync_server.provision import SERVER_DB
from tests.integration.sync_server.gateway_helpers import count_requests, make_case
from tests.integration.sync_server.server_fixtures import RunningServer, Township, token_for


def _code() -> str:
    return new_tracking_code(os.urandom(RANDOM_BYTES))


def _replicated(village: str, code: str) -> dict[str, object]:
    rev_hash = os.urandom(16).hex()
    return make_case(village, "submitted", tracking_code=code, _rev=f"1-{rev_hash}",
                     _revisions={"start": 1, "ids": [rev_hash]})


async def test_a_new_case_taking_another_cases_tracking_code_is_refused_and_the_batch_kept(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    """The attack: a device pushes a new case under a tracking code the index gives to another
    case, so that the citizen who holds that code would be shown this case."""
    db, village = township.dbs[0], township.villages[0]
    taken, free = _code(), _code()
    owner = make_case(township.villages[1])["_id"]
    await couch.put_doc(SERVER_DB, {"_id": f"track:{taken}", "type": "track", "db": township.dbs[1],
                                    "case_id": owner})
    thief, honest = _replicated(village, taken), _replicated(village, free)
    token = token_for(api_server.url, township.agents[0])
    async with httpx.AsyncClient(base_url=f"{api_server.url}/sync", timeout=60,
                                 headers={"Authorization": f"Bearer {token}"}) as agent:
        answer = await agent.post(f"/{db}/_bulk_docs", json={"docs": [thief, honest], "new_edits": False})
    assert answer.status_code == 201, answer.text
    [refused] = answer.json()
    assert refused["id"] == thief["_id"] and refused["error"] == "forbidden"
    assert "belongs to another case" in refused["reason"]
    assert await couch.get_doc(db, str(thief["_id"])) is None
    kept = await couch.get_doc(db, str(honest["_id"]))
    assert kept is not None and kept["tracking_code"] == free


async def test_concurrent_writes_ask_their_new_codes_in_shared_reads(
    township: Township, couch: Couch
) -> None:
    village = township.villages[0]
    taken = [_code() for _ in range(4)]
    owners = {code: make_case(township.villages[1])["_id"] for code in taken}
    await couch.bulk_docs(SERVER_DB, [{"_id": f"track:{code}", "type": "track", "db": township.dbs[1],
                                       "case_id": case} for code, case in owners.items()])
    batches = [[_replicated(village, code), _replicated(village, _code())] for code in taken]
    batches += [[_replicated(village, _code())] for _ in range(8)]
    reads = count_requests(couch, f"/{SERVER_DB}/_all_docs")
    found = await asyncio.gather(*(add_tracking_owners(couch, township.dbs[0], docs, {}) for docs in batches))
    assert 1 <= len(reads) < len(batches)
    for docs, stored in zip(batches, found, strict=True):
        for doc in docs:
            held = stored.get(str(doc["_id"]), Stored())
            code = str(doc["tracking_code"])
            expected = (township.dbs[1], owners[code]) if code in owners else None
            assert held.tracking_owner == expected
