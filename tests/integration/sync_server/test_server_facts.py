"""The server owns server facts (ADR 0105): each attack of issue 15, performed through the gateway.

Every test pushes what an attacker holding a legitimate login pushed, and checks that it is
refused (per document, `{"error": "forbidden"}`) or, where the write is a legitimate offline
edit, that the conflict worker does not let it forge the status.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from ulid import ULID

from shared.catalog import item_doc_id
from shared.ids import new_tracking_code
from sync_server import citizen
from sync_server.citizen.index import index_case, last4_hash, lookup
from sync_server.couch import Couch
from sync_server.county import callback as county_callback
from sync_server.county.file_link import file_link
from sync_server.county.signature import load_secret
from sync_server.provision import CATALOG_DB, SERVER_DB
from sync_server.workers.conflicts import resolve_case
from tests.integration.sync_server.gateway_helpers import JPEG, PNG, attachment, client, make_case, make_event
from tests.integration.sync_server.server_fixtures import (
    MY_ROUTES,
    RunningServer,
    Township,
    start_server,
    token_for,
)

FAR = "999999999999999999-00000-server"  # an HLC far ahead, claimed by "the server"
FORGED_META = {"fields": {"status": {"vv": {"server": 999, "x": 999}, "hlc": FAR},
                          "accepted_at": {"vv": {"server": 999}, "hlc": FAR}}}
# What a device may honestly claim: many edits of its own, far ahead in time (clamped by the merge).
OWN_META = {"fields": {"status": {"vv": {"phone-1": 999}, "hlc": FAR.replace("server", "phone-1")}}}


def now_iso(offset: float = 0) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))


def bulk(c: httpx.Client, db: str, docs: list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
    answer = c.post(f"/{db}/_bulk_docs", json={"docs": docs, **extra})
    assert answer.status_code == 201, answer.text
    result: list[dict[str, Any]] = answer.json()
    return result


def write(c: httpx.Client, db: str, doc: dict[str, Any]) -> dict[str, Any]:
    """A new revision of `doc` (new_edits: true); returns the document with its new `_rev`."""
    answer = bulk(c, db, [doc])[0]
    assert answer.get("ok"), answer
    return {**doc, "_rev": answer["rev"]}


def branch(doc: dict[str, Any], parent: str, tag: str, **changes: Any) -> dict[str, Any]:
    """A replicated revision on `parent` (an older revision the server holds), as a device pushes it."""
    pos, parent_hash = parent.split("-", 1)
    rev_hash = (tag * 32)[:32]
    return {**doc, **changes, "_rev": f"{int(pos) + 1}-{rev_hash}",
            "_revisions": {"start": int(pos) + 1, "ids": [rev_hash, parent_hash]}}


def forbidden(answers: list[dict[str, Any]]) -> bool:
    return bool(answers) and all(a.get("error") == "forbidden" and a.get("reason") for a in answers)


class Actors:
    def __init__(self, server: RunningServer, township: Township) -> None:
        self.db, self.village = township.dbs[0], township.villages[0]
        self.agent = client(server.url, token_for(server.url, township.agents[0]))
        self.staff = client(server.url, token_for(server.url, township.staff))
        self.agent_name, self.staff_name = township.agents[0], township.staff
        self.approver = client(server.url, token_for(server.url, township.approver))  # 受审分离

    def accepted_case(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(the submitted revision, the accepted one)."""
        submitted = write(self.agent, self.db, make_case(self.village, "submitted"))
        accepted = write(self.staff, self.db, {**submitted, "status": "accepted", "accepted_at": now_iso(),
                                               "deadline": "2026-12-31"})
        return submitted, accepted


# -- F2: status rules bypassed through a conflict branch -----------------------------------------


async def test_staff_cannot_approve_a_forwarded_case_through_an_old_branch(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    a = Actors(api_server, township)
    submitted, accepted = a.accepted_case()
    forwarded = write(a.staff, a.db, {**accepted, "status": "forwarded"})
    attack = branch(submitted, submitted["_rev"], "f", status="approved", meta=FORGED_META)
    assert forbidden(bulk(a.staff, a.db, [attack], new_edits=False))
    from_accepted = branch(accepted, accepted["_rev"], "e", status="approved", meta=FORGED_META)
    assert forbidden(bulk(a.staff, a.db, [from_accepted], new_edits=False))
    stored = await couch.get_doc(a.db, submitted["_id"], conflicts=True)
    assert stored is not None and stored["status"] == "forwarded" and "_conflicts" not in stored
    assert stored["_rev"] == forwarded["_rev"]


async def test_staff_cannot_approve_a_county_item_nor_forward_a_township_one(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    """The level rule of the app's buttons (三级联动), enforced on a patched app's push too."""
    a = Actors(api_server, township)
    county_item, township_item = f"T{ULID()}", f"T{ULID()}"
    for code, level in ((county_item, "county"), (township_item, "township")):
        await couch.put_doc(CATALOG_DB, {"_id": item_doc_id(code), "type": "item", "code": code,
                                         "level": level})
    for item, refused, allowed in ((county_item, "approved", "forwarded"),
                                   (township_item, "forwarded", "approved")):
        submitted = write(a.agent, a.db, make_case(a.village, "submitted", item_code=item))
        accepted = write(a.staff, a.db, {**submitted, "status": "accepted", "accepted_at": now_iso(),
                                         "deadline": "2026-12-31"})
        write(a.staff, a.db, make_event(submitted["_id"], "accepted", by=a.staff_name, role="township_staff"))
        # Judged for a staff member other than the acceptor, so that only the level rule can refuse.
        assert forbidden(bulk(a.approver, a.db, [{**accepted, "status": refused}]))
        # Two offline steps at once: accepted and approved (or forwarded) in one pushed revision.
        assert forbidden(bulk(a.approver, a.db, [branch(submitted, submitted["_rev"], "g", status=refused,
                                                         accepted_at=now_iso(), deadline="2026-12-31")],
                              new_edits=False))
        stored = await couch.get_doc(a.db, submitted["_id"])
        assert stored is not None and stored["status"] == "accepted"
        # The change the app does offer for the item's level goes through.
        assert write(a.approver, a.db, {**accepted, "status": allowed})["status"] == allowed


async def test_an_agent_cannot_revert_a_rejection_or_a_delivery(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    a = Actors(api_server, township)
    submitted = write(a.agent, a.db, make_case(a.village, "submitted"))
    write(a.staff, a.db, {**submitted, "status": "rejected"})
    # A changed status from the old branch is judged against the current case: refused.
    withdrawn = branch(submitted, submitted["_rev"], "a", status="withdrawn", meta=FORGED_META)
    assert forbidden(bulk(a.agent, a.db, [withdrawn], new_edits=False))
    # The old status, unchanged, claiming server edits the server never made: refused.
    phone_edit = {"vv": {"phone-1": 1}, "hlc": f"{int(time.time() * 1000):018d}-00000-phone-1"}
    forged = branch(submitted, submitted["_rev"], "b",
                    meta={"fields": {**FORGED_META["fields"], "applicant.phone": phone_edit}},
                    applicant={**submitted["applicant"], "phone": "13911112222"})
    assert forbidden(bulk(a.agent, a.db, [forged], new_edits=False))
    # With a vector claiming only its own edits it is an offline edit: stored, and merged by the
    # status machine from what the server stored, not by the vector.
    stale = {**forged, "meta": {"fields": {**OWN_META["fields"], "applicant.phone": phone_edit}}}
    assert bulk(a.agent, a.db, [stale], new_edits=False) == []
    await resolve_case(couch, a.db, submitted["_id"], now=time.time())
    merged = await couch.get_doc(a.db, submitted["_id"], conflicts=True)
    assert merged is not None and merged["status"] == "rejected" and "_conflicts" not in merged
    assert merged["applicant"]["phone"] == "13911112222"  # the field edit itself still merges

    # delivered → result_ready
    case = write(a.agent, a.db, make_case(a.village, "submitted"))
    case = write(a.staff, a.db, {**case, "status": "accepted", "accepted_at": now_iso(),
                                 "deadline": "2026-12-31"})
    write(a.staff, a.db, make_event(case["_id"], "accepted", by=a.staff_name, role="township_staff"))
    case = write(a.approver, a.db, {**case, "status": "approved"})
    ready = write(a.staff, a.db, {**case, "status": "result_ready"})
    write(a.agent, a.db, {**ready, "status": "delivered"})
    back = branch(ready, ready["_rev"], "c", meta=FORGED_META, notes="x")
    assert forbidden(bulk(a.agent, a.db, [back], new_edits=False))
    assert bulk(a.agent, a.db, [{**back, "meta": OWN_META}], new_edits=False) == []
    await resolve_case(couch, a.db, ready["_id"], now=time.time())
    merged = await couch.get_doc(a.db, ready["_id"], conflicts=True)
    assert merged is not None and merged["status"] == "delivered" and "_conflicts" not in merged


# -- F3: deletion by any truthy value ------------------------------------------------------------


async def test_deleted_must_be_exactly_true_or_false(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    a = Actors(api_server, township)
    case = write(a.agent, a.db, make_case(a.village, "submitted"))
    # The whole case with a truthy `_deleted`: every other rule holds, so only the deletion rule can stop it.
    for value in (1, "true", [0], True):
        assert forbidden(bulk(a.agent, a.db, [{**case, "_deleted": value}])), value
    for value in (1, "true", [0]):  # even township staff, who may delete: only `true` is a deletion
        assert forbidden(bulk(a.staff, a.db, [{**case, "_deleted": value}])), value
        replicated = branch(case, case["_rev"], "3", _deleted=value)
        assert forbidden(bulk(a.agent, a.db, [replicated], new_edits=False)), value
    put = a.agent.put(f"/{a.db}/{case['_id']}", json={**case, "_deleted": 1})
    assert put.status_code == 403 and put.json()["error"] == "forbidden"
    stored = await couch.get_doc(a.db, case["_id"])
    assert stored is not None and stored["_rev"] == case["_rev"]


# -- F4: tracking-code takeover ------------------------------------------------------------------


async def test_a_tracking_code_belongs_to_the_first_case_that_registered_it(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    a = Actors(api_server, township)
    code = new_tracking_code(os.urandom(7))
    victim = write(a.agent, a.db, make_case(a.village, "submitted", tracking_code=code))
    assert await index_case(couch, a.db, victim)
    other_db, other_village = township.dbs[1], township.villages[1]
    attacker = client(api_server.url, token_for(api_server.url, township.agents[1]))
    applicant = {"name": "李四", "id_number": "33021219900101999X", "phone": "13800000001"}
    stolen = make_case(other_village, "submitted", tracking_code=code, applicant=applicant)
    assert forbidden(bulk(attacker, other_db, [stolen]))
    assert forbidden(bulk(attacker, other_db, [branch(stolen, "1-" + "0" * 32, "d")], new_edits=False))
    # A case of the attacker's own may not take the code later either, nor change its own.
    own = write(attacker, other_db, make_case(other_village, "submitted", applicant=applicant))
    assert forbidden(bulk(attacker, other_db, [{**own, "tracking_code": code}]))
    coded = write(attacker, other_db, {**own, "tracking_code": new_tracking_code(os.urandom(7))})
    assert forbidden(bulk(attacker, other_db, [{**coded, "tracking_code": code}]))
    # Written before this rule (or around it): the index still keeps the first owner.
    assert not await index_case(couch, other_db, {**own, "tracking_code": code})
    entry = await couch.get_doc(SERVER_DB, f"track:{code}")
    assert entry is not None and (entry["db"], entry["case_id"]) == (a.db, victim["_id"])
    assert await lookup(couch, code, "1234") is not None
    assert await lookup(couch, code, "999X") is None
    assert entry["id_last4_hash"] == last4_hash(code, "1234")


# -- F5: content types and lone surrogates -------------------------------------------------------


async def test_content_types_come_from_the_allow_list(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    a = Actors(api_server, township)
    bad_types = ["image/jpeg\r\n\r\n<html>", "image/jpeg; name=图片", "text/html", "image/svg+xml", ""]
    docs = [make_case(a.village, _attachments={"scan.jpg": attachment(JPEG, t)}) for t in bad_types]
    assert forbidden(bulk(a.agent, a.db, docs))
    odd = make_case(a.village, _attachments={"scan.jpg": attachment(JPEG, "IMAGE/JPG; q=0.5")})
    written = write(a.agent, a.db, odd)
    stored = await couch.get_doc(a.db, written["_id"])
    assert stored is not None and stored["_attachments"]["scan.jpg"]["content_type"] == "image/jpeg"
    served = a.agent.get(f"/{a.db}/{written['_id']}/scan.jpg")
    assert served.status_code == 200 and served.content == JPEG  # the engine serves what was parsed


async def test_a_lone_surrogate_is_refused_in_any_document(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    a = Actors(api_server, township)
    case = make_case(a.village, applicant={"name": "\ud800", "id_number": "330212199001011234"})
    keyed = make_case(a.village, answers={"\udfff": "x"})
    event = make_event(make_case(a.village)["_id"], by=a.agent_name, data={"note": "a\udbffb"})
    body = json.dumps({"docs": [case, keyed, event]}).encode()  # \ud800 escapes, as a device sent them
    answer = a.agent.post(f"/{a.db}/_bulk_docs", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 201 and forbidden(answer.json())
    put = a.agent.put(f"/{a.db}/{case['_id']}", content=json.dumps(case).encode(),
                      headers={"Content-Type": "application/json"})
    assert put.status_code == 403
    for doc in (case, keyed, event):
        assert await couch.get_doc(a.db, doc["_id"]) is None


# -- F7: stubs and multipart types -----------------------------------------------------------------


def related(doc: dict[str, Any], parts: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "b0und4ry"
    out = [f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode() + json.dumps(doc).encode()]
    for content_type, data in parts:
        out.append(f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode() + data)
    out.append(f"\r\n--{boundary}--".encode())
    return b"".join(out), f'multipart/related; boundary="{boundary}"'


async def test_stubs_must_match_what_is_stored(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    a = Actors(api_server, township)
    case = write(a.agent, a.db, make_case(a.village, _attachments={"scan.jpg": attachment(JPEG)}))
    held = await couch.get_doc(a.db, case["_id"])
    assert held is not None
    stub = dict(held["_attachments"]["scan.jpg"])
    relabelled = {**held, "_attachments": {"scan.jpg": {**stub, "content_type": "text/html"}}}
    assert forbidden(bulk(a.agent, a.db, [relabelled]))
    replicated = branch(held, held["_rev"], "9",
                        _attachments={"scan.jpg": {**stub, "content_type": "text/html"}})
    assert forbidden(bulk(a.agent, a.db, [replicated], new_edits=False))
    wrong_digest = {**held, "_attachments": {"scan.jpg": {**stub, "digest": "md5-AAAAAAAAAAAAAAAAAAAAAA=="}}}
    assert forbidden(bulk(a.agent, a.db, [wrong_digest]))
    renamed = {**held, "_attachments": {"page.html": stub}}
    assert forbidden(bulk(a.agent, a.db, [renamed]))
    # A new document pointing at another document's digest.
    borrowed = make_case(a.village, _attachments={"x.html": {**stub, "content_type": "text/html"}})
    borrowed_ok_type = make_case(a.village, _attachments={"scan.jpg": stub})
    assert forbidden(bulk(a.agent, a.db, [borrowed, borrowed_ok_type]))
    assert forbidden(bulk(a.agent, a.db, [{**borrowed_ok_type, "_rev": "1-" + "7" * 32}], new_edits=False))
    # The true stub still goes through (an ordinary edit of the case).
    assert write(a.agent, a.db, {**held, "notes": "ok", "_attachments": {"scan.jpg": stub}})
    stored = await couch.get_doc(a.db, case["_id"])
    assert stored is not None and stored["_attachments"]["scan.jpg"]["content_type"] == "image/jpeg"
    assert await couch.get_doc(a.db, borrowed["_id"]) is None


async def test_multipart_types_are_parsed_not_copied(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    a = Actors(api_server, township)
    for declared in ("image/jpeg\r\n\r\n<html><script>alert(1)</script>", "text/html", "image/jpeg; x=图"):
        doc = make_case(a.village, _rev="1-" + "5" * 32,
                        _attachments={"scan.jpg": {"content_type": declared, "follows": True,
                                                   "length": len(JPEG)}})
        body, content_type = related(doc, [("image/jpeg", JPEG)])
        answer = a.agent.put(f"/{a.db}/{doc['_id']}?new_edits=false", content=body,
                             headers={"Content-Type": content_type})
        assert answer.status_code == 403 and answer.json()["error"] == "forbidden", declared
        assert await couch.get_doc(a.db, doc["_id"]) is None
    doc = make_case(a.village, _rev="1-" + "6" * 32,
                    _attachments={"sig.png": {"content_type": "image/PNG; charset=x", "follows": True,
                                              "length": len(PNG)}})
    body, content_type = related(doc, [("text/html", PNG)])
    answer = a.agent.put(f"/{a.db}/{doc['_id']}?new_edits=false", content=body,
                         headers={"Content-Type": content_type})
    assert answer.status_code == 201, answer.text
    stored = await couch.get_doc(a.db, doc["_id"])
    assert stored is not None and stored["_attachments"]["sig.png"]["content_type"] == "image/png"
    raw = await couch.request("GET", f"/{a.db}/{doc['_id']}/sig.png")
    assert raw.content == PNG


@pytest.fixture(scope="module")
def full_server(couchdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The gateway with the county's file links and the citizen page mounted too."""
    server = start_server(tmp_path_factory.mktemp("facts-server"), couchdb_url,
                          parts=(*MY_ROUTES, county_callback.routes, citizen.routes))
    try:
        yield server
    finally:
        server.stop()


async def test_served_attachments_carry_file_headers(
    full_server: RunningServer, township: Township, couch: Couch
) -> None:
    api_server = full_server
    a = Actors(api_server, township)
    case = write(a.agent, a.db, make_case(a.village, _attachments={"scan.jpg": attachment(JPEG)}))
    served = a.agent.get(f"/{a.db}/{case['_id']}/scan.jpg")
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in served.headers["content-security-policy"]
    # Stored as HTML before the allow-list (written by an admin here): served as bytes, not a page.
    legacy = make_case(a.village, _attachments={"page.html": {
        "content_type": "text/html", "data": base64.b64encode(b"<script>alert(1)</script>").decode()}})
    await couch.put_doc(a.db, legacy)
    served = a.agent.get(f"/{a.db}/{legacy['_id']}/page.html")
    assert served.status_code == 200 and served.headers["content-type"] == "application/octet-stream"
    assert served.headers["x-content-type-options"] == "nosniff"
    # The county's signed file link serves it the same way.
    secret = load_secret(api_server.ctx.settings.secrets_dir)
    link = file_link(api_server.url, secret, a.db, legacy["_id"], "page.html", int(time.time()))
    county = httpx.get(link, timeout=30)
    assert county.status_code == 200, county.text
    assert county.headers["content-type"] == "application/octet-stream"
    assert county.headers["x-content-type-options"] == "nosniff"
    assert county.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in county.headers["content-security-policy"]
    scan = httpx.get(file_link(api_server.url, secret, a.db, case["_id"], "scan.jpg", int(time.time())),
                     timeout=30)
    assert scan.status_code == 200 and scan.headers["content-type"] == "image/jpeg" and scan.content == JPEG
    page = httpx.get(f"{api_server.url}/t/", timeout=30)  # the one HTML page the server serves
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


# -- F8: forged server facts ---------------------------------------------------------------------


async def test_devices_cannot_write_server_events(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    a = Actors(api_server, township)
    case = write(a.agent, a.db, make_case(a.village, "submitted"))
    cid = case["_id"]
    attacks = [
        make_event(cid, "rated", by=a.agent_name, role="citizen", device="web", data={"score": 1}),
        make_event(cid, "rated", by=a.agent_name, role="village_agent", data={"score": 1}),
        make_event(cid, "county_ack", by=a.agent_name),
        make_event(cid, "conflict_resolved", by=a.agent_name),
        make_event(cid, "accepted", by=a.staff_name, role="township_staff"),  # someone else's act
        make_event(cid, "submitted", by=a.agent_name, role="township_staff"),  # a role not theirs
        make_event(cid, "submitted", by=a.agent_name, role="system"),
        make_event(cid, "submitted", by=a.agent_name, server_time="2026-01-01T00:00:00Z"),
    ]
    assert forbidden(bulk(a.agent, a.db, attacks))
    replicated = [{**e, "_rev": "1-" + "8" * 32} for e in attacks]
    assert forbidden(bulk(a.agent, a.db, replicated, new_edits=False))
    for e in attacks:
        assert await couch.get_doc(a.db, e["_id"]) is None
    assert bulk(a.agent, a.db, [make_event(cid, "submitted", by=a.agent_name)])[0].get("ok")


async def test_acceptance_time_and_deadline_are_server_facts(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    a = Actors(api_server, township)
    submitted, accepted = a.accepted_case()
    moved = {**accepted, "accepted_at": now_iso(86400 * 20)}
    assert forbidden(bulk(a.staff, a.db, [moved]))
    earlier = {**accepted, "accepted_at": now_iso(-3600)}  # any other time, even an earlier one
    assert forbidden(bulk(a.staff, a.db, [earlier]))
    assert forbidden(bulk(a.staff, a.db, [{**accepted, "deadline": "2099-01-01"}]))
    assert forbidden(bulk(a.staff, a.db, [{**accepted, "paused_days": 40}]))
    assert forbidden(bulk(a.staff, a.db, [{**accepted, "county_ref": "X-1"}]))
    # Through an old branch: the stored values win the check there too.
    old = branch(submitted, submitted["_rev"], "4", status="accepted", accepted_at=now_iso(86400 * 20),
                 meta=FORGED_META)
    assert forbidden(bulk(a.staff, a.db, [old], new_edits=False))
    # A new case may not arrive accepted, nor carry an acceptance time or a deadline.
    fresh = make_case(a.village, "submitted", accepted_at=now_iso(), deadline="2099-01-01")
    assert forbidden(bulk(a.agent, a.db, [fresh]))
    # Accepting in the future is refused; the honest acceptance (done above) went through.
    other = write(a.agent, a.db, make_case(a.village, "submitted"))
    future = {**other, "status": "accepted", "accepted_at": now_iso(86400 * 3)}
    assert forbidden(bulk(a.staff, a.db, [future]))
    stored = await couch.get_doc(a.db, accepted["_id"])
    assert stored is not None and stored["accepted_at"] == accepted["accepted_at"]
    # An unchanged server fact in an ordinary edit still passes.
    assert write(a.staff, a.db, {**accepted, "notes": "called the applicant"})
