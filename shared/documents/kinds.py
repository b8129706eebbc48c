"""Event kinds (事件类型): what one audit step of a case records.

The values are the strings stored in `event:` documents since the first release, so stored
data reads unchanged. `EVENT_OF` is the event a status change writes (the app's buttons, the
server's county outcomes and citizen confirmations); `SERVER_EVENT_KINDS` are the kinds only
the server writes, which the gateway refuses from a device.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final

from shared.status import Status


class EventKind(StrEnum):
    """The kind of an event (docs/design.md §Documents)."""

    CREATED = "created"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    MATERIALS_REQUESTED = "materials_requested"
    REJECTED = "rejected"
    FORWARDED = "forwarded"
    COUNTY_ACK = "county_ack"
    APPROVED = "approved"
    RESULT_READY = "result_ready"
    DELIVERED = "delivered"
    WITHDRAWN = "withdrawn"
    RATED = "rated"
    CONFLICT_RESOLVED = "conflict_resolved"
    REVIEW_DECIDED = "review_decided"


# The event each status change writes.
EVENT_OF: Final[Mapping[Status, EventKind]] = {
    Status.SUBMITTED: EventKind.SUBMITTED,
    Status.ACCEPTED: EventKind.ACCEPTED,
    Status.NEEDS_MATERIALS: EventKind.MATERIALS_REQUESTED,
    Status.REJECTED: EventKind.REJECTED,
    Status.FORWARDED: EventKind.FORWARDED,
    Status.APPROVED: EventKind.APPROVED,
    Status.RESULT_READY: EventKind.RESULT_READY,
    Status.DELIVERED: EventKind.DELIVERED,
    Status.WITHDRAWN: EventKind.WITHDRAWN,
}

# Kinds only the server writes: ratings, county acknowledgements, merges, review decisions.
SERVER_EVENT_KINDS: Final = frozenset(
    {EventKind.RATED, EventKind.COUNTY_ACK, EventKind.CONFLICT_RESOLVED, EventKind.REVIEW_DECIDED}
)


def event_kind_of(status: Status | str) -> EventKind:
    """The kind of the event that records a change to `status` (KeyError for draft)."""
    return EVENT_OF[Status(status)]
