"""Separation of intake and approval (受审分离, ADR 0122), attacked through the gateway.

The staff member who accepted a case pushes its approval (or 不予许可) by a normal write, by a
replicated branch (`_bulk_docs new_edits=false`), by a PUT, and with the item code switched to
an item without separation: each is refused with a JSON reason in Chinese and English, and the
case stays accepted. Another staff member may decide; an item with the setting off lets the
acceptor decide.
"""

from __future__ import annotations

from typing import Any

from sync_server.catalog_store import SEED_CATALOG, load_catalog_file
from sync_server.couch import Couch
from tests.integration.sync_server.gateway_helpers import client, make_case, make_event
from tests.integration.sync_server.server_fixtures import RunningServer, Township, token_for
from tests.integration.sync_server.test_server_facts import branch, bulk, now_iso, write

RELAXED_ITEM = "LN-002"  # the seed's on-the-spot senior card: separation switched off


class Office:
    """Two staff members of one township and an agent of its first village."""

    def __init__(self, server: RunningServer, township: Township) -> None:
        self.db, self.village = township.dbs[0], township.villages[0]
        self.agent = client(server.url, token_for(server.url, township.agents[0]))
        self.staff = client(server.url, token_for(server.url, township.staff))
        self.approver = client(server.url, token_for(server.url, township.approver))
        self.staff_name, self.approver_name = township.staff, township.approver

    def accepted(self, item_code: str = "DEMO-001", *, record: bool = True) -> dict[str, Any]:
        """A case the first staff member accepted (with its `accepted` event unless `record` is off)."""
        case = write(self.agent, self.db, make_case(self.village, "submitted", item_code=item_code))
        case = write(self.staff, self.db, {**case, "status": "accepted", "accepted_at": now_iso(),
                                           "deadline": "2026-12-31"})
        if record:
            event = make_event(case["_id"], "accepted", by=self.staff_name, role="township_staff",
                               data={"from": "submitted", "to": "accepted"})
            assert bulk(self.staff, self.db, [event])[0].get("ok")
        return case


def refused_for_separation(answer: dict[str, Any]) -> bool:
    reason = str(answer.get("reason", ""))
    return answer.get("error") == "forbidden" and "受审分离" in reason and "Intake and approval" in reason


async def stored_status(couch: Couch, db: str, case_id: str) -> str:
    doc = await couch.get_doc(db, case_id, conflicts=True)
    assert doc is not None and "_conflicts" not in doc
    return str(doc["status"])


async def test_the_acceptor_cannot_approve_or_refuse_by_a_normal_write(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    o = Office(api_server, township)
    case = o.accepted()
    assert refused_for_separation(bulk(o.staff, o.db, [{**case, "status": "approved"}])[0])
    assert refused_for_separation(bulk(o.staff, o.db, [{**case, "status": "rejected"}])[0])
    # Approved and marked ready offline, pushed as one revision: the approval is inside it.
    assert refused_for_separation(bulk(o.staff, o.db, [{**case, "status": "result_ready"}])[0])
    assert await stored_status(couch, o.db, case["_id"]) == "accepted"


async def test_the_acceptor_cannot_approve_through_a_replicated_branch(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    o = Office(api_server, township)
    case = o.accepted()
    attack = branch(case, case["_rev"], "d", status="approved")
    answers = bulk(o.staff, o.db, [attack], new_edits=False)
    assert len(answers) == 1 and refused_for_separation(answers[0])
    assert await stored_status(couch, o.db, case["_id"]) == "accepted"


async def test_the_acceptor_cannot_approve_by_put(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    o = Office(api_server, township)
    case = o.accepted()
    answer = o.staff.put(f"/{o.db}/{case['_id']}", json={**case, "status": "approved"})
    assert answer.status_code == 403 and refused_for_separation(answer.json())
    assert await stored_status(couch, o.db, case["_id"]) == "accepted"


async def test_accepting_and_approving_offline_in_one_push_is_refused(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    o = Office(api_server, township)
    submitted = write(o.agent, o.db, make_case(o.village, "submitted"))
    both = branch(submitted, submitted["_rev"], "e", status="approved", accepted_at=now_iso(),
                  deadline="2026-12-31")
    answers = bulk(o.staff, o.db, [both], new_edits=False)
    assert len(answers) == 1 and refused_for_separation(answers[0])
    assert await stored_status(couch, o.db, submitted["_id"]) == "submitted"


async def test_switching_the_item_to_one_without_separation_gains_nothing(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    await load_catalog_file(couch, SEED_CATALOG)
    o = Office(api_server, township)
    case = o.accepted()
    answer = bulk(o.staff, o.db, [{**case, "status": "approved", "item_code": RELAXED_ITEM}])[0]
    assert refused_for_separation(answer)
    assert await stored_status(couch, o.db, case["_id"]) == "accepted"


async def test_withholding_the_acceptance_record_does_not_open_the_approval(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    o = Office(api_server, township)
    case = o.accepted(record=False)
    answer = bulk(o.approver, o.db, [{**case, "status": "approved"}])[0]
    assert answer.get("error") == "forbidden" and "acceptance record" in str(answer.get("reason"))
    assert await stored_status(couch, o.db, case["_id"]) == "accepted"


async def test_another_staff_member_may_approve_or_refuse(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    o = Office(api_server, township)
    case = o.accepted()
    approved = write(o.approver, o.db, {**case, "status": "approved"})
    assert await stored_status(couch, o.db, case["_id"]) == "approved"
    # The decision made, the acceptor may carry on with the result.
    write(o.staff, o.db, {**approved, "status": "result_ready"})
    other = o.accepted()
    replicated = branch(other, other["_rev"], "f", status="rejected")
    assert bulk(o.approver, o.db, [replicated], new_edits=False) == []
    assert await stored_status(couch, o.db, other["_id"]) == "rejected"


async def test_an_item_with_the_setting_off_lets_the_acceptor_approve(
    api_server: RunningServer, township: Township, couch: Couch
) -> None:
    await load_catalog_file(couch, SEED_CATALOG)
    o = Office(api_server, township)
    case = o.accepted(RELAXED_ITEM)
    write(o.staff, o.db, {**case, "status": "approved"})
    assert await stored_status(couch, o.db, case["_id"]) == "approved"
