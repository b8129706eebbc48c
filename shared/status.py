"""Case status machine (办件状态流转), as data.

```
draft → submitted → accepted → forwarded → approved → result_ready → delivered
submitted → needs_materials → submitted      补正 before acceptance
accepted → needs_materials                   补正 after acceptance (the clock pauses)
submitted → rejected                         不予受理
accepted → rejected                          不予许可
accepted → approved                          township- and village-level items
forwarded → approved | rejected              county decisions
any non-terminal → withdrawn
```

Who makes which change (`TRANSITIONS`); the app shows buttons from `allowed_transitions`
and the gateway refuses writes with `can_transition` — the same table for both:

- village_agent 村代办员: submit a draft, resubmit after 补正, withdraw a case that is not
  finished, deliver a result (result_ready → delivered).
- township_staff 乡镇便民服务中心: accept (受理), refuse (不予受理/不予许可), ask for missing
  materials (补正, before or after acceptance), forward county-level items, approve
  township- and village-level items, mark a township result ready, hand over a result at
  the office, withdraw on the citizen's request at the counter.
- system (server, from the county platform's callbacks): a forwarded case is approved or
  rejected; an approved case's result is ready.
- county_operator: no case changes; county decisions arrive through the platform (system).

`needs_review` is a flag on the case, not a status: a case waits for a person's decision
on a conflict in whatever status it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from shared.divisions import Level
from shared.errors import TransitionError
from shared.text import Message


class Status(StrEnum):
    """Status of a case (办件状态)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    NEEDS_MATERIALS = "needs_materials"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FORWARDED = "forwarded"
    APPROVED = "approved"
    RESULT_READY = "result_ready"
    DELIVERED = "delivered"
    WITHDRAWN = "withdrawn"


class Role(StrEnum):
    """Who acts on a case; `system` is the server acting on the county platform's word."""

    VILLAGE_AGENT = "village_agent"
    TOWNSHIP_STAFF = "township_staff"
    COUNTY_OPERATOR = "county_operator"
    SYSTEM = "system"


TERMINAL: Final = frozenset({Status.DELIVERED, Status.REJECTED, Status.WITHDRAWN})

# Short names for the table below only.
_S = Status
_A, _T, _X = Role.VILLAGE_AGENT, Role.TOWNSHIP_STAFF, Role.SYSTEM

# (from, to) → the roles that may make the change.
TRANSITIONS: Final[Mapping[tuple[Status, Status], frozenset[Role]]] = {
    (_S.DRAFT, _S.SUBMITTED): frozenset({_A}),
    (_S.SUBMITTED, _S.ACCEPTED): frozenset({_T}),
    (_S.SUBMITTED, _S.NEEDS_MATERIALS): frozenset({_T}),
    (_S.SUBMITTED, _S.REJECTED): frozenset({_T}),
    (_S.NEEDS_MATERIALS, _S.SUBMITTED): frozenset({_A}),
    (_S.ACCEPTED, _S.NEEDS_MATERIALS): frozenset({_T}),
    (_S.ACCEPTED, _S.REJECTED): frozenset({_T}),
    (_S.ACCEPTED, _S.FORWARDED): frozenset({_T}),
    (_S.ACCEPTED, _S.APPROVED): frozenset({_T}),
    (_S.FORWARDED, _S.APPROVED): frozenset({_X}),
    (_S.FORWARDED, _S.REJECTED): frozenset({_X}),
    (_S.APPROVED, _S.RESULT_READY): frozenset({_T, _X}),
    (_S.RESULT_READY, _S.DELIVERED): frozenset({_A, _T}),
    **{(s, _S.WITHDRAWN): frozenset({_A, _T}) for s in Status if s not in TERMINAL},
}

# Changes that depend on the item's handling level (三级联动: 小事不出村、大事不出镇).
_LEVELS: Final[Mapping[tuple[Status, Status], frozenset[Level]]] = {
    (_S.ACCEPTED, _S.FORWARDED): frozenset({Level.COUNTY}),
    (_S.ACCEPTED, _S.APPROVED): frozenset({Level.TOWNSHIP, Level.VILLAGE}),
    (_S.FORWARDED, _S.APPROVED): frozenset({Level.COUNTY}),
    (_S.FORWARDED, _S.REJECTED): frozenset({Level.COUNTY}),
}

# Progress of a case, for merging concurrent edits: a later stage wins. Terminal states
# share the last stage, so two different terminal states tie and go to review (docs/design.md §Conflicts).
# needs_materials sits before submitted: the agent's resubmission is the later step.
STAGE: Final[Mapping[Status, int]] = {
    _S.DRAFT: 0,
    _S.NEEDS_MATERIALS: 1,
    _S.SUBMITTED: 2,
    _S.ACCEPTED: 3,
    _S.FORWARDED: 4,
    _S.APPROVED: 5,
    _S.RESULT_READY: 6,
    _S.DELIVERED: 7,
    _S.REJECTED: 7,
    _S.WITHDRAWN: 7,
}


# What people read: the citizen page, the app's badges, error messages.
LABELS: Final[Mapping[Status | Role, Message]] = {
    _S.DRAFT: Message("草稿", "Draft"),
    _S.SUBMITTED: Message("已提交", "Submitted"),
    _S.NEEDS_MATERIALS: Message("待补正", "Materials needed"),
    _S.ACCEPTED: Message("已受理", "Accepted"),
    _S.REJECTED: Message("不予办理", "Rejected"),
    _S.FORWARDED: Message("已转县级办理", "Forwarded to the county"),
    _S.APPROVED: Message("已办结（批准）", "Approved"),
    _S.RESULT_READY: Message("结果待送达", "Result ready for delivery"),
    _S.DELIVERED: Message("已送达", "Delivered"),
    _S.WITHDRAWN: Message("已撤回", "Withdrawn"),
    Role.VILLAGE_AGENT: Message("村代办员", "Village agent"),
    Role.TOWNSHIP_STAFF: Message("乡镇便民服务中心工作人员", "Township service centre staff"),
    Role.COUNTY_OPERATOR: Message("县级政务服务中心工作人员", "County service centre operator"),
    Role.SYSTEM: Message("系统（县级平台）", "System (county platform)"),
}


def label(value: Status | Role | str) -> Message:
    """The Chinese and English name of a status or role (the raw value for unknown strings)."""
    for enum in (Status, Role):
        try:
            return LABELS[enum(value)]
        except ValueError:
            continue
    return Message(str(value), str(value))


def stage_order(status: Status | str) -> int:
    """How far along `status` is (0 = draft … 7 = terminal)."""
    return STAGE[Status(status)]


def is_terminal(status: Status | str) -> bool:
    """True for delivered, rejected and withdrawn: nothing follows."""
    return Status(status) in TERMINAL


def can_transition(
    role: Role | str, from_status: Status | str, to_status: Status | str, *, level: Level | str | None = None
) -> bool:
    """May `role` change a case from `from_status` to `to_status`?

    With `level` (the item's handling level) also checks the level rule: only county items
    are forwarded, only township/village items approved by the township. Unknown role or
    status strings are simply not allowed.
    """
    try:
        key = (Status(from_status), Status(to_status))
        who = Role(role)
        lvl = Level(level) if level is not None else None
    except ValueError:
        return False
    if who not in TRANSITIONS.get(key, frozenset()):
        return False
    return lvl is None or key not in _LEVELS or lvl in _LEVELS[key]


def allowed_transitions(
    role: Role | str, status: Status | str, *, level: Level | str | None = None
) -> tuple[Status, ...]:
    """The statuses `role` may move a case in `status` to, in stage order."""
    targets = [to for to in Status if can_transition(role, status, to, level=level)]
    return tuple(sorted(targets, key=lambda s: (STAGE[s], list(Status).index(s))))


def check_transition(
    role: Role | str, from_status: Status | str, to_status: Status | str, *, level: Level | str | None = None
) -> None:
    """Raise `TransitionError` unless `can_transition`."""
    if not can_transition(role, from_status, to_status, level=level):
        who, old, new = label(role), label(from_status), label(to_status)
        raise TransitionError(
            Message(
                f"{who.zh}不能把办件从“{old.zh}”改为“{new.zh}”",
                f"{who.en} ({role}) may not change a case from {old.en} to {new.en}",
            )
        )
