"""Status machine: every (role, from, to) allowed or refused as the table below says."""

from __future__ import annotations

import itertools

import pytest

from shared.divisions import Level
from shared.errors import TransitionError
from shared.status import (
    Role,
    Status,
    allowed_transitions,
    can_transition,
    check_transition,
    is_terminal,
    label,
    stage_order,
)
from shared.text import Message

NON_TERMINAL = ["draft", "submitted", "needs_materials", "accepted", "forwarded", "approved", "result_ready"]

# Written out independently of shared.status.TRANSITIONS: role → the (from, to) it may make.
ALLOWED: dict[str, set[tuple[str, str]]] = {
    "village_agent": {
        ("draft", "submitted"),
        ("needs_materials", "submitted"),
        ("result_ready", "delivered"),
        *((s, "withdrawn") for s in NON_TERMINAL),
    },
    "township_staff": {
        ("submitted", "accepted"),
        ("submitted", "needs_materials"),
        ("submitted", "rejected"),
        ("accepted", "needs_materials"),
        ("accepted", "rejected"),
        ("accepted", "forwarded"),
        ("accepted", "approved"),
        ("approved", "result_ready"),
        ("result_ready", "delivered"),
        *((s, "withdrawn") for s in NON_TERMINAL),
    },
    "system": {
        ("forwarded", "approved"),
        ("forwarded", "rejected"),
        ("approved", "result_ready"),
    },
    "county_operator": set(),
}

CASES = [
    (role, a, b, (a, b) in ALLOWED[role])
    for role, a, b in itertools.product(ALLOWED, [s.value for s in Status], [s.value for s in Status])
]


@pytest.mark.parametrize(("role", "from_status", "to_status", "allowed"), CASES)
def test_transition_table(role: str, from_status: str, to_status: str, allowed: bool) -> None:
    assert can_transition(role, from_status, to_status) is allowed
    assert can_transition(Role(role), Status(from_status), Status(to_status)) is allowed
    if allowed:
        check_transition(role, from_status, to_status)
    else:
        with pytest.raises(TransitionError):
            check_transition(role, from_status, to_status)


@pytest.mark.parametrize(
    ("role", "status", "expected"),
    [
        ("village_agent", "draft", ("submitted", "withdrawn")),
        ("village_agent", "submitted", ("withdrawn",)),
        ("village_agent", "result_ready", ("delivered", "withdrawn")),
        ("village_agent", "delivered", ()),
        ("township_staff", "submitted", ("needs_materials", "accepted", "rejected", "withdrawn")),
        ("township_staff", "accepted", ("needs_materials", "forwarded", "approved", "rejected", "withdrawn")),
        ("township_staff", "draft", ("withdrawn",)),
        ("system", "forwarded", ("approved", "rejected")),
        ("county_operator", "forwarded", ()),
    ],
)
def test_allowed_transitions_in_stage_order(role: str, status: str, expected: tuple[str, ...]) -> None:
    assert allowed_transitions(role, status) == tuple(Status(s) for s in expected)


@pytest.mark.parametrize(
    ("role", "from_status", "to_status", "level", "allowed"),
    [
        ("township_staff", "accepted", "forwarded", Level.COUNTY, True),
        ("township_staff", "accepted", "forwarded", Level.TOWNSHIP, False),
        ("township_staff", "accepted", "forwarded", Level.VILLAGE, False),
        ("township_staff", "accepted", "approved", Level.TOWNSHIP, True),
        ("township_staff", "accepted", "approved", Level.VILLAGE, True),
        ("township_staff", "accepted", "approved", Level.COUNTY, False),
        ("system", "forwarded", "approved", "county", True),
        ("system", "forwarded", "approved", "township", False),
        ("township_staff", "submitted", "accepted", "county", True),
        ("township_staff", "submitted", "accepted", "nowhere", False),
    ],
)
def test_level_rules(role: str, from_status: str, to_status: str, level: str, allowed: bool) -> None:
    assert can_transition(role, from_status, to_status, level=level) is allowed


@pytest.mark.parametrize(
    ("role", "from_status", "to_status"),
    [("mayor", "draft", "submitted"), ("village_agent", "draft", "done"), ("village_agent", "", "submitted")],
)
def test_unknown_names_are_refused(role: str, from_status: str, to_status: str) -> None:
    assert not can_transition(role, from_status, to_status)
    assert allowed_transitions(role, "draft") == () or role == "village_agent"


def test_terminal_and_stage_order() -> None:
    assert {s for s in Status if is_terminal(s)} == {Status.DELIVERED, Status.REJECTED, Status.WITHDRAWN}
    path = ["draft", "needs_materials", "submitted", "accepted", "forwarded", "approved", "result_ready"]
    assert [stage_order(s) for s in path] == sorted(stage_order(s) for s in path)
    assert len({stage_order(s) for s in path}) == len(path)
    terminal_stages = {stage_order(s) for s in ("delivered", "rejected", "withdrawn")}
    assert terminal_stages == {max(stage_order(s) for s in Status)}


def test_every_non_terminal_status_can_be_left_and_terminal_ones_cannot() -> None:
    for status in Status:
        exits = {b for (role, a, b, ok) in CASES if ok and a == status}
        assert bool(exits) is not is_terminal(status), status


def test_every_status_and_role_has_a_label() -> None:
    for value in [*Status, *Role]:
        assert label(value).zh and label(value).en
    assert label("accepted").zh == "已受理"
    assert label("mystery") == Message("mystery", "mystery")


def test_refusal_message_names_role_and_statuses() -> None:
    with pytest.raises(TransitionError) as caught:
        check_transition("village_agent", "submitted", "accepted")
    assert caught.value.message.zh == "村代办员不能把办件从“已提交”改为“已受理”"
    expected = "Village agent (village_agent) may not change a case from Submitted to Accepted"
    assert caught.value.message.en == expected
