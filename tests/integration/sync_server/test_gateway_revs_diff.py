"""`_revs_diff` through the gateway: CouchDB's answer, and the write after it needs no read (ADR 0048)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from sync_server.couch import Couch
from tests.integration.sync_server.gateway_helpers import client, make_case, make_event
from tests.integration.sync_server.server_fixtures import RunningServer, Township, token_for


def _replicated(doc: dict[str, Any], rev_hash: str = "a1") -> dict[str, Any]:
    return {**doc, "_rev": f"1-{rev_hash}", "_revisions": {"start": 1, "ids": [rev_hash]}}


@contextmanager
def _engine_requests(server: RunningServer, db: str, path_end: str) -> Iterator[list[str]]:
    """Paths of the gateway's own requests to the engine for `db` ending in `path_end`, in the block:
    through its httpx client, and its look-ups through the aiohttp pool (`Couch.post_json`)."""
    seen: list[str] = []
    couch = server.ctx.couch

    def note(path: str) -> None:
        if path.startswith(f"/{db}/") and path.endswith(path_end):
            seen.append(path)

    async def hook(request: httpx.Request) -> None:
        note(request.url.path)

    post_json = couch.post_json

    async def noted_post_json(path: str, body: Any, **kwargs: Any) -> Any:
        note(path)
        return await post_json(path, body, **kwargs)

    hooks = couch.client.event_hooks["request"]
    hooks.append(hook)
    setattr(couch, "post_json", noted_post_json)  # noqa: B010 - an instance attribute over the method
    try:
        yield seen
    finally:
        hooks.remove(hook)
        delattr(couch, "post_json")


def _normalized(answer: dict[str, Any]) -> dict[str, Any]:
    """As sets, leaving out ids with nothing missing (engines differ on both, replicators don't care)."""
    return {doc_id: {k: sorted(set(v)) for k, v in entry.items()} for doc_id, entry in answer.items()
            if entry.get("missing")}


async def test_revs_diff_answers_as_couchdb_does(api_server: RunningServer, township: Township,
                                                 couch: Couch) -> None:
    db = township.dbs[0]
    held = _replicated(make_case(township.villages[0], "submitted"))
    gone = _replicated(make_case(township.villages[0], "submitted"))
    await couch.bulk_docs(db, [held, gone], new_edits=False)
    await couch.bulk_docs(db, [{"_id": gone["_id"], "_rev": "2-b2", "_deleted": True,
                                "_revisions": {"start": 2, "ids": ["b2", "a1"]}}], new_edits=False)
    absent = make_case(township.villages[0])["_id"]
    asked = {held["_id"]: ["1-a1", "2-zz"], gone["_id"]: ["1-a1", "3-yy"], absent: ["1-x", "2-y", "1-x"],
             make_case(township.villages[0])["_id"]: []}
    with client(api_server.url, token_for(api_server.url, township.agents[0])) as c:
        through = c.post(f"/{db}/_revs_diff", json=asked)
    direct = await couch.request("POST", f"/{db}/_revs_diff", json_body=asked)
    assert through.status_code == 200, through.text
    assert _normalized(through.json()) == _normalized(direct.json())
    assert sorted(through.json()[absent]["missing"]) == ["1-x", "2-y"]


async def test_a_push_of_new_documents_reads_them_once(api_server: RunningServer, township: Township,
                                                       couch: Couch) -> None:
    db = township.dbs[0]
    case = _replicated(make_case(township.villages[0], "submitted"))
    event = _replicated(make_event(case["_id"], by=township.agents[0]))
    with client(api_server.url, token_for(api_server.url, township.agents[0])) as c:
        with _engine_requests(api_server, db, "/_all_docs") as reads:
            diff = c.post(f"/{db}/_revs_diff", json={d["_id"]: [d["_rev"]] for d in (case, event)})
            assert diff.status_code == 200 and set(diff.json()) == {case["_id"], event["_id"]}
            assert len(reads) == 1  # the look-up that answered _revs_diff
            pushed = c.post(f"/{db}/_bulk_docs", json={"docs": [case, event], "new_edits": False})
            assert pushed.status_code == 201 and pushed.json() == []
            assert len(reads) == 1  # the write trusted what the look-up found absent
        # Written now: a second "revision 1" of the immutable event is read, and refused.
        forged = _replicated({**event, "data": {"edited": True}}, "b2")
        again = c.post(f"/{db}/_bulk_docs", json={"docs": [forged], "new_edits": False})
        assert again.status_code == 201 and again.json()[0]["error"] == "forbidden"
        # Asked about again, the event is held: CouchDB answers for it, and the forgery is still refused.
        diff = c.post(f"/{db}/_revs_diff", json={event["_id"]: [forged["_rev"]]})
        assert diff.json() == {event["_id"]: {"missing": [forged["_rev"]]}}
        retry = c.post(f"/{db}/_bulk_docs", json={"docs": [forged], "new_edits": False})
        assert retry.json()[0]["error"] == "forbidden"
    stored = await couch.get_doc(db, event["_id"], conflicts="true")
    assert stored is not None and stored["_rev"] == event["_rev"] and "_conflicts" not in stored


async def test_a_put_after_revs_diff_is_judged_without_a_read(api_server: RunningServer, township: Township,
                                                              couch: Couch) -> None:
    db = township.dbs[0]
    case = _replicated(make_case(township.villages[0], "submitted"))
    with client(api_server.url, token_for(api_server.url, township.agents[0])) as c:
        with _engine_requests(api_server, db, "/_all_docs") as reads:
            c.post(f"/{db}/_revs_diff", json={case["_id"]: [case["_rev"]]})
            put = c.put(f"/{db}/{case['_id']}", params={"new_edits": "false"}, json=case)
            assert put.status_code == 201, put.text
            assert len(reads) == 1
        # A status the agent may not set is refused however the id came to be known absent.
        accepted = _replicated(make_case(township.villages[0], "accepted"))
        c.post(f"/{db}/_revs_diff", json={accepted["_id"]: [accepted["_rev"]]})
        refused = c.put(f"/{db}/{accepted['_id']}", params={"new_edits": "false"}, json=accepted)
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    assert await couch.get_doc(db, accepted["_id"]) is None


async def test_malformed_revs_diff_gets_couchdbs_error(api_server: RunningServer, township: Township) -> None:
    db = township.dbs[0]
    with client(api_server.url, token_for(api_server.url, township.agents[0])) as c:
        for body in ([1, 2], {"case:x": "1-a"}, {"case:x": [1]}):
            answer = c.post(f"/{db}/_revs_diff", json=body)
            assert 400 <= answer.status_code < 500, (body, answer.text)
            assert set(answer.json()) >= {"error", "reason"}
        foreign = c.post(f"/{township.dbs[1]}/_revs_diff", json={"case:x": ["1-a"]})
        assert foreign.status_code == 403
