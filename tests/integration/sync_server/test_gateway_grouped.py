"""Grouped writes (ADR 0147): concurrent uploads stored together, each answered and kept as sent."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
from typing import Any

import httpx

from sync_server.couch import Couch, CouchError
from sync_server.gateway.grouped import write_together
from tests.integration.sync_server.gateway_helpers import JPEG, make_case
from tests.integration.sync_server.server_fixtures import RunningServer, Township, token_for


def _upload(village: str, scan: bytes, revpos: int = 1) -> tuple[dict[str, Any], bytes, str]:
    """A replicated case with one scan, as the app's replicator PUTs it (multipart/related)."""
    rev_hash = os.urandom(16).hex()
    digest = "md5-" + base64.b64encode(hashlib.md5(scan).digest()).decode()
    case = make_case(village, "submitted", _rev=f"1-{rev_hash}", _revisions={"start": 1, "ids": [rev_hash]},
                     _attachments={"hukou-1.jpg": {"content_type": "image/jpeg", "follows": True,
                                                   "length": len(scan), "digest": digest, "revpos": revpos}})
    boundary = os.urandom(8).hex()
    body = (f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode() + json.dumps(case).encode()
            + f"\r\n--{boundary}\r\nContent-Type: image/jpeg\r\n\r\n".encode() + scan
            + f"\r\n--{boundary}--".encode())
    return case, body, f'multipart/related; boundary="{boundary}"'


async def test_concurrent_uploads_are_each_stored_with_their_digest_and_revpos(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    db, village = township.dbs[0], township.villages[0]
    token = token_for(api_server.url, township.agents[0])
    uploads = [_upload(village, JPEG + os.urandom(50_000)) for _ in range(8)]
    async with httpx.AsyncClient(base_url=f"{api_server.url}/sync", timeout=60,
                                 headers={"Authorization": f"Bearer {token}"}) as agent:
        answers = await asyncio.gather(*(
            agent.put(f"/{db}/{case['_id']}", params={"new_edits": "false"}, content=body,
                      headers={"Content-Type": content_type}) for case, body, content_type in uploads))
    for (case, _, _), answer in zip(uploads, answers, strict=True):
        assert answer.status_code == 201, answer.text
        assert answer.json() == {"ok": True, "id": case["_id"], "rev": case["_rev"]}
        stored = await couch.get_doc(db, case["_id"])
        assert stored is not None and stored["_rev"] == case["_rev"]
        sent, kept = case["_attachments"]["hukou-1.jpg"], stored["_attachments"]["hukou-1.jpg"]
        fields = ("digest", "revpos", "length")
        assert [kept[k] for k in fields] == [sent[k] for k in fields]


async def test_a_write_couchdb_refuses_whole_does_not_fail_the_others_grouped_with_it(
    township: Township, couch: Couch
) -> None:
    """The attack: a device whose body CouchDB refuses as a whole (an id CouchDB does not take)
    would, sent in one `_bulk_docs` with other devices' writes, have their writes refused too."""
    db, village = township.dbs[1], township.villages[1]

    def replicated(**overrides: Any) -> tuple[str, bytes]:
        case = make_case(village, "submitted", _rev="1-" + os.urandom(16).hex(), **overrides)
        case["_revisions"] = {"start": 1, "ids": [case["_rev"][2:]]}
        return case["_id"], json.dumps(case).encode()

    first, good, bad, twice = replicated(), replicated(), replicated(_id="_not_an_id"), replicated()
    again = (twice[0], json.dumps({**json.loads(twice[1]), "_rev": "1-" + "f" * 32,
                                   "_revisions": {"start": 1, "ids": ["f" * 32]}}).encode())
    results = await asyncio.gather(
        write_together(couch, db, [first]), write_together(couch, db, [good, twice]),
        write_together(couch, db, [bad]), write_together(couch, db, [again]), return_exceptions=True)
    assert results[0] == [] and results[1] == [] and results[3] == []
    assert isinstance(results[2], CouchError) and 400 <= results[2].status < 500
    for doc_id, _ in (first, good, twice):
        assert await couch.get_doc(db, doc_id) is not None
    both = await couch.get_doc(db, twice[0], conflicts=True)  # the same id twice: two branches, both kept
    assert both is not None and len(both.get("_conflicts", [])) == 1


async def test_a_multipart_answer_is_not_gzipped_again(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    """Scans in a `_bulk_get` answer pass through as they are: gzip does not shrink a JPEG, and
    compressing them cost the server a sixth of its CPU in a pull (ADR 0146)."""
    db, village = township.dbs[0], township.villages[0]
    token = token_for(api_server.url, township.agents[0])
    scan = JPEG + os.urandom(200_000)
    case, body, content_type = _upload(village, scan)
    async with httpx.AsyncClient(base_url=f"{api_server.url}/sync", timeout=60,
                                 headers={"Authorization": f"Bearer {token}"}) as agent:
        put = await agent.put(f"/{db}/{case['_id']}", params={"new_edits": "false"}, content=body,
                              headers={"Content-Type": content_type})
        assert put.status_code == 201, put.text
        answer = await agent.post(f"/{db}/_bulk_get", params={"revs": "true", "attachments": "true"},
                                  json={"docs": [{"id": case["_id"], "rev": case["_rev"]}]},
                                  headers={"Accept": "multipart/related", "Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    if answer.headers["content-type"].startswith("multipart/"):  # Apache CouchDB: the bytes binary
        assert "content-encoding" not in answer.headers
        assert scan in answer.content
    else:  # pouchdb-server answers JSON with base64, which it gzips itself (passed through)
        data = answer.json()["results"][0]["docs"][0]["ok"]["_attachments"]["hukou-1.jpg"]["data"]
        assert base64.b64decode(data) == scan
