"""Shared look-ups: concurrent requests share CouchDB round trips (audit records: test_audit_journal.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sync_server.auth.accounts import AccountRole, User
from sync_server.couch import Couch
from sync_server.gateway.lookups import load_winners
from tests.integration.sync_server.gateway_helpers import count_requests

USER = User("batcher", AccountRole.VILLAGE_AGENT, ("330212100001",), "dev-1")


async def test_concurrent_lookups_share_one_read_and_get_their_own_ids(
    couchdb_url: str, make_db: Callable[..., str]
) -> None:
    db = make_db("batch")
    couch = Couch(couchdb_url)
    try:
        await couch.bulk_docs(db, [{"_id": f"case:{n}", "status": "submitted"} for n in range(10)])
        gone = await couch.put_doc(db, {"_id": "case:gone"})
        await couch.request("DELETE", f"/{db}/case:gone", params={"rev": gone["rev"]})
        reads = count_requests(couch, "/_all_docs")
        asks = [[f"case:{n}", f"case:new-{n}"] for n in range(10)] + [["case:gone", "_local/x"]]
        answers = await asyncio.gather(*(load_winners(couch, db, ids) for ids in asks))
        assert 1 <= len(reads) < len(asks)
        for n, answer in enumerate(answers[:10]):
            assert set(answer) == {f"case:{n}"}
            doc = answer[f"case:{n}"].doc
            assert doc is not None and doc["status"] == "submitted"
        assert set(answers[10]) == {"case:gone"} and answers[10]["case:gone"].deleted
    finally:
        await couch.aclose()
