"""A bulk read of scans through the gateway comes binary on both engines (ADR 0164)."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import httpx

from mobile.replication import RemoteDB, replicate
from mobile.replication.multipart import decode_bulk_get
from mobile.store import LocalStore
from sync_server.couch import Couch
from tests.integration.sync_server.gateway_helpers import JPEG, attachment, make_case
from tests.integration.sync_server.server_fixtures import RunningServer, Township, token_for


async def _stored(couch: Couch, db: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`docs` written straight to the engine; each as the engine holds it (attachment stubs)."""
    results = await couch.bulk_docs(db, docs)
    assert all("error" not in row for row in results), results
    stored = [await couch.get_doc(db, doc["_id"]) for doc in docs]
    assert all(doc is not None for doc in stored)
    return [doc for doc in stored if doc is not None]


async def _bulk_read(server: RunningServer, agent: str, db: str, asked: list[dict[str, str]],
                     headers: dict[str, str]) -> httpx.Response:
    """The agent's `_bulk_get?revs=true&attachments=true` of `asked` through the gateway."""
    token = token_for(server.url, agent)
    async with httpx.AsyncClient(base_url=f"{server.url}/sync", timeout=60,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        return await client.post(f"/{db}/_bulk_get", params={"revs": "true", "attachments": "true"},
                                 json={"docs": asked}, headers=headers)


async def test_a_bulk_read_of_scans_comes_binary_with_the_engines_digests_and_revpos(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    db, village = township.dbs[0], township.villages[0]
    scans = {"id-1.jpg": JPEG + os.urandom(120_000), "id-2.jpg": JPEG + os.urandom(90_000)}
    with_scans = make_case(village, "submitted", _attachments={n: attachment(b) for n, b in scans.items()})
    plain = make_case(village, "submitted")
    held = {doc["_id"]: doc for doc in await _stored(couch, db, [with_scans, plain])}
    asked = [{"id": with_scans["_id"], "rev": held[with_scans["_id"]]["_rev"]},
             {"id": plain["_id"], "rev": held[plain["_id"]]["_rev"]},
             {"id": plain["_id"], "rev": "9-" + "a" * 32}]  # a revision the engine lacks: an error row
    answer = await _bulk_read(api_server, township.agents[0], db, asked,
                              {"Accept": "multipart/related", "Accept-Encoding": "gzip"})
    assert answer.status_code == 200, answer.text
    content_type = answer.headers["content-type"]
    assert content_type.startswith("multipart/") and "content-encoding" not in answer.headers
    for scan in scans.values():
        assert scan in answer.content  # binary, not base64
    docs = {doc["_id"]: doc for doc in decode_bulk_get(answer.content, content_type)}  # checks each md5
    assert set(docs) == {with_scans["_id"], plain["_id"]}
    got = docs[with_scans["_id"]]
    assert {name: att["data"] for name, att in got["_attachments"].items()} == scans
    for name, att in held[with_scans["_id"]]["_attachments"].items():
        assert got["_attachments"][name]["digest"] == att["digest"]
        assert got["_attachments"][name]["revpos"] == att["revpos"]
    assert got["_revisions"]["ids"][0] == held[with_scans["_id"]]["_rev"].split("-", 1)[1]
    fields = {k: v for k, v in got.items() if k not in ("_attachments", "_revisions")}
    assert fields == {k: v for k, v in held[with_scans["_id"]].items() if k != "_attachments"}
    assert docs[plain["_id"]] == {**held[plain["_id"]], "_revisions": docs[plain["_id"]]["_revisions"]}


async def test_a_json_read_of_scans_is_left_as_the_engine_sends_it(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    """Only a device asking exactly `multipart/related` gets the binary form; other clients
    (PouchDB asks JSON) get the engine's answer, base64, as before."""
    db, village = township.dbs[0], township.villages[0]
    scan = JPEG + os.urandom(50_000)
    case = make_case(village, "submitted", _attachments={"a.jpg": attachment(scan)})
    [held] = await _stored(couch, db, [case])
    answer = await _bulk_read(api_server, township.agents[0], db, [{"id": held["_id"], "rev": held["_rev"]}],
                              {"Accept": "application/json"})
    assert answer.status_code == 200
    data = answer.json()["results"][0]["docs"][0]["ok"]["_attachments"]["a.jpg"]["data"]
    assert base64.b64decode(data) == scan


async def test_a_scan_named_beyond_a_plain_header_still_arrives_whole(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    """A name a `filename="…"` header cannot carry as is: pouchdb-server's answer goes as the
    engine sent it (base64 JSON), with the bytes; Apache CouchDB's multipart streams through."""
    db, village = township.dbs[1], township.villages[1]
    scan = JPEG + os.urandom(40_000)
    name = '户口 "1".jpg'
    case = make_case(village, "submitted", _attachments={name: attachment(scan)})
    [held] = await _stored(couch, db, [case])
    answer = await _bulk_read(api_server, township.agents[1], db, [{"id": held["_id"], "rev": held["_rev"]}],
                              {"Accept": "multipart/related"})
    assert answer.status_code == 200
    if await couch.is_apache_couchdb():
        assert answer.headers["content-type"].startswith("multipart/") and scan in answer.content
    else:
        data = answer.json()["results"][0]["docs"][0]["ok"]["_attachments"][name]["data"]
        assert base64.b64decode(data) == scan


async def test_a_pull_through_the_gateway_reads_every_scan_in_bulk(
    api_server: RunningServer, township: Township, couch: Couch, tmp_path: Path
) -> None:
    """The app's pull: no scan is asked one `GET` at a time (on pouchdb-server, before ADR 0164,
    its first base64 answer sent the rest of the run to one `GET` per scan)."""
    db, village = township.dbs[0], township.villages[0]
    scans = [JPEG + os.urandom(150_000) for _ in range(36)]  # 5.4 MB: more bulk requests than four at once
    docs = [make_case(village, "submitted", _attachments={"id-1.jpg": attachment(s)}) for s in scans]
    await _stored(couch, db, docs)
    token = token_for(api_server.url, township.agents[0])
    seen: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request)

    async with RemoteDB(f"{api_server.url}/sync/{db}", token=token) as remote:
        remote.client.event_hooks["request"].append(record)
        store = LocalStore(tmp_path / "phone.sqlite")
        try:
            summary = await replicate(remote, store)
            assert not summary.doc_write_failures
            held = {doc["_id"]: store.get_attachment(doc["_id"], "id-1.jpg") for doc in docs}
        finally:
            store.close()
    assert held == {doc["_id"]: scan for doc, scan in zip(docs, scans, strict=True)}
    bulk = [r for r in seen
            if r.url.path.endswith("/_bulk_get") and r.url.params.get("attachments") == "true"]
    assert len(bulk) > 4
    assert not [r for r in seen if r.url.path.endswith("/id-1.jpg")]
