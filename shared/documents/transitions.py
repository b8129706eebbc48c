"""Which statuses a role can reach by its own changes (one device, several offline edits).

`shared.status.can_transition` judges one step; a device that edits a case offline may push
the result of several steps at once, so the gateway asks whether the pushed status is
*reachable*. With the item's handling level the same level rule applies as in the app's
buttons (`allowed_transitions(level=…)`): a township never approves a county item itself nor
forwards a township one.
"""

from __future__ import annotations

from shared.divisions import Level
from shared.status import Role, Status, can_transition


def reachable(role: Role | str, start: Status | str, goal: Status | str, *,
              level: Level | str | None = None) -> bool:
    """Can `role` take a case from `start` to `goal` by changes it may make (for an item of `level`)?"""
    try:
        origin, target = Status(start), Status(goal)
    except ValueError:
        return False
    seen, frontier = {origin}, [origin]
    while frontier:
        current = frontier.pop()
        if current == target:
            return True
        for nxt in Status:
            if nxt not in seen and can_transition(role, current, nxt, level=level):
                seen.add(nxt)
                frontier.append(nxt)
    return False
