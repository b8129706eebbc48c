"""One model of the documents (文档模型) both the app and the server write and read.

    kinds.py        EventKind, the status → event map, the server-only kinds
    shapes.py       CaseDoc, EventDoc, MaterialDoc, ReviewDoc (TypedDicts) and the field checks
                    derived from them
    build.py        new_case / new_event / new_material / new_review, and readers from JSON
    transitions.py  reachable(): several status changes of one role, with the item's level
    names.py        division, database-name, id and time helpers (from shared.divisions,
                    shared.ids, shared.timestamps)

Import from the package: `from shared.documents import EventKind, new_event, reachable`.
"""

from shared.documents.build import (
    case_from_json,
    division_of,
    event_from_json,
    event_kind,
    material_from_json,
    new_case,
    new_event,
    new_material,
    new_review,
    review_from_json,
)
from shared.documents.kinds import EVENT_OF, SERVER_EVENT_KINDS, EventKind, event_kind_of
from shared.documents.names import (
    case_id,
    case_ulid,
    county_of,
    event_id,
    event_prefix,
    iso_utc,
    iso_utc_at,
    material_id,
    parse_id,
    review_id,
    township_of,
    village_db_name,
    village_of_db,
    village_of_db_or_none,
)
from shared.documents.shapes import (
    FIELD_TYPES,
    REVIEW_STATUSES,
    SHAPES,
    Applicant,
    CaseDoc,
    Division,
    EventDoc,
    MaterialDoc,
    MaterialEntry,
    ReviewDoc,
    field_problem,
)
from shared.documents.transitions import reachable

__all__ = [
    "EVENT_OF", "FIELD_TYPES", "REVIEW_STATUSES", "SERVER_EVENT_KINDS", "SHAPES", "Applicant", "CaseDoc",
    "Division", "EventDoc", "EventKind", "MaterialDoc", "MaterialEntry", "ReviewDoc", "case_from_json",
    "case_id", "case_ulid", "county_of", "division_of", "event_from_json", "event_id", "event_kind",
    "event_kind_of", "event_prefix", "field_problem", "iso_utc", "iso_utc_at", "material_from_json",
    "material_id", "new_case", "new_event", "new_material", "new_review", "parse_id", "reachable",
    "review_from_json", "review_id", "township_of", "village_db_name", "village_of_db",
    "village_of_db_or_none",
]
