"""Which cases go to the county (转报条件): forwarded, complete and free of conflicts.

The status machine (`shared/status.py`) lets only township staff move an accepted case to
`forwarded`, and only for county-level items: forwarding (转报) is the person's decision
that this accepted case goes up. The outbox then hands it off once it is also complete
(nothing left on the one-time list of missing materials) and free of conflicts (no open
review, no conflicting revisions) — a case waiting for a person's conflict decision is
never sent. A case that already holds a county case number (`county_ref`) is not sent again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.status import Status

HANDOFF_STATUSES = frozenset({Status.FORWARDED})


def not_ready_reason(case: Mapping[str, Any]) -> str | None:
    """None when `case` may be handed to the county now, else why not (for the outbox entry)."""
    if case.get("type") != "case" or case.get("_deleted"):
        return "not a case"
    if case.get("status") not in HANDOFF_STATUSES:
        return f"status is {case.get('status')}, not forwarded"
    if case.get("needs_review"):
        return "waiting for a conflict review 等待冲突审核"
    if case.get("_conflicts"):
        return "conflicting revisions not yet merged 冲突尚未合并"
    if case.get("missing"):
        return "materials still missing 材料不全"
    return None


def handoff_ready(case: Mapping[str, Any]) -> bool:
    """Should `case` be enqueued? Ready, and not already holding a county case number.

    The worker itself checks only `not_ready_reason`: an entry re-sent after a crash between
    writing the county number and marking the entry acked must go out again (idempotently).
    """
    return not_ready_reason(case) is None and not case.get("county_ref")
