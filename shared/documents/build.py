"""Constructors (构造) of the documents, and their readers from JSON.

Every case, event, material and review document is made here, by the app and by the server,
so each type has one shape (`shapes.py`). Pure: the caller passes the ULIDs (it holds the
clock and the random source) and the times, already formatted (`names.iso_utc`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from ulid import ULID

from shared.documents.kinds import EventKind
from shared.documents.names import county_of, event_id, parse_id, review_id, township_of
from shared.documents.shapes import (
    Applicant,
    CaseDoc,
    Division,
    EventDoc,
    MaterialDoc,
    ReviewDoc,
    field_problem,
)
from shared.errors import DocumentError
from shared.ids import Kind
from shared.status import Status
from shared.text import Message


def division_of(village: str) -> Division:
    """`{"village", "township", "county"}` of a 12-digit village code."""
    return {"village": village, "township": township_of(village), "county": county_of(village)}


def new_case(doc_id: str, *, item_code: str, village: str, agent: str, now: str) -> CaseDoc:
    """A fresh draft (草稿) of `item_code` in `village`, by `agent`, at `now` (an ISO-8601 UTC time)."""
    return {
        "_id": doc_id,
        "type": Kind.CASE.value,
        "item_code": item_code,
        "situation": "",
        "division": division_of(village),
        "applicant": Applicant(name="", id_number="", phone=""),
        "answers": {},
        "materials": [],
        "missing": [],
        "status": Status.DRAFT.value,
        "tracking_code": "",
        "agent": agent,
        "created_at": now,
        "updated_at": now,
        "needs_review": False,
        "meta": {"fields": {}},
    }


def new_event(
    case_id: str,
    ulid: ULID | str,
    kind: EventKind | str,
    *,
    by: str,
    role: str,
    device: str,
    device_time: str,
    server_time: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> EventDoc:
    """One immutable event of `case_id`; `server_time` only when the server writes it.

    `ulid` makes the id (`event:<case ULID>:<ulid>`): a writer that must be idempotent derives
    it from what it records, so writing the same step twice writes one document.
    """
    event: EventDoc = {
        "_id": event_id(case_id, ulid),
        "type": Kind.EVENT.value,
        "case_id": case_id,
        "kind": EventKind(kind).value,
        "by": by,
        "role": str(role),
        "device": device,
        "device_time": device_time,
        "data": dict(data or {}),
    }
    if server_time is not None:
        event["server_time"] = server_time
    return event


def new_material(
    doc_id: str,
    *,
    owner_hash: str,
    owner_masked: str,
    kind: str,
    valid_until: str | None,
    division: Mapping[str, Any],
    created_at: str,
) -> MaterialDoc:
    """A citizen's reusable material (without its files: they go in the same write as attachments)."""
    return {
        "_id": doc_id,
        "type": Kind.MATERIAL.value,
        "owner_hash": owner_hash,
        "owner_masked": owner_masked,
        "kind": kind,
        "valid_until": valid_until,
        "division": cast(Division, dict(division)),
        "created_at": created_at,
    }


def new_review(
    case_id: str,
    *,
    fields: Mapping[str, list[Any]],
    division: Mapping[str, Any],
    created_at: str,
    updated_at: str,
    sources: Mapping[str, list[dict[str, Any]]] | None = None,
) -> ReviewDoc:
    """An open review of `case_id`: every field a person must decide, with its candidate values."""
    village, township = division.get("village"), division.get("township")
    return {
        "_id": review_id(case_id),
        "type": Kind.REVIEW.value,
        "case_id": case_id,
        "fields": dict(sorted(fields.items())),
        "sources": dict(sorted((sources or {}).items())),
        "status": "open",
        "village": village if isinstance(village, str) else None,
        "township": township if isinstance(township, str) else None,
        "created_at": created_at,
        "updated_at": updated_at,
    }


def _checked(doc: Any, kind: Kind) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping) or not isinstance(doc.get("_id"), str):
        shapeless = Message("文档必须是带 _id 的对象", "a document must be an object with an _id")
        raise DocumentError("_id", shapeless)
    if parse_id(doc["_id"]).kind is not kind or doc.get("type") != kind.value:
        wrong = Message(f"不是 {kind.value} 文档", f"not a {kind.value} document: {doc['_id']}")
        raise DocumentError("type", wrong)
    problem = field_problem(doc, kind)
    if problem is not None:
        raise problem
    return doc


def case_from_json(doc: Any) -> CaseDoc:
    """`doc` as a case; `DocumentError` when it does not have a case's shape."""
    return cast(CaseDoc, _checked(doc, Kind.CASE))


def event_from_json(doc: Any) -> EventDoc:
    """`doc` as an event; `DocumentError` when it does not have an event's shape."""
    return cast(EventDoc, _checked(doc, Kind.EVENT))


def material_from_json(doc: Any) -> MaterialDoc:
    return cast(MaterialDoc, _checked(doc, Kind.MATERIAL))


def review_from_json(doc: Any) -> ReviewDoc:
    return cast(ReviewDoc, _checked(doc, Kind.REVIEW))


def event_kind(event: Mapping[str, Any]) -> EventKind | None:
    """The kind of a stored event, or None for a kind this version does not know."""
    try:
        return EventKind(str(event.get("kind")))
    except ValueError:
        return None
