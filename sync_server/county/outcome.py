"""County outcomes (县级办理结果) written into the village database as events and status.

The county's acknowledgement (its case number) and its decisions — approved, rejected,
result ready — each become one immutable event in the case's village database, and the
case's `status` / `county_ref` change through the domain status machine with role
`system`, recorded in `meta.fields` by device `server` so the conflict merge orders them
against offline edits. Applying the same outcome twice changes nothing: the event id is
derived from the county's event id, and a case already in the target status is left alone.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ulid import ULID

from shared.documents import EventKind, event_id, new_event
from shared.edits import SERVER_DEVICE
from shared.status import Role, Status, can_transition
from sync_server.casewriter import CaseBusy, CaseWriter
from sync_server.couch import JSON, Couch
from sync_server.county import CallbackRefused
from sync_server.county.outbox import iso

log = logging.getLogger(__name__)

COUNTY_USER = "county"  # `by` of county events; the county's own handler is in `data.handler`
# A case document can be edited by a device sync at the same moment; a few re-reads settle it.
UPDATE_TRIES = 5


class OutcomeKind(StrEnum):
    """What the county says about a case (each the kind of the event that records it)."""

    ACK = EventKind.COUNTY_ACK.value
    APPROVED = EventKind.APPROVED.value
    REJECTED = EventKind.REJECTED.value
    RESULT_READY = EventKind.RESULT_READY.value


TARGET_STATUS: dict[OutcomeKind, Status | None] = {
    OutcomeKind.ACK: None,
    OutcomeKind.APPROVED: Status.APPROVED,
    OutcomeKind.REJECTED: Status.REJECTED,
    OutcomeKind.RESULT_READY: Status.RESULT_READY,
}


@dataclass(frozen=True)
class Outcome:
    """One statement of the county about one of our cases."""

    kind: OutcomeKind
    case_id: str
    county_ref: str
    county_event_id: str  # unique per statement on the county side: makes re-delivery harmless
    time: datetime  # when the county made it
    handler: str = ""
    office: str = ""
    opinion: str = ""


@dataclass(frozen=True)
class Applied:
    status: str
    event_written: bool
    case_changed: bool


def outcome_event_id(outcome: Outcome) -> str:
    """`event:<case ULID>:<ULID>` with the county's time and a hash of its event id: same outcome, same id."""
    millis = int(outcome.time.timestamp() * 1000)
    digest = hashlib.sha256(f"{outcome.case_id}\n{outcome.kind}\n{outcome.county_event_id}".encode()).digest()
    ulid = ULID.from_bytes(millis.to_bytes(6, "big") + digest[:10])
    return str(event_id(outcome.case_id, ulid))


def outcome_event(outcome: Outcome, now: datetime) -> JSON:
    ulid = outcome_event_id(outcome).rsplit(":", 1)[1]
    return dict(new_event(
        outcome.case_id, ulid, outcome.kind.value, by=COUNTY_USER, role=Role.SYSTEM, device=SERVER_DEVICE,
        device_time=iso(outcome.time), server_time=iso(now),
        data={"county_ref": outcome.county_ref, "county_event_id": outcome.county_event_id,
              "handler": outcome.handler, "office": outcome.office, "opinion": outcome.opinion}))


def changes_for(case: JSON, outcome: Outcome) -> dict[str, object]:
    """The case fields `outcome` changes; `CallbackRefused` 409 when the status machine forbids it."""
    changes: dict[str, object] = {}
    if outcome.county_ref and case.get("county_ref") != outcome.county_ref:
        changes["county_ref"] = outcome.county_ref
    target = TARGET_STATUS[outcome.kind]
    current = str(case.get("status", ""))
    if target is not None and current != target:
        if not can_transition(Role.SYSTEM, current, target):
            raise CallbackRefused(409, "conflict",
                                  f"办件当前状态为 {current}，不能改为 {target} / "
                                  f"the case is {current} and cannot become {target}")
        changes["status"] = target.value
    return changes


async def apply_outcome(couch: Couch, db: str, outcome: Outcome, now: datetime) -> Applied:
    """Write `outcome` into `db`: the event (once), then the case change (once)."""
    case = await couch.get_doc(db, outcome.case_id)
    if case is None:
        raise CallbackRefused(404, "not_found", f"no such case 无此办件: {outcome.case_id}")
    changes_for(case, outcome)  # refuse before writing anything
    if outcome.kind is OutcomeKind.ACK and case.get("county_ref") == outcome.county_ref:
        return Applied(str(case.get("status", "")), False, False)  # acknowledged before
    writer = CaseWriter(couch, db, tries=UPDATE_TRIES)
    written = await writer.add_event(outcome_event(outcome, now))  # False: delivered before

    def edit(current: JSON) -> dict[str, object]:
        changes = changes_for(current, outcome)
        return {**changes, "updated_at": iso(now)} if changes else {}

    try:
        result = await writer.edit(outcome.case_id, edit, now=now, role=Role.SYSTEM, case=case)
    except CaseBusy as exc:
        raise CallbackRefused(503, "service_unavailable",
                              "the case kept changing; try again 办件繁忙，请重试") from exc
    if result is None:
        raise CallbackRefused(404, "not_found", f"case deleted 办件已删除: {outcome.case_id}")
    if result.changed:
        log.info("case %s in %s: %s → %s", outcome.case_id, db, outcome.kind, result.case.get("status"))
    return Applied(str(result.case.get("status", "")), written, result.changed)
