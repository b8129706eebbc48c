"""The document model: event kinds, constructors and their shapes, reachability with the item level."""

from __future__ import annotations

import json

import pytest

from shared.documents import (
    EVENT_OF,
    SERVER_EVENT_KINDS,
    EventKind,
    case_from_json,
    case_ulid,
    county_of,
    division_of,
    event_from_json,
    event_kind,
    event_kind_of,
    event_prefix,
    field_problem,
    material_from_json,
    new_case,
    new_event,
    new_material,
    new_review,
    reachable,
    review_from_json,
    township_of,
    village_of_db_or_none,
)
from shared.errors import DivisionError, DocumentError, IdentifierError
from shared.ids import Kind
from shared.status import Status, allowed_transitions

U1, U2 = "01JD3ZQ8K6W4Y9T2V5B7N1M0XC", "01JD3ZQ9AAAAAAAAAAAAAAAAAA"
VILLAGE = "330212001001"
NOW = "2026-11-24T06:30:00Z"

# The strings stored in event documents since the first release: renaming one would orphan data.
STORED_KINDS = {
    "created", "submitted", "accepted", "materials_requested", "rejected", "forwarded", "county_ack",
    "approved", "result_ready", "delivered", "withdrawn", "rated", "conflict_resolved", "review_decided",
}


def test_event_kinds_are_the_stored_strings() -> None:
    assert {k.value for k in EventKind} == STORED_KINDS
    assert json.dumps({"kind": EventKind.ACCEPTED}) == '{"kind": "accepted"}'


def test_every_status_change_has_its_event() -> None:
    assert set(EVENT_OF) == set(Status) - {Status.DRAFT}
    assert event_kind_of("needs_materials") is EventKind.MATERIALS_REQUESTED
    assert event_kind_of(Status.DELIVERED) is EventKind.DELIVERED
    assert {"rated", "county_ack", "conflict_resolved", "review_decided"} == SERVER_EVENT_KINDS


def test_new_case_is_a_draft_of_the_village() -> None:
    case = new_case(f"case:{U1}", item_code="330100-001", village=VILLAGE, agent="agent1", now=NOW)
    assert case["division"] == {"village": VILLAGE, "township": "330212001", "county": "330212"}
    assert (case["status"], case["type"]) == ("draft", "case")
    assert case["created_at"] == case["updated_at"] == NOW
    assert case["meta"] == {"fields": {}} and case["needs_review"] is False
    assert case_from_json(json.loads(json.dumps(case))) == case


def test_new_event_stores_the_kind_as_its_string() -> None:
    event = new_event(f"case:{U1}", U2, EventKind.SUBMITTED, by="agent1", role="village_agent",
                      device="dev-1", device_time=NOW, data={"from": "draft"})
    assert event["_id"] == f"event:{U1}:{U2}" and event["kind"] == "submitted"
    assert type(json.loads(json.dumps(event))["kind"]) is str
    assert "server_time" not in event
    server = new_event(f"case:{U1}", U2, "rated", by="citizen", role="citizen", device="web",
                       device_time=NOW, server_time=NOW)
    assert server["server_time"] == NOW and server["data"] == {}
    assert event_from_json(server) == server
    assert event_kind(server) is EventKind.RATED
    assert event_kind({"kind": "something_new"}) is None


def test_new_event_refuses_an_unknown_kind() -> None:
    with pytest.raises(ValueError):
        new_event(f"case:{U1}", U2, "teleported", by="a", role="village_agent", device="d", device_time=NOW)


def test_material_and_review_constructors_fit_their_shapes() -> None:
    material = new_material(f"material:{U2}", owner_hash="ab" * 32, owner_masked="3302**********1234",
                            kind="id_card", valid_until=None, division=division_of(VILLAGE), created_at=NOW)
    assert material_from_json(material) == material
    review = new_review(f"case:{U1}", fields={"b": [1, 2], "a": ["x", "y"]}, division=division_of(VILLAGE),
                        created_at=NOW, updated_at=NOW)
    assert review["_id"] == f"review:{U1}" and list(review["fields"]) == ["a", "b"]
    assert (review["status"], review["village"], review["township"]) == ("open", VILLAGE, "330212001")
    assert review_from_json(review) == review


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"item_code": "x", "status": "draft"}, "division"),
        ({"item_code": "", "status": "draft", "division": {}}, "item_code"),
        ({"item_code": "x", "status": "draft", "division": {}, "materials": {}}, "materials"),
        ({"item_code": "x", "status": "draft", "division": {}, "paused_days": "2"}, "paused_days"),
    ],
)
def test_field_problem_names_the_wrong_field(doc: dict[str, object], field: str) -> None:
    problem = field_problem(doc, Kind.CASE)
    assert problem is not None and problem.field == field
    assert field in problem.message.en


def test_optional_fields_may_be_null_or_absent() -> None:
    case: dict[str, object] = {"item_code": "x", "status": "draft", "division": {}, "deadline": None}
    assert field_problem(case, Kind.CASE) is None
    assert field_problem({"kind": "k", "owner_hash": "h", "valid_until": None}, Kind.MATERIAL) is None


def test_readers_refuse_another_type() -> None:
    event = new_event(f"case:{U1}", U2, "created", by="a", role="village_agent", device="d", device_time=NOW)
    with pytest.raises(DocumentError) as caught:
        case_from_json(event)
    assert caught.value.field == "type"
    with pytest.raises(DocumentError):
        event_from_json({"_id": f"event:{U1}:{U2}", "type": "event", "case_id": f"case:{U1}",
                         "kind": "created"})


def test_division_and_id_helpers() -> None:
    assert (county_of(VILLAGE), township_of(VILLAGE)) == ("330212", "330212001")
    assert county_of("330212001") == "330212"
    with pytest.raises(DivisionError):
        township_of("330212")
    assert village_of_db_or_none(f"ot-v-{VILLAGE}") == VILLAGE
    assert village_of_db_or_none("ot-server") is None and village_of_db_or_none("ot-v-3302") is None
    assert case_ulid(f"event:{U1}:{U2}") == U1 == case_ulid(f"review:{U1}")
    assert event_prefix(f"case:{U1}") == event_prefix(U1) == f"event:{U1}:"
    with pytest.raises(IdentifierError):
        case_ulid(f"material:{U2}")


@pytest.mark.parametrize(
    ("role", "start", "goal", "level", "expected"),
    [
        # Several offline steps of one role are reachable…
        ("township_staff", "submitted", "approved", None, True),
        ("township_staff", "submitted", "approved", "township", True),
        ("township_staff", "submitted", "forwarded", "county", True),
        # …but not past the item's level: a county item is never approved by the township,
        ("township_staff", "accepted", "approved", "county", False),
        ("township_staff", "submitted", "approved", "county", False),
        # and a township or village item is never forwarded.
        ("township_staff", "accepted", "forwarded", "township", False),
        ("township_staff", "accepted", "forwarded", "village", False),
        # Other roles' changes are not reachable, whatever the level.
        ("village_agent", "submitted", "accepted", None, False),
        ("system", "forwarded", "approved", "county", True),
        ("system", "forwarded", "approved", "township", False),
        ("township_staff", "bogus", "approved", None, False),
        ("township_staff", "accepted", "bogus", None, False),
    ],
)
def test_reachable_with_level(role: str, start: str, goal: str, level: str | None, expected: bool) -> None:
    assert reachable(role, start, goal, level=level) is expected


@pytest.mark.parametrize("level", ["county", "township", "village"])
def test_reachable_agrees_with_the_apps_buttons(level: str) -> None:
    """Every status the app offers in one step is reachable; a one-step change it never offers is not."""
    for role in ("village_agent", "township_staff", "system"):
        for start in Status:
            offered = set(allowed_transitions(role, start, level=level))
            for goal in offered:
                assert reachable(role, start, goal, level=level)
            if start == Status.ACCEPTED and role == "township_staff":
                never = {Status.FORWARDED, Status.APPROVED} - offered
                assert all(not reachable(role, start, goal, level=level) for goal in never)
