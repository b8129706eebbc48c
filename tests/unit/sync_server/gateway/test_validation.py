"""The write rules, one table row per refusal, without a server."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from shared.documents import reachable
from sync_server.auth.accounts import AccountRole
from sync_server.gateway.validation import Stored, check_document

V = "330212001001"
CASE = "case:01JF0000000000000000000000"
EVENT = "event:01JF0000000000000000000000:01JF0000000000000000000001"
MATERIAL = "material:01JF0000000000000000000002"
REVIEW = "review:01JF0000000000000000000000"
AGENT, STAFF = AccountRole.VILLAGE_AGENT, AccountRole.TOWNSHIP_STAFF
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + bytes(50)).decode()


def case(**overrides: Any) -> dict[str, Any]:
    doc = {"_id": CASE, "type": "case", "item_code": "X", "status": "draft",
           "division": {"village": V, "township": V[:9], "county": V[:6]}}
    return {**doc, **overrides}


def event(**overrides: Any) -> dict[str, Any]:
    return {"_id": EVENT, "type": "event", "case_id": CASE, "kind": "created", "by": "a", **overrides}


def material(**overrides: Any) -> dict[str, Any]:
    return {"_id": MATERIAL, "type": "material", "kind": "hukou",
            "owner_hash": hashlib.sha256(b"x").hexdigest(), **overrides}


def stored_case(status: str) -> Stored:
    return Stored(rev="1-a", doc=case(status=status, _rev="1-a"))


ACCEPTED = [
    ("new draft", case(), AGENT, Stored(), True),
    ("new submitted", case(status="submitted"), AGENT, Stored(), True),
    ("agent submits", case(status="submitted", _rev="1-a"), AGENT, stored_case("draft"), True),
    ("staff accepts", case(status="accepted", _rev="1-a"), STAFF, stored_case("submitted"), True),
    ("same status edit", case(status="accepted", _rev="1-a"), AGENT, stored_case("accepted"), True),
    # Several changes the role may make, done offline between two syncs, arrive as one revision.
    ("staff steps offline", case(status="delivered", _rev="1-a"), STAFF, stored_case("submitted"), True),
    ("new event", event(), AGENT, Stored(), True),
    ("replayed event", event(_rev="1-e"), AGENT, Stored(rev="1-e", doc=event(_rev="1-e")), "replay"),
    ("material with scan", material(_attachments={"f.jpg": {"content_type": "image/jpeg", "data": JPEG}}),
     AGENT, Stored(), True),
    # A stub names an attachment the server stores (ADR 0105); a stub in a new document is refused below.
    ("stub attachment", case(_rev="1-a", _attachments={"s.png": {"stub": True, "digest": "md5-x"}}), AGENT,
     Stored(rev="1-a", doc=case(_rev="1-a", _attachments={"s.png": {"stub": True, "digest": "md5-x",
                                                                    "content_type": "image/png"}})), True),
    ("staff review", {"_id": REVIEW, "type": "review", "case_id": CASE, "status": "open", "fields": {}},
     STAFF, Stored(), True),
    ("staff deletes a losing case leaf", {"_id": CASE, "_rev": "2-x", "_deleted": True}, STAFF,
     stored_case("accepted"), True),
]

REFUSED = [
    ("another village", case(division={"village": "330212001002", "township": V[:9], "county": V[:6]}), AGENT,
     Stored(), "division"),
    ("township mismatch", case(division={"village": V, "township": "330212002", "county": V[:6]}), AGENT,
     Stored(), "division"),
    ("new accepted", case(status="accepted"), AGENT, Stored(), "new case"),
    ("agent accepts", case(status="accepted", _rev="1-a"), AGENT, stored_case("submitted"), "may not"),
    ("staff reopens a draft", case(status="draft", _rev="1-a"), STAFF, stored_case("submitted"), "may not"),
    ("county decision by staff", case(status="approved", _rev="1-a"), STAFF, stored_case("forwarded"),
     "may not"),
    ("terminal case revived", case(status="submitted", _rev="1-a"), AGENT, stored_case("withdrawn"),
     "may not"),
    ("unknown status", case(status="lost"), AGENT, Stored(), "status"),
    ("no item", case(item_code=""), AGENT, Stored(), "item_code"),
    ("wrong type", case(type="event"), AGENT, Stored(), "type"),
    ("design doc", {"_id": "_design/x"}, STAFF, Stored(), "_design"),
    ("local doc", {"_id": "_local/x"}, STAFF, Stored(), "_local"),
    ("foreign id", {"_id": "user:root", "type": "user"}, STAFF, Stored(), "id"),
    ("bad ulid", case(_id="case:hello"), AGENT, Stored(), "id"),
    ("reserved field", case(_meta={}), AGENT, Stored(), "_meta"),
    ("agent review", {"_id": REVIEW, "type": "review", "case_id": CASE, "status": "open"}, AGENT, Stored(),
     "review"),
    ("edited event", event(_rev="1-e", kind="approved"), AGENT, Stored(rev="1-e", doc=event()), "immutable"),
    ("event second revision", event(_rev="2-f"), AGENT, Stored(), "single revision"),
    ("event of another case", event(case_id="case:01JF0000000000000000000009"), AGENT, Stored(), "case_id"),
    ("edited material", material(_rev="1-m"), AGENT, Stored(rev="1-m", doc=material()), "immutable"),
    ("material hash", material(owner_hash="330212199001011234"), AGENT, Stored(), "owner_hash"),
    ("event deleted", {"_id": EVENT, "_rev": "1-e", "_deleted": True}, STAFF, Stored(rev="1-e"), "deleted"),
    ("agent deletes case", {"_id": CASE, "_rev": "1-a", "_deleted": True}, AGENT, stored_case("draft"),
     "deleted"),
    ("exe as jpeg", case(_attachments={"a.jpg": {"content_type": "image/jpeg",
                                                "data": base64.b64encode(b"MZ\x90\x00" * 8).decode()}}),
     AGENT, Stored(), "content"),
    ("not base64", case(_attachments={"a.jpg": {"content_type": "image/jpeg", "data": "!!!"}}), AGENT,
     Stored(), "base64"),
    ("too large", case(_attachments={"a.jpg": {"content_type": "image/jpeg", "data": "A" * 7_000_000}}),
     AGENT, Stored(), "5 MB"),
    ("follows in json", case(_attachments={"a.jpg": {"content_type": "image/jpeg", "follows": True}}), AGENT,
     Stored(), "neither"),
    ("event attachment", event(_attachments={"a.jpg": {"content_type": "image/jpeg", "data": JPEG}}), AGENT,
     Stored(), "attachments"),
    ("not an object", "case", AGENT, Stored(), "object"),
    # Server facts (ADR 0105).
    ("deleted as 1", {"_id": CASE, "_rev": "1-a", "_deleted": 1}, AGENT, stored_case("draft"), "_deleted"),
    ("deleted as text", {"_id": CASE, "_rev": "1-a", "_deleted": "true"}, STAFF, stored_case("draft"),
     "_deleted"),
    ("lone surrogate", case(applicant={"name": "\ud800"}), AGENT, Stored(), "surrogate"),
    ("lone surrogate key", case(answers={"\udfff": 1}), AGENT, Stored(), "surrogate"),
    ("stub in a new case", case(_attachments={"s.png": {"stub": True, "digest": "md5-x"}}), AGENT, Stored(),
     "stub"),
    ("stub relabelled", case(_rev="1-a", _attachments={"s.png": {"stub": True, "content_type": "text/html"}}),
     AGENT, Stored(rev="1-a", doc=case(_attachments={"s.png": {"stub": True, "content_type": "image/png"}})),
     "stub"),
    ("html type", case(_attachments={"a.jpg": {"content_type": "text/html", "data": JPEG}}), AGENT, Stored(),
     "content type"),
    ("type with CRLF", case(_attachments={"a.jpg": {"content_type": "image/jpeg\r\n\r\n<html>",
                                                     "data": JPEG}}), AGENT, Stored(), "content type"),
    ("type not Latin-1", case(_attachments={"a.jpg": {"content_type": "image/jpeg; x=图", "data": JPEG}}),
     AGENT, Stored(), "content type"),
    ("rated by a device", event(kind="rated"), AGENT, Stored(), "server"),
    ("unknown event kind", event(kind="approved_by_magic"), AGENT, Stored(), "unknown event kind"),
    ("event kind not a string", event(kind=["created"]), AGENT, Stored(), "kind"),
    ("server_time by a device", event(server_time="2026-11-24T06:30:00Z"), AGENT, Stored(), "server_time"),
    ("new case accepted_at", case(status="submitted", accepted_at="2026-11-24T06:30:00Z"), AGENT, Stored(),
     "accepted_at"),
    ("accepted_at moved", case(status="accepted", _rev="2-a", accepted_at="2026-11-30T06:30:00Z"), STAFF,
     Stored(rev="2-a", doc=case(status="accepted", accepted_at="2026-11-24T06:30:00Z")), "accepted_at"),
    ("deadline moved", case(status="accepted", _rev="2-a", deadline="2027-01-30"), STAFF,
     Stored(rev="2-a", doc=case(status="accepted", deadline="2026-11-27")), "deadline"),
    ("review flag cleared", case(status="accepted", _rev="2-a", needs_review=False), STAFF,
     Stored(rev="2-a", doc=case(status="accepted", needs_review=True)), "needs_review"),
    ("tracking code changed", case(_rev="1-a", tracking_code="K7QM-9XRT-2HNC"), AGENT,
     Stored(rev="1-a", doc=case(tracking_code="AAAA-BBBB-CCCC")), "tracking_code"),
    ("tracking code of another case", case(tracking_code="K7QM-9XRT-2HNC"), AGENT,
     Stored(tracking_owner=("ot-v-330212001002", "case:01JF0000000000000000000009")), "tracking_code"),
    ("forged server counter", case(status="submitted", _rev="2-a", meta={"fields": {"status": {
        "vv": {"server": 9}, "hlc": "000001795933800000-00000-server"}}}), AGENT,
     Stored(rev="2-a", doc=case(status="submitted", meta={"fields": {"status": {"vv": {"server": 1}}}})),
     "server"),
    ("server counter in a new case", case(meta={"fields": {"notes": {"vv": {"server": 1}}}}), AGENT, Stored(),
     "server"),
    ("status from an old branch", case(status="approved", _rev="3-b"), STAFF,
     Stored(rev="3-a", doc=case(status="forwarded"), ancestor=case(status="submitted")), "now forwarded"),
]


def test_events_are_the_pushing_users_in_their_role() -> None:
    mine = event(by="agent1", role="village_agent")
    assert check_document(mine, AGENT, V, Stored(), user="agent1") is None
    for forged, needle in [(event(by="staff1", role="village_agent"), "by"),
                           (event(by="agent1", role="citizen"), "role"),
                           (event(by="agent1"), "role")]:
        reason = check_document(forged, AGENT, V, Stored(), user="agent1")
        assert reason is not None and needle in reason


def test_acceptance_sets_accepted_at_within_the_servers_clock() -> None:
    from ulid import ULID

    created = ULID.from_str(CASE.split(":")[1]).timestamp
    stored = Stored(rev="1-a", doc=case(status="submitted"))
    at = "2026-11-24T06:30:00Z"
    from datetime import datetime

    now = datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() + 3600
    accept = case(status="accepted", _rev="1-a", accepted_at=at, deadline="2026-11-27")
    assert created < now
    assert check_document(accept, STAFF, V, stored, now=now) is None
    future = case(status="accepted", _rev="1-a", accepted_at="2027-06-01T00:00:00Z")
    assert "accepted_at" in str(check_document(future, STAFF, V, stored, now=now))
    # A re-acceptance after 补正 may not move the clock's start back before the first acceptance.
    again = Stored(rev="1-a", doc=case(status="submitted", accepted_at=at))
    back = case(status="accepted", _rev="1-a", accepted_at="2020-01-01T00:00:00Z")
    assert "accepted_at" in str(check_document(back, STAFF, V, again, now=now))


def test_content_types_are_rewritten_to_their_canonical_names() -> None:
    doc = case(_attachments={"a.jpg": {"content_type": "Image/JPG; q=1", "data": JPEG}})
    assert check_document(doc, AGENT, V, Stored()) is None
    assert doc["_attachments"]["a.jpg"]["content_type"] == "image/jpeg"


@pytest.mark.parametrize(("name", "doc", "role", "stored", "mode"), ACCEPTED, ids=[r[0] for r in ACCEPTED])
def test_accepted(name: str, doc: Any, role: AccountRole, stored: Stored, mode: object) -> None:
    assert check_document(doc, role, V, stored, new_edits=mode != "replay") is None


@pytest.mark.parametrize(("name", "doc", "role", "stored", "needle"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused(name: str, doc: Any, role: AccountRole, stored: Stored, needle: str) -> None:
    reason = check_document(doc, role, V, stored)
    assert reason is not None and needle in reason and " / " in reason


def test_the_revision_the_device_edited_decides_the_transition() -> None:
    # Staff accepted on the server while the agent edited the submitted case offline.
    stored = Stored(rev="2-s", doc=case(status="accepted"), ancestor=case(status="submitted"))
    assert check_document(case(status="submitted", _rev="2-a"), AGENT, V, stored, new_edits=False) is None
    assert check_document(case(status="approved", _rev="2-a"), AGENT, V, stored, new_edits=False) is not None


@pytest.mark.parametrize(
    ("role", "start", "goal", "ok"),
    [(AGENT, "draft", "withdrawn", True), (AGENT, "draft", "accepted", False),
     (STAFF, "submitted", "forwarded", True), (STAFF, "draft", "submitted", False),
     (AGENT, "??", "draft", False)],
)
def test_reachable(role: AccountRole, start: str, goal: str, ok: bool) -> None:
    from shared.status import Status

    assert reachable(role, start, Status(goal)) is ok


@pytest.mark.parametrize(
    ("level", "start", "goal"),
    [("county", "accepted", "approved"),      # a county item approved by the township itself
     ("county", "submitted", "approved"),     # …in two offline steps
     ("township", "accepted", "forwarded"),   # a township item sent to the county
     ("village", "submitted", "forwarded")],
)
def test_a_forward_or_approval_the_app_never_offers_is_refused(level: str, start: str, goal: str) -> None:
    """The attack: a patched app pushes a change its buttons never offer for the item's level."""
    stored = Stored(rev="2-s", doc=case(status=start), item_level=level)
    reason = check_document(case(status=goal, _rev="2-s"), STAFF, V, stored)
    assert reason is not None and "may not change a case" in reason
    # The same change of an item of the other level goes through, as does one of an item the
    # catalog does not know (then only the roles' table applies).
    other = "township" if level == "county" else "county"
    for known in (other, None):
        held = Stored(rev="2-s", doc=case(status=start), item_level=known)
        assert check_document(case(status=goal, _rev="2-s"), STAFF, V, held) is None


@pytest.mark.parametrize(
    ("doc", "new_edits"),
    [
        (case(), False),  # replicated without a revision
        (case(_rev="x-abc"), False),
        (case(_rev="1-abc", _revisions={"start": 2, "ids": ["abc"]}), False),
        (case(_rev="1-abc", _revisions={"start": 1, "ids": []}), False),
        (case(_rev="1-abc", _revisions="1-abc"), False),
        (case(_rev="1-a/b"), True),
    ],
)
def test_malformed_revisions_are_refused_per_document(doc: Any, new_edits: bool) -> None:
    reason = check_document(doc, AGENT, V, Stored(), new_edits=new_edits)
    assert reason is not None and "_rev" in reason
