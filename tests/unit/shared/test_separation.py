"""Separation of intake and approval (受审分离): the rule as a table of moves."""

from __future__ import annotations

import pytest

from shared.separation import acceptors, is_decision, separation_refusal
from shared.status import Role, Status

S = Status


def test_acceptors_are_the_authors_of_accepted_events_only() -> None:
    events = [{"kind": "submitted", "by": "agent1"}, {"kind": "accepted", "by": "staff1"},
              {"kind": "materials_requested", "by": "staff2"}, {"kind": "accepted", "by": "staff3"},
              {"kind": "accepted"}]
    assert acceptors(events) == frozenset({"staff1", "staff3"})
    assert acceptors([]) == frozenset()


@pytest.mark.parametrize(("role", "before", "target", "decides"), [
    (Role.TOWNSHIP_STAFF, S.ACCEPTED, S.APPROVED, True),
    (Role.TOWNSHIP_STAFF, S.ACCEPTED, S.REJECTED, True),  # 不予许可
    (Role.TOWNSHIP_STAFF, S.SUBMITTED, S.APPROVED, True),  # accepted and approved offline, one push
    (Role.TOWNSHIP_STAFF, S.ACCEPTED, S.RESULT_READY, True),  # approved on the way
    (Role.TOWNSHIP_STAFF, S.SUBMITTED, S.REJECTED, False),  # 不予受理 is intake
    (Role.TOWNSHIP_STAFF, S.SUBMITTED, S.ACCEPTED, False),
    (Role.TOWNSHIP_STAFF, S.ACCEPTED, S.FORWARDED, False),
    (Role.TOWNSHIP_STAFF, S.APPROVED, S.RESULT_READY, False),  # already decided
    (Role.TOWNSHIP_STAFF, S.FORWARDED, S.APPROVED, False),  # the county decides
    (Role.SYSTEM, S.FORWARDED, S.APPROVED, False),
    (Role.VILLAGE_AGENT, S.RESULT_READY, S.DELIVERED, False),
    ("nobody", S.ACCEPTED, S.APPROVED, False),
])
def test_which_moves_decide_a_case(role: Role | str, before: Status, target: Status, decides: bool) -> None:
    assert is_decision(role, before, target) is decides


def refusal(user: str, before: Status, target: Status, accepted_by: set[str], separate: bool = True) -> str:
    message = separation_refusal(user, Role.TOWNSHIP_STAFF, before, target,
                                 accepted_by=frozenset(accepted_by), separate=separate)
    return str(message) if message else ""


def test_who_accepted_may_not_approve_or_refuse() -> None:
    assert "受审分离" in refusal("staff1", S.ACCEPTED, S.APPROVED, {"staff1"})
    assert "another staff member" in refusal("staff1", S.ACCEPTED, S.REJECTED, {"staff1"})
    # Accepted by two people over time (补正 then accepted again): neither decides.
    assert refusal("staff1", S.ACCEPTED, S.APPROVED, {"staff1", "staff2"})


def test_another_staff_member_may_decide() -> None:
    assert refusal("staff2", S.ACCEPTED, S.APPROVED, {"staff1"}) == ""
    assert refusal("staff2", S.ACCEPTED, S.REJECTED, {"staff1"}) == ""


def test_accepting_and_approving_in_one_move_is_refused_whoever_is_on_record() -> None:
    assert refusal("staff2", S.SUBMITTED, S.APPROVED, {"staff1"})
    assert refusal("staff2", S.NEEDS_MATERIALS, S.RESULT_READY, set())


def test_without_an_acceptance_record_nobody_decides() -> None:
    reason = refusal("staff2", S.ACCEPTED, S.APPROVED, set())
    assert "受理记录" in reason and "acceptance record" in reason


def test_an_item_without_separation_lets_the_acceptor_decide() -> None:
    assert refusal("staff1", S.ACCEPTED, S.APPROVED, {"staff1"}, separate=False) == ""
    assert refusal("staff1", S.SUBMITTED, S.APPROVED, set(), separate=False) == ""


def test_moves_that_decide_nothing_are_never_refused() -> None:
    assert refusal("staff1", S.SUBMITTED, S.ACCEPTED, set()) == ""
    assert refusal("staff1", S.ACCEPTED, S.FORWARDED, {"staff1"}) == ""
    assert refusal("staff1", S.SUBMITTED, S.REJECTED, set()) == ""
