"""The replication gateway: jurisdiction, endpoint table, write rules, hostile input, audit."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
import pytest

from sync_server.couch import Couch
from sync_server.provision import SERVER_DB
from tests.integration.sync_server.gateway_helpers import (
    EXE,
    JPEG,
    PNG,
    attachment,
    client,
    make_case,
    make_event,
    make_material,
)
from tests.integration.sync_server.server_fixtures import RunningServer, Township, make_township, token_for
from tests.waiting import wait_until


def bulk(c: httpx.Client, db: str, docs: list[Any], **extra: Any) -> httpx.Response:
    """`docs` is any JSON: some tests send what is not a document at all."""
    return c.post(f"/{db}/_bulk_docs", json={"docs": docs, **extra})


def every_path(doc_id: str, village: str) -> list[tuple[str, str, Any]]:
    """Each replication endpoint, aimed at `doc_id` in a database of `village`."""
    new_case = make_case(village)
    return [
        ("GET", "/", None), ("GET", "/_changes", None), ("GET", "/_changes?feed=longpoll&timeout=100", None),
        ("GET", "/_changes?include_docs=true&conflicts=true", None),
        ("POST", "/_changes?filter=_doc_ids", {"doc_ids": [doc_id]}),
        ("POST", "/_revs_diff", {doc_id: ["1-x"]}),
        ("POST", "/_bulk_get?revs=true", {"docs": [{"id": doc_id}]}), ("GET", f"/{doc_id}", None),
        ("GET", f"/{doc_id}?open_revs=all&revs=true&latest=true", None),
        ("GET", f"/{doc_id}?revs=true&atts_since=[]", None), ("GET", f"/{doc_id}/scan.jpg", None),
        ("GET", "/_local/checkpoint", None), ("PUT", "/_local/checkpoint", {"x": 1}),
        ("POST", "/_bulk_docs", {"docs": [make_case(village)]}),
        ("POST", "/_bulk_docs", {"docs": [make_case(village)], "new_edits": False}),
        ("PUT", f"/{new_case['_id']}", new_case),
    ]


@pytest.mark.parametrize("role", ["agent", "staff", "county"])
async def test_each_role_reaches_only_its_jurisdiction_by_every_path(
    api_server: RunningServer, township: Township, couch: Couch, couchdb_url: str, role: str
) -> None:
    """Nothing of a database outside the caller's jurisdiction is read, learned or written."""
    if role == "agent":
        user, own, foreign_village = township.agents[0], township.villages[0], township.villages[1]
    elif role == "staff":
        other = await make_township(couchdb_url)
        while other.code == township.code:
            other = await make_township(couchdb_url)
        user, own, foreign_village = township.staff, township.villages[1], other.villages[0]
    else:
        user, own, foreign_village = township.county, "", township.villages[0]
    foreign = f"ot-v-{foreign_village}"
    secret = make_case(foreign_village, _attachments={"scan.jpg": attachment(JPEG)})
    await couch.bulk_docs(foreign, [secret])
    before = _rows(await couch.changes(foreign))
    c = client(api_server.url, token_for(api_server.url, user))
    for method, path, body in every_path(secret["_id"], foreign_village):
        theirs = c.request(method, f"/{foreign}{path}", json=body)
        assert theirs.status_code == 403, (role, method, path, theirs.text)
        assert secret["_id"] not in theirs.text and "张三" not in theirs.text
    assert _rows(await couch.changes(foreign)) == before  # nothing arrived
    if not own:
        return
    mine = make_case(own, _attachments={"scan.jpg": attachment(JPEG)})
    assert bulk(c, f"ot-v-{own}", [mine]).json()[0]["ok"] is True
    for method, path, body in every_path(mine["_id"], own):
        ours = c.request(method, f"/ot-v-{own}{path}", json=body)
        assert ours.status_code < 400 or ours.status_code == 404, (role, method, path, ours.text)


async def test_jurisdiction_matrix_per_role(api_server: RunningServer, township: Township) -> None:
    a, b = township.dbs
    others = ["ot-auth", "ot-server", "ot-v-330212999999", "_users", "_all_dbs", "_replicator", "_config"]
    expected = {
        township.agents[0]: {a: True, b: False},
        township.agents[1]: {a: False, b: True},
        township.staff: {a: True, b: True},
        township.county: {a: False, b: False},
    }
    for username, access in expected.items():
        c = client(api_server.url, token_for(api_server.url, username))
        for db, allowed in access.items():
            assert (c.get(f"/{db}/").status_code == 200) is allowed, (username, db)
        for db in others:
            assert c.get(f"/{db}/").status_code == 403, (username, db)
        assert c.get("/ot-catalog/").status_code == 200
        assert c.get("/ot-catalog/_changes").status_code == 200
        write = bulk(c, "ot-catalog", [{"_id": "item:X", "type": "item"}])
        assert write.status_code == 403 and write.json()["error"] == "forbidden"
        assert c.put("/ot-catalog/_local/cp", json={"a": 1}).status_code == 403


async def test_only_replication_endpoints_exist(api_server: RunningServer, township: Township) -> None:
    db = township.dbs[0]
    c = client(api_server.url, token_for(api_server.url, township.staff))
    for path in ["_all_docs", "_security", "_find", "_index", "_design/x/_view/y", "_compact", "_purge",
                 "_design_docs", "_explain", "_revs_limit", "_ensure_full_commit", "_session"]:
        assert c.get(f"/{db}/{path}").status_code == 404, path
    assert c.put(f"/{db}/_security", json={}).status_code in (404, 405)
    assert c.put(f"/{db}/_design/evil", json={"views": {}}).status_code == 405
    design = bulk(c, db, [{"_id": "_design/evil", "views": {}}])
    assert design.json()[0]["error"] == "forbidden"
    assert c.delete(f"/{db}/case:01").status_code == 405
    assert c.delete(f"/{db}/").status_code == 405
    assert c.get(f"/{db}/_changes?feed=continuous").status_code == 400
    assert c.get(f"/{db}/_changes?filter=_design/x").status_code == 400
    assert c.get(f"/{db}/_changes?filter=_view&view=x/y").status_code == 400
    assert httpx.get(api_server.url + "/sync/" + db + "/").status_code == 401  # no token
    for tricky in ["..%2Fot-auth", f"{db}%2F..%2Fot-auth", "%2e%2e", "ot-auth%00", f"{db}%2F_all_docs"]:
        response = c.get(f"/{tricky}/")
        assert response.status_code in (403, 404), tricky
    for doc in ["..%2F..%2F_all_dbs", "..%2Fot-auth%2Fuser:st", "%2e%2e%2F_all_docs"]:
        response = c.get(f"/{db}/{doc}")
        assert response.status_code == 404 and "rows" not in response.text, doc


async def test_mixed_batch_writes_the_valid_and_refuses_the_rest(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    db = township.dbs[0]
    village = township.villages[0]
    agent = client(api_server.url, token_for(api_server.url, township.agents[0]))
    good = make_case(village, _attachments={"signature.png": attachment(PNG, "image/png")})
    docs: list[Any] = [  # documents, and one that is not
        good,
        make_case(township.villages[1]),  # another village
        make_case(village, status="accepted"),  # a new case cannot start accepted
        make_case(village, _attachments={"scan.jpg": attachment(EXE)}),  # claims JPEG, is an executable
        make_case(village, _attachments={"scan.jpg": attachment(JPEG, "image/png")}),  # declared type lies
        {"_id": "review:01JF0000000000000000000000", "type": "review",
         "case_id": "case:01JF0000000000000000000000", "status": "open"},  # agents do not write reviews
        {"_id": "user:evil", "type": "user"},
        {"_id": "_local/x"},
        make_case(village, _secret=1),
        make_event(good["_id"], by=township.agents[0]),  # an event is its pusher's (ADR 0105)
        make_material(_attachments={"front.jpg": attachment(JPEG)}),
        make_event(good["_id"], _attachments={"x.jpg": attachment(JPEG)}),
        "not a document",
    ]
    answer = bulk(agent, db, docs)
    assert answer.status_code == 201
    results = answer.json()
    assert len(results) == len(docs)
    ok = [i for i, r in enumerate(results) if r.get("ok")]
    assert ok == [0, 9, 10], results
    for i, result in enumerate(results):
        if i not in ok:
            assert result["error"] == "forbidden" and result["reason"], (i, result)
    stored = {row["id"] for row in (await couch.changes(db))["results"]}
    assert stored == {docs[0]["_id"], docs[9]["_id"], docs[10]["_id"]}

    async def audited() -> list[dict[str, Any]]:  # shipped from the gateway's journal (ADR 0049)
        rows: list[dict[str, Any]] = (await couch.get_json(
            f"/{SERVER_DB}/_design/server/_view/audit_by_doc", startkey=[db], endkey=[db, {}],
            include_docs=True))["rows"]
        return rows if {r["key"][1] for r in rows} == stored else []

    rows = await wait_until(audited, what="audit records of the three accepted documents")
    assert {r["doc"]["user"] for r in rows} == {township.agents[0]}


async def test_status_changes_follow_the_roles(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    db, village = township.dbs[0], township.villages[0]
    agent = client(api_server.url, token_for(api_server.url, township.agents[0]))
    staff = client(api_server.url, token_for(api_server.url, township.staff))
    case = make_case(village, status="submitted")
    rev = bulk(agent, db, [case]).json()[0]["rev"]
    jump = bulk(agent, db, [{**case, "_rev": rev, "status": "approved"}]).json()[0]
    assert jump["error"] == "forbidden" and "approved" in jump["reason"]
    self_accept = agent.put(f"/{db}/{case['_id']}", json={**case, "_rev": rev, "status": "accepted"})
    assert self_accept.status_code == 403 and self_accept.json()["error"] == "forbidden"
    accepted = bulk(staff, db, [{**case, "_rev": rev, "status": "accepted"}]).json()[0]
    assert accepted["ok"] is True
    doc = await couch.get_doc(db, case["_id"])
    assert doc is not None and doc["status"] == "accepted"


async def test_concurrent_offline_edit_is_judged_against_the_revision_it_edited(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    """An agent's offline phone-number edit of a submitted case still arrives after staff accepted it."""
    db, village = township.dbs[0], township.villages[0]
    agent = client(api_server.url, token_for(api_server.url, township.agents[0]))
    staff = client(api_server.url, token_for(api_server.url, township.staff))
    case = make_case(village, status="submitted")
    rev1 = bulk(agent, db, [case]).json()[0]["rev"]
    bulk(staff, db, [{**case, "_rev": rev1, "status": "accepted"}])
    h1 = rev1.split("-")[1]
    offline = {**case, "_rev": "2-" + "a" * 32, "_revisions": {"start": 2, "ids": ["a" * 32, h1]},
               "applicant": {**case["applicant"], "phone": "13900000000"}}
    assert bulk(agent, db, [offline], new_edits=False).json() == []
    conflicted = await couch.get_doc(db, case["_id"], conflicts=True)
    assert conflicted is not None and conflicted.get("_conflicts")
    sneaky = {**case, "_rev": "2-" + "b" * 32, "_revisions": {"start": 2, "ids": ["b" * 32, h1]},
              "status": "approved"}
    refused = bulk(agent, db, [sneaky], new_edits=False).json()
    assert refused[0]["error"] == "forbidden"


async def test_events_and_materials_are_immutable(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    db, village = township.dbs[0], township.villages[0]
    agent = client(api_server.url, token_for(api_server.url, township.agents[0]))
    case = make_case(village)
    event = make_event(case["_id"], by=township.agents[0])
    material = make_material()
    results = bulk(agent, db, [case, event, material]).json()
    assert all(r.get("ok") for r in results)
    erev, mrev = results[1]["rev"], results[2]["rev"]
    edited = bulk(agent, db, [{**event, "_rev": erev, "kind": "approved"},
                              {**material, "_rev": mrev, "kind": "other"}]).json()
    assert [r["error"] for r in edited] == ["forbidden", "forbidden"]
    replayed = bulk(agent, db, [{**event, "_rev": erev, "_revisions": {"start": 1, "ids": [erev[2:]]}}],
                    new_edits=False)
    assert replayed.json() == []  # the same revision again is harmless
    branch = {**event, "_rev": "2-" + "c" * 32, "_revisions": {"start": 2, "ids": ["c" * 32, erev[2:]]}}
    assert bulk(agent, db, [branch], new_edits=False).json()[0]["error"] == "forbidden"
    deleted = bulk(agent, db, [{"_id": event["_id"], "_rev": erev, "_deleted": True}]).json()
    assert deleted[0]["error"] == "forbidden"
    stored = await couch.get_doc(db, event["_id"], conflicts=True)
    assert stored is not None and stored["kind"] == "created" and "_conflicts" not in stored


async def test_two_leaves_of_one_new_event_in_one_batch_are_refused(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    db, village = township.dbs[0], township.villages[0]
    agent = client(api_server.url, token_for(api_server.url, township.agents[0]))
    case = make_case(village)
    assert bulk(agent, db, [case]).json()[0].get("ok")
    event = make_event(case["_id"], by=township.agents[0])
    material = make_material()
    # Each leaf alone is a valid first revision: together they would give the event two versions.
    leaves = [{**doc, "_rev": f"1-{digit * 32}", "_revisions": {"start": 1, "ids": [digit * 32]}}
              for doc in (event, material) for digit in "ab"]
    answers = bulk(agent, db, leaves, new_edits=False).json()
    assert [(a["id"], a["error"]) for a in answers] == [(event["_id"], "forbidden"),
                                                        (material["_id"], "forbidden")]
    for doc in (event, material):
        stored = await couch.get_doc(db, doc["_id"], conflicts=True)
        assert stored is not None and stored["_rev"] == "1-" + "a" * 32 and "_conflicts" not in stored
    fresh = make_event(case["_id"], by=township.agents[0])
    twice = bulk(agent, db, [fresh, {**fresh, "kind": "approved"}]).json()
    assert twice[0].get("ok") and twice[1]["error"] == "forbidden"


async def test_hostile_bodies(api_server: RunningServer, township: Township, couch: Couch) -> None:
    db = township.dbs[0]
    agent = client(api_server.url, token_for(api_server.url, township.agents[0]))
    path = f"/{db}/_bulk_docs"
    malformed = agent.post(path, content=b'{"docs": [', headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["error"] == "bad_request"
    wrong_type = agent.post(path, content=b'{"docs": []}', headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    not_docs = agent.post(path, json={"documents": []})
    assert not_docs.status_code == 400
    huge = b'{"docs": [' + b" " * (50 * 1024 * 1024) + b"]}"
    try:
        too_big = agent.post(path, content=huge, headers={"Content-Type": "application/json"})
        assert too_big.status_code == 413 and too_big.json()["error"] == "request_entity_too_large"
    except httpx.WriteError:
        pass  # the server answered 413 and closed before the client finished sending
    bomb = gzip.compress(b'{"docs": [' + b" " * (100 * 1024 * 1024) + b"]}", compresslevel=9)
    exploded = agent.post(path, content=bomb, headers={"Content-Type": "application/json",
                                                       "Content-Encoding": "gzip"})
    assert exploded.status_code == 413
    case = make_case(township.villages[0])
    zipped = agent.post(path, content=gzip.compress(json.dumps({"docs": [case]}).encode()),
                        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert zipped.status_code == 201 and zipped.json()[0]["ok"] is True
    assert agent.post(path, content=b"garbage", headers={"Content-Type": "application/json",
                                                         "Content-Encoding": "gzip"}).status_code == 400
    assert agent.post(path, content=b"{}", headers={"Content-Type": "application/json",
                                                    "Content-Encoding": "br"}).status_code == 415
    assert [r["id"] for r in (await couch.changes(db))["results"]] == [case["_id"]]


def related(doc: dict[str, Any], parts: list[bytes], boundary: str = "b0und4ry") -> tuple[bytes, str]:
    body = f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode() + json.dumps(doc).encode()
    for part in parts:
        body += f"\r\n--{boundary}\r\n\r\n".encode() + part
    body += f"\r\n--{boundary}--".encode()
    return body, f'multipart/related; boundary="{boundary}"'


async def test_multipart_put_streams_attachments_and_checks_them(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    db, village = township.dbs[0], township.villages[0]
    agent = client(api_server.url, token_for(api_server.url, township.agents[0]))
    scan = JPEG + bytes(range(256)) * 4000  # ~1 MB
    case = make_case(village, _rev="1-" + "d" * 32, _revisions={"start": 1, "ids": ["d" * 32]},
                     _attachments={"hukou-1.jpg": {"content_type": "image/jpeg", "follows": True,
                                                   "length": len(scan)}})
    body, content_type = related(case, [scan])
    put = agent.put(f"/{db}/{case['_id']}?new_edits=false", content=body,
                    headers={"Content-Type": content_type})
    assert put.status_code == 201, put.text
    got = agent.get(f"/{db}/{case['_id']}/hukou-1.jpg", headers={"Accept-Encoding": "gzip"})
    assert got.status_code == 200 and got.content == scan
    assert got.headers.get("content-encoding") is None  # JPEG is not gzipped again
    stub = agent.get(f"/{db}/{case['_id']}", params={"revs": "true"}).json()
    assert stub["_attachments"]["hukou-1.jpg"]["stub"] is True

    evil = make_case(village, _rev="1-" + "e" * 32, _revisions={"start": 1, "ids": ["e" * 32]},
                     _attachments={"x.jpg": {"content_type": "image/jpeg", "follows": True}})
    body, content_type = related(evil, [EXE])
    refused = agent.put(f"/{db}/{evil['_id']}?new_edits=false", content=body,
                        headers={"Content-Type": content_type})
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    body, content_type = related(evil, [])
    missing_part = agent.put(f"/{db}/{evil['_id']}?new_edits=false", content=body,
                             headers={"Content-Type": content_type})
    assert missing_part.status_code == 403
    assert await couch.get_doc(db, evil["_id"]) is None


async def test_large_json_answers_are_gzipped(api_server: RunningServer, township: Township) -> None:
    db = township.dbs[0]
    agent = client(api_server.url, token_for(api_server.url, township.agents[0]))
    bulk(agent, db, [make_case(township.villages[0]) for _ in range(30)])
    raw = httpx.get(f"{api_server.url}/sync/{db}/_changes", params={"include_docs": "true"},
                    headers={"Authorization": agent.headers["Authorization"], "Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert len(raw.json()["results"]) == 30


async def test_longpoll_changes_wait_for_a_write(api_server: RunningServer, township: Township) -> None:
    import threading

    db = township.dbs[0]
    agent = client(api_server.url, token_for(api_server.url, township.agents[0]))
    since = agent.get(f"/{db}/_changes").json()["last_seq"]
    answer: dict[str, Any] = {}

    def poll() -> None:
        answer["r"] = agent.get(f"/{db}/_changes", params={"feed": "longpoll", "since": json.dumps(since)
                                                           if not isinstance(since, str) else since,
                                                           "timeout": "20000", "heartbeat": "1000"})

    thread = threading.Thread(target=poll)
    thread.start()
    case = make_case(township.villages[0])
    bulk(agent, db, [case])
    thread.join(timeout=30)
    assert [r["id"] for r in answer["r"].json()["results"]] == [case["_id"]]


def _rows(feed: dict[str, Any]) -> dict[str, list[str]]:
    """id → revisions of a `_changes` answer; seqs are opaque, and Apache CouchDB's differ
    between two reads of the same state."""
    return {row["id"]: sorted(c["rev"] for c in row["changes"]) for row in feed["results"]}


async def test_upstream_errors_keep_couchdb_shape(api_server: RunningServer, township: Township) -> None:
    db = township.dbs[0]
    agent = client(api_server.url, token_for(api_server.url, township.agents[0]))
    missing = agent.get(f"/{db}/case:01JF0000000000000000000000")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert agent.get(f"/{db}/case:01JF0000000000000000000000/a.jpg").status_code == 404
    case = make_case(township.villages[0])
    assert agent.put(f"/{db}/{case['_id']}", json=case).status_code == 201
    stale = agent.put(f"/{db}/{case['_id']}", json=case)  # no _rev: a stale edit
    assert stale.status_code == 409 and stale.json()["error"] == "conflict"
    # `_local` documents: CouchDB documents no conflict check for them (Apache CouchDB takes a
    # stale `_rev`, pouchdb-server refuses it), so only the round trip is checked here.
    first = agent.put(f"/{db}/_local/cp-shape", json={"last_seq": 1})
    assert first.status_code == 201
    again = agent.put(f"/{db}/_local/cp-shape", json={"last_seq": 2, "_rev": first.json()["rev"]})
    assert again.status_code == 201
    assert agent.get(f"/{db}/_local/cp-shape").json()["last_seq"] == 2
