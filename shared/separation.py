"""Separation of intake and approval (受审分离): who accepted a case does not decide it.

A township staff member who accepted a case (受理) may not then approve it (办结) or refuse it
on its merits (不予许可) when the item's catalog setting `separate_intake_approval` is on
(ADR 0122). The acceptance record is the case's `accepted` events: every user named as their
`by` accepted the case (a case sent back for materials may be accepted again, by someone else).

The rule is judged on a move from the status a writer started from (`before`) to the status
it writes (`target`), which may span several steps made offline:

- a decision is a township move from before approval to approved or later (`APPROVED`,
  `RESULT_READY`, `DELIVERED`: the township reaches them only through its own approval), or
  from `accepted` to `rejected` (不予许可). `submitted → rejected` is 不予受理, part of intake;
- a decision that starts before acceptance accepts the case in the same move: its writer is
  the acceptor, refused;
- a decision on an accepted case with no acceptance record is refused until the record
  arrives: otherwise withholding one's `accepted` event would bypass the rule.

The caller says where the record comes from: the server from the events it stores (their
`by` is checked to be the pushing user when written), the app from its local copy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from shared.status import STAGE, Role, Status
from shared.text import Message

ACCEPTED_EVENT: Final = "accepted"  # the event kind the acceptance writes (docs/design.md §Documents)
BEFORE_ACCEPTANCE: Final = frozenset({Status.DRAFT, Status.SUBMITTED, Status.NEEDS_MATERIALS})
# Statuses the township reaches from before approval only by approving itself.
_APPROVED_OR_LATER: Final = frozenset({Status.APPROVED, Status.RESULT_READY, Status.DELIVERED})


def acceptors(events: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Who accepted the case: the `by` of each of its `accepted` events."""
    return frozenset(str(e["by"]) for e in events if e.get("kind") == ACCEPTED_EVENT and e.get("by"))


def is_decision(role: Role | str, before: Status | str, target: Status | str) -> bool:
    """Does moving a case from `before` to `target` decide it (审批: approve or 不予许可)?"""
    try:
        who, start, goal = Role(role), Status(before), Status(target)
    except ValueError:
        return False
    if who is not Role.TOWNSHIP_STAFF:
        return False  # the county's decisions arrive as the system; agents never decide
    if goal in _APPROVED_OR_LATER:
        return STAGE[start] < STAGE[Status.APPROVED] and start is not Status.FORWARDED
    return start is Status.ACCEPTED and goal is Status.REJECTED


def separation_refusal(
    user: str,
    role: Role | str,
    before: Status | str,
    target: Status | str,
    *,
    accepted_by: frozenset[str],
    separate: bool,
) -> Message | None:
    """Why `user` may not move a case from `before` to `target`, or None when they may.

    `accepted_by`: who accepted the case (`acceptors` of its events); `separate`: the item's
    `separate_intake_approval` setting.
    """
    if not separate or not is_decision(role, before, target):
        return None
    if Status(before) in BEFORE_ACCEPTANCE or user in accepted_by:
        return Message(
            "受审分离：您受理了此件，不能由您本人审批（办结或不予许可），请交由其他工作人员审批",
            "Intake and approval are separated: you accepted this case, so another staff member "
            "must approve or refuse it",
        )
    if not accepted_by:
        return Message(
            "受审分离：尚未收到此件的受理记录，受理人同步后才能审批",
            "Intake and approval are separated: the case's acceptance record is not here yet; "
            "it can be decided once the staff member who accepted it has synced",
        )
    return None
