"""Shared look-ups and grouped audit writes: concurrent requests share CouchDB round trips."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sync_server.auth.accounts import AccountRole, User
from sync_server.couch import Couch
from sync_server.gateway import audit
from sync_server.gateway.audit import AcceptedWrite, AuditAhead, expect_record, store_record
from sync_server.gateway.lookups import load_winners
from sync_server.provision import SERVER_DB, provision

USER = User("batcher", AccountRole.VILLAGE_AGENT, ("330212100001",), "dev-1")


def _counting(couch: Couch, path_end: str) -> list[str]:
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        if request.url.path.endswith(path_end):
            seen.append(request.url.path)

    couch.client.event_hooks["request"].append(hook)
    return seen


async def test_concurrent_lookups_share_one_read_and_get_their_own_ids(
    couchdb_url: str, make_db: Callable[..., str]
) -> None:
    db = make_db("batch")
    couch = Couch(couchdb_url)
    try:
        await couch.bulk_docs(db, [{"_id": f"case:{n}", "status": "submitted"} for n in range(10)])
        gone = await couch.put_doc(db, {"_id": "case:gone"})
        await couch.request("DELETE", f"/{db}/case:gone", params={"rev": gone["rev"]})
        reads = _counting(couch, "/_all_docs")
        asks = [[f"case:{n}", f"case:new-{n}"] for n in range(10)] + [["case:gone", "_local/x"]]
        answers = await asyncio.gather(*(load_winners(couch, db, ids) for ids in asks))
        assert len(reads) < len(asks)
        for n, answer in enumerate(answers[:10]):
            assert set(answer) == {f"case:{n}"}
            doc = answer[f"case:{n}"].doc
            assert doc is not None and doc["status"] == "submitted"
        assert set(answers[10]) == {"case:gone"} and answers[10]["case:gone"].deleted
    finally:
        await couch.aclose()


async def test_concurrent_audit_records_are_stored_together(couchdb_url: str) -> None:
    couch = Couch(couchdb_url)
    try:
        await provision(couch)
        writes = _counting(couch, "/_bulk_docs")
        records: list[dict[str, Any]] = [{"_id": f"audit:test-{n}-{id(couch)}", "type": "audit", "db": "x",
                                          "writes": []} for n in range(8)]
        revs = await asyncio.gather(*(store_record(couch, r) for r in records))
        assert len(writes) < len(records)
        for record, rev in zip(records, revs, strict=True):
            stored = await couch.get_doc(SERVER_DB, record["_id"])
            assert stored is not None and stored["_rev"] == rev
    finally:
        await couch.aclose()


async def test_record_written_ahead_is_amended_to_what_couchdb_accepted(couchdb_url: str) -> None:
    couch = Couch(couchdb_url)
    try:
        await provision(couch)
        planned = [AcceptedWrite("case:a", "1-a"), AcceptedWrite("case:b", "1-b")]
        some = AuditAhead(couch, USER, "ot-v-330212100001", planned, "2026-11-24T08:00:00Z")
        await some.write()
        await some.settle(planned[1:])
        stored = await couch.get_doc(SERVER_DB, some.record["_id"])
        assert stored is not None and [w["doc_id"] for w in stored["writes"]] == ["case:b"]
        none = AuditAhead(couch, USER, "ot-v-330212100001", planned, "2026-11-24T08:00:00Z")
        await none.write()
        await none.settle([])
        assert await couch.get_doc(SERVER_DB, none.record["_id"]) is None
    finally:
        await couch.aclose()


async def test_records_of_write_requests_under_way_are_waited_for(
    couch: Couch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record waits for the records of requests that announced themselves (at most COMMIT_DELAY)."""
    monkeypatch.setattr(audit, "COMMIT_DELAY", 30.0)  # long: the wait must end because all arrived
    await provision(couch)
    writes = _counting(couch, "/_bulk_docs")
    tickets = [expect_record(couch) for _ in range(3)]
    silent = expect_record(couch)  # a request that ends without a record (refused)
    records = [{"_id": f"audit:ticket-{n}-{id(couch)}", "type": "audit", "db": "x", "writes": []}
               for n in range(3)]

    async def one(n: int) -> str:
        await asyncio.sleep(0.05 * n)  # the requests hand their records in one after another
        return await store_record(couch, records[n], tickets[n])

    silent.close()
    revs = await asyncio.gather(*(one(n) for n in range(3)))
    assert len(writes) == 1 and all(revs)
    assert all(not t.open for t in tickets)
    lone = await store_record(couch, {"_id": f"audit:lone-{id(couch)}", "type": "audit", "db": "x",
                                      "writes": []})
    assert lone and len(writes) == 2
