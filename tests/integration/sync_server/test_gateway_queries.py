"""Issue 15, F1/F6/F14: hostile query strings and held longpolls, performed against the gateway."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_server.couch import Couch
from sync_server.engine import project_engine_dir
from sync_server.gateway.feeds import MAX_PER_USER
from tests.integration.sync_server.gateway_helpers import client, make_case
from tests.integration.sync_server.server_fixtures import RunningServer, Township, token_for
from tests.waiting import wait_until

LIVE_SCRIPT = Path(__file__).with_name("pouchdb_live.js")


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "bad_request" and isinstance(body["reason"], str) and body["reason"]


async def _stored_case(couch: Couch, township: Township) -> dict[str, Any]:
    case = make_case(township.villages[0])
    written = await couch.put_doc(township.dbs[0], case)
    return {**case, "_rev": written["rev"]}


async def test_doc_ids_filter_without_ids_is_refused_and_the_engine_stays_up(
        api_server: RunningServer, township: Township) -> None:
    """F1: the request that made pouchdb-server exit never reaches it; the next read answers."""
    db = township.dbs[0]
    with client(api_server.url, token_for(api_server.url, township.agents[0])) as c:
        for _ in range(3):
            _refused(c.get(f"/{db}/_changes?filter=_doc_ids"))
            _refused(c.get(f"/{db}/_changes?filter=_doc_ids&feed=longpoll"))
            _refused(c.post(f"/{db}/_changes?filter=_doc_ids", json={}))
            assert c.get(f"/{db}/").status_code == 200  # no engine restart in between (it would be 503)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/_changes?feed=normal&feed=continuous", None),  # duplicated: CouchDB takes the first
    ("GET", "/_changes?filter=_doc_ids&doc_ids=[%22a%22]&filter=_view", None),
    ("GET", "/_changes?feed=continuous", None),
    ("GET", "/_changes?feed=eventsource", None),
    ("GET", "/_changes?filter=_selector", None),
    ("GET", "/_changes?filter=_doc_ids&doc_ids=garbage", None),
    ("GET", "/_changes?filter=_doc_ids&doc_ids={%22a%22:1}", None),
    ("GET", "/_changes?filter=_doc_ids&doc_ids=[1,2]", None),
    ("GET", "/_changes?filter=_doc_ids&doc_ids=[]", None),
    ("GET", "/_changes?doc_ids=[%22a%22]", None),  # ids without the filter
    ("GET", "/_changes?since=-1", None),
    ("GET", "/_changes?since=%7B%7D", None),
    ("GET", "/_changes?since[x]=1", None),  # express's qs would make an object of it
    ("GET", "/_changes?limit=-1", None),
    ("GET", "/_changes?limit=1e9", None),
    ("GET", "/_changes?style=everything", None),
    ("GET", "/_changes?include_docs=yes", None),
    ("GET", "/_changes?timeout=soon&feed=longpoll", None),
    ("GET", "/_changes?heartbeat=-5&feed=longpoll", None),
    ("GET", "/_changes?view=x/y", None),
    ("GET", "/_changes?feed=longpoll&descending=true", None),
    ("GET", "/_changes?include_docs", None),  # no '='
    ("GET", "/_changes?%ff=1", None),  # not UTF-8
    ("POST", "/_changes?filter=_doc_ids&doc_ids=[%22a%22]", {"doc_ids": ["a"]}),
    ("POST", "/_changes?filter=_doc_ids", {"doc_ids": "a"}),
    ("POST", "/_changes?filter=_doc_ids", {"doc_ids": ["a"], "selector": {}}),
    ("POST", "/_changes", {"doc_ids": ["a"]}),
    ("POST", "/_changes", []),
    ("GET", "/{doc}?open_revs=garbage", None),  # schemathesis: engine 500
    ("GET", "/{doc}?open_revs=[%22garbage%22]", None),
    ("GET", "/{doc}?open_revs=[1]", None),
    ("GET", "/{doc}?open_revs=all&open_revs=all", None),
    ("GET", "/{doc}?rev=garbage", None),
    ("GET", "/{doc}?atts_since=garbage", None),
    ("GET", "/{doc}?revs=1", None),
    ("GET", "/{doc}?latest=true&latest=false", None),
    ("GET", "/{doc}?new_edits=false", None),
    ("HEAD", "/{doc}?rev=x", None),
    ("GET", "/{doc}/scan.jpg?rev=garbage", None),
    ("GET", "/{doc}/scan.jpg?attachments=true", None),
    ("GET", "/?since=0", None),
    ("GET", "/_local/x?rev=1-a", None),
    ("POST", "/_bulk_get?revs=maybe", {"docs": [{"id": "a"}]}),
    ("POST", "/_bulk_get", {"docs": "a"}),
    ("POST", "/_bulk_get", {"docs": [{"id": 1}]}),
    ("POST", "/_bulk_get", {"docs": [{"id": "a", "rev": "garbage"}]}),
    ("POST", "/_bulk_get", {"docs": [{"id": "a", "atts_since": "x"}]}),
    ("POST", "/_bulk_get", {"docs": [{"id": "a", "extra": 1}]}),
    ("POST", "/_bulk_docs?new_edits=false", {"docs": []}),
    ("POST", "/_revs_diff?x=1", {}),
    ("PUT", "/{doc}?new_edits=false&new_edits=true", {}),
    ("PUT", "/{doc}?new_edits=no", {}),
])
async def test_malformed_queries_are_refused_before_the_engine(
        api_server: RunningServer, township: Township, couch: Couch, method: str, path: str,
        body: Any) -> None:
    """F1/F14: one value per parameter, only known ones, only documented values: else 400."""
    case = await _stored_case(couch, township)
    db = township.dbs[0]
    with client(api_server.url, token_for(api_server.url, township.agents[0])) as c:
        url = f"/{db}" + path.replace("{doc}", case["_id"])
        content = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        response = c.request(method, url, content=content, headers=headers)
        if method == "HEAD":
            assert response.status_code == 400
        else:
            _refused(response)
        assert c.get(f"/{db}/").status_code == 200


async def test_latest_with_an_unknown_revision_and_an_empty_bulk_get_leave_the_engine_up(
        api_server: RunningServer, township: Township, couch: Couch) -> None:
    """pouchdb-server exits on `latest=true` naming a revision the document lacks, and never
    answers `_bulk_get` of nothing: the gateway answers CouchDB's way and the engine stays up."""
    case = await _stored_case(couch, township)
    db, doc = township.dbs[0], case["_id"]
    with client(api_server.url, token_for(api_server.url, township.agents[0])) as c:
        json_only = {"Accept": "application/json"}
        unknown = c.get(f"/{db}/{doc}", params={"open_revs": '["1-abc"]', "latest": "true"},
                        headers=json_only)
        assert unknown.status_code == 200 and unknown.json() == [{"missing": "1-abc"}]
        both = json.dumps([case["_rev"], "1-abc"])
        mixed = c.get(f"/{db}/{doc}", params={"open_revs": both, "latest": "true"}, headers=json_only)
        assert mixed.status_code == 200 and {"missing": "1-abc"} in mixed.json()
        assert c.get(f"/{db}/{doc}", params={"rev": "1-abc", "latest": "true"}).status_code == 404
        bulk = c.post(f"/{db}/_bulk_get?latest=true&revs=true", json={"docs": [{"id": doc, "rev": "1-abc"}]})
        assert bulk.status_code == 200
        assert {"error", "missing"} & set(bulk.json()["results"][0]["docs"][0])  # CouchDB | pouchdb-server
        assert c.post(f"/{db}/_bulk_get", json={"docs": []}).json() == {"results": []}
        known = c.get(f"/{db}/{doc}", params={"open_revs": json.dumps([case["_rev"]]), "latest": "true"},
                      headers=json_only)
        assert known.json()[0]["ok"]["_rev"] == case["_rev"]
        assert c.get(f"/{db}/").status_code == 200


async def test_latest_is_checked_first_only_on_the_engine_that_needs_it(
        api_server: RunningServer, township: Township, couch: Couch) -> None:
    """`_revs_diff` before a `latest=true` read guards pouchdb-server (which exits on an unknown
    revision); Apache CouchDB answers that revision as missing itself, so it is not asked (ADR 0154)."""
    case = await _stored_case(couch, township)
    db, doc = township.dbs[0], case["_id"]
    server_couch = api_server.ctx.couch
    asked: list[str] = []
    post_json = server_couch.post_json

    async def noted(path: str, body: Any, **kwargs: Any) -> Any:
        if path == f"/{db}/_revs_diff":
            asked.append(path)
        return await post_json(path, body, **kwargs)

    setattr(server_couch, "post_json", noted)  # noqa: B010 - an instance attribute over the method
    try:
        with client(api_server.url, token_for(api_server.url, township.agents[0])) as c:
            bulk = c.post(f"/{db}/_bulk_get?latest=true&revs=true",
                          json={"docs": [{"id": doc, "rev": case["_rev"]}, {"id": doc, "rev": "1-abc"}]})
    finally:
        delattr(server_couch, "post_json")
    assert bulk.status_code == 200
    docs = [entry for result in bulk.json()["results"] for entry in result["docs"]]
    assert [entry["ok"]["_rev"] for entry in docs if "ok" in entry] == [case["_rev"]]
    assert len(docs) == 2
    assert len(asked) == (0 if await couch.is_apache_couchdb() else 1)
    assert (await couch.request("GET", "/")).status_code == 200  # the engine is still up


async def test_documented_queries_still_answer(api_server: RunningServer, township: Township,
                                               couch: Couch) -> None:
    case = await _stored_case(couch, township)
    other = await _stored_case(couch, township)
    db, doc = township.dbs[0], case["_id"]
    with client(api_server.url, token_for(api_server.url, township.agents[0])) as c:
        ids = json.dumps([doc])
        got = c.get(f"/{db}/_changes", params={"filter": "_doc_ids", "doc_ids": ids, "include_docs": "true"})
        assert got.status_code == 200, got.text
        assert [r["id"] for r in got.json()["results"]] == [doc]
        posted = c.post(f"/{db}/_changes?filter=_doc_ids&style=all_docs", json={"doc_ids": [other["_id"]]})
        assert [r["id"] for r in posted.json()["results"]] == [other["_id"]]
        since = got.json()["last_seq"]
        assert c.get(f"/{db}/_changes", params={"since": str(since), "limit": "5"}).status_code == 200
        assert c.get(f"/{db}/_changes?feed=longpoll&timeout=0&heartbeat=10000&since=0").status_code == 200
        revs = c.get(f"/{db}/{doc}", params={"open_revs": json.dumps([case["_rev"]]), "revs": "true"},
                     headers={"Accept": "application/json"})
        assert revs.status_code == 200 and revs.json()[0]["ok"]["_id"] == doc
        assert c.get(f"/{db}/{doc}?open_revs=all&latest=true", headers={"Accept": "application/json"}
                     ).status_code == 200
        assert c.get(f"/{db}/{doc}", params={"rev": case["_rev"], "atts_since": json.dumps([case["_rev"]])}
                     ).json()["_id"] == doc
        bulk = c.post(f"/{db}/_bulk_get?revs=true&latest=true",
                      json={"docs": [{"id": doc, "rev": case["_rev"]}, {"id": other["_id"]}]})
        assert bulk.status_code == 200 and len(bulk.json()["results"]) == 2


async def test_a_longpoll_ends_at_its_timeout_on_every_engine(
        api_server: RunningServer, township: Township, couch: Couch) -> None:
    """pouchdb-server ignores `timeout`: the gateway keeps it, answering CouchDB's empty answer."""
    db = township.dbs[0]
    last = (await couch.changes(db, since="now"))["last_seq"]
    with client(api_server.url, token_for(api_server.url, township.agents[0])) as c:
        for extra in ("", "&heartbeat=500", "&filter=_doc_ids&doc_ids=[%22case:none%22]"):
            answer = c.get(f"/{db}/_changes?feed=longpoll&timeout=1000&since=now{extra}")
            assert answer.status_code == 200, answer.text
            assert answer.json()["results"] == []
            again = c.get(f"/{db}/_changes", params={"since": str(answer.json()["last_seq"])})
            assert again.status_code == 200 and again.json()["results"] == []
        posted = c.post(f"/{db}/_changes?feed=longpoll&timeout=1000&since=now&filter=_doc_ids",
                        json={"doc_ids": ["case:none"]})
        assert posted.status_code == 200 and posted.json()["results"] == []
    assert last is not None


async def test_longpolls_are_bounded_per_user_and_others_still_read(
        api_server: RunningServer, township: Township, couch: Couch) -> None:
    """F6: one user's longpolls past the bound get 429 at once; another user's reads answer."""
    db = township.dbs[0]
    held_token = token_for(api_server.url, township.agents[0])
    other_token = token_for(api_server.url, township.staff)
    since = (await couch.changes(db, since="now"))["last_seq"]
    url = f"{api_server.url}/sync/{db}/_changes"
    params = {"feed": "longpoll", "timeout": "600000", "heartbeat": "10000", "since": str(since)}
    headers = {"Authorization": f"Bearer {held_token}"}
    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=100)) as ac:
        feeds = [asyncio.create_task(ac.get(url, params=params, headers=headers))
                 for _ in range(MAX_PER_USER)]
        await wait_until(lambda: api_server.ctx.feeds.held >= MAX_PER_USER, what="the longpolls held")
        extra = await asyncio.gather(*(ac.get(url, params=params, headers=headers) for _ in range(20)))
        assert {r.status_code for r in extra} == {429}
        assert all(r.json()["error"] == "too_many_requests" and r.headers["Retry-After"] for r in extra)
        other = {"Authorization": f"Bearer {other_token}"}
        reads = await asyncio.gather(*(ac.get(f"{api_server.url}/sync/{db}/", headers=other)
                                       for _ in range(20)),
                                     ac.get(f"{api_server.url}/sync/{db}/_changes", headers=other))
        assert all(r.status_code == 200 for r in reads)
        assert all(not f.done() for f in feeds)  # still held meanwhile
        await couch.put_doc(db, make_case(township.villages[0]))  # a change answers every longpoll
        answered = await asyncio.gather(*feeds)
        assert all(r.status_code == 200 and r.json()["results"] for r in answered)
    await wait_until(lambda: api_server.ctx.feeds.held == 0, what="the slots given back once answered")


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is needed for the PouchDB client")
async def test_pouchdb_live_pull_gets_a_change_through_the_gateways_longpoll(
        api_server: RunningServer, township: Township, couch: Couch, tmp_path: Path) -> None:
    """A real client's longpolls (with heartbeat) still deliver changes as they happen."""
    db, village = township.dbs[0], township.villages[0]
    await couch.put_doc(db, make_case(village))
    later = make_case(village)
    config = {"remote": f"{api_server.url}/sync/{db}", "token": token_for(api_server.url, township.agents[0]),
              "dir": str(tmp_path), "wait_for": later["_id"]}
    env = {**os.environ, "NODE_PATH": str(project_engine_dir() / "node_modules")}
    with subprocess.Popen(["node", str(LIVE_SCRIPT), json.dumps(config)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env) as node:
        try:
            assert node.stdout is not None and node.stdout.readline().strip() == "ready"
            await couch.put_doc(db, later)  # written while PouchDB waits in a longpoll
            out, err = node.communicate(timeout=120)
        finally:
            node.kill()
    assert node.returncode == 0, err[-2000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert result["arrived"] == later["_id"] and result["longpolls"] >= 1
