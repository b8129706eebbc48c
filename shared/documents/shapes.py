"""The shapes of the documents in a village database (文档结构): case, event, material, review.

The `TypedDict`s below are the one definition of each type's fields. `Required` fields are
what every stored document of the type has (the gateway refuses a document without them);
the others are optional on the wire, though the constructors (`build.py`) always write them.
`FIELD_TYPES` is derived from these definitions at import, so the gateway's per-type field
checks (`check_fields`) cannot drift from what the app and the server write.

This module deliberately has no `from __future__ import annotations`: the field types are
read at runtime (`typing.get_type_hints`).
"""

import types
import typing
from collections.abc import Mapping
from typing import Any, Final, Required, TypedDict

from shared.errors import DocumentError
from shared.ids import Kind
from shared.text import Message


class Division(TypedDict):
    """Where a case or material belongs: the village and the township and county containing it."""

    village: str
    township: str
    county: str


class Applicant(TypedDict, total=False):
    name: str
    id_number: str
    phone: str


class MaterialEntry(TypedDict, total=False):
    """One checklist entry of a case: the requirement and the material that meets it."""

    requirement: str
    material_id: str
    source: str  # "captured", "reused" or "generated" (the 申请表 the app filled)


class CaseDoc(TypedDict, total=False):
    """`case:<ULID>` (办件), mutable; `meta.fields` holds each edited field's version vector and HLC."""

    _id: Required[str]
    _rev: str
    type: Required[str]
    item_code: Required[str]
    status: Required[str]
    division: Required[Division]
    situation: str
    applicant: Applicant
    answers: dict[str, Any]
    materials: list[MaterialEntry]
    missing: list[str]
    tracking_code: str
    agent: str
    created_at: str
    updated_at: str
    needs_review: bool
    meta: dict[str, Any]
    signing: dict[str, Any]  # how the applicant signed (shared.signing, ADR 0120)
    form: dict[str, Any]  # {"id", "version"} of the item form `answers` follow (shared.forms, ADR 0132)
    # Server facts (ADR 0105): set by the acceptance write and the server only.
    accepted_at: str
    deadline: str
    paused_days: int
    county_ref: str


class EventDoc(TypedDict, total=False):
    """`event:<case ULID>:<ULID>` (留痕), immutable: who did what to a case, when."""

    _id: Required[str]
    _rev: str
    type: Required[str]
    case_id: Required[str]
    kind: Required[str]
    by: Required[str]
    role: str
    device: str
    device_time: str
    server_time: str  # written by the server only
    data: dict[str, Any]


class MaterialDoc(TypedDict, total=False):
    """`material:<ULID>` (材料): a citizen's reusable document, found by the hash of the ID number."""

    _id: Required[str]
    _rev: str
    type: Required[str]
    kind: Required[str]
    owner_hash: Required[str]
    owner_masked: str
    valid_until: str | None
    division: Division
    created_at: str


class ReviewDoc(TypedDict, total=False):
    """`review:<case ULID>` (复核): the fields of a case a person must decide, with their candidates."""

    _id: Required[str]
    _rev: str
    type: Required[str]
    case_id: Required[str]
    status: Required[str]  # "open" or "decided"
    fields: dict[str, list[Any]]
    sources: dict[str, list[dict[str, Any]]]  # per field: who, which device, when (ADR 0123)
    village: str | None
    township: str | None
    created_at: str
    updated_at: str
    decided_by: str
    decided_at: str
    decision: dict[str, Any]


SHAPES: Final[Mapping[Kind, type]] = {
    Kind.CASE: CaseDoc,
    Kind.EVENT: EventDoc,
    Kind.MATERIAL: MaterialDoc,
    Kind.REVIEW: ReviewDoc,
}
REVIEW_STATUSES: Final = frozenset({"open", "decided"})


def _runtime_types(hint: Any) -> tuple[type, ...]:
    """The JSON value types `isinstance` checks for a field annotation (None is never listed)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return tuple(t for arg in typing.get_args(hint) if arg is not type(None) for t in _runtime_types(arg))
    if typing.is_typeddict(hint) or origin is dict or hint is dict:
        return (dict,)
    if origin is list or hint is list:
        return (list,)
    if hint is Any:
        return (object,)
    return (hint,)


def _field_types(shape: Any) -> tuple[dict[str, tuple[type, ...]], dict[str, tuple[type, ...]]]:
    hints = typing.get_type_hints(shape)
    required_keys: frozenset[str] = shape.__required_keys__
    own = {name: _runtime_types(hint) for name, hint in hints.items()
           if not name.startswith("_") and name != "type"}
    return ({n: t for n, t in own.items() if n in required_keys},
            {n: t for n, t in own.items() if n not in required_keys})


# Per type: (required fields, optional fields) → the JSON types each may have.
FIELD_TYPES: Final[Mapping[Kind, tuple[dict[str, tuple[type, ...]], dict[str, tuple[type, ...]]]]] = {
    kind: _field_types(shape) for kind, shape in SHAPES.items()
}


def field_problem(doc: Mapping[str, Any], kind: Kind) -> DocumentError | None:
    """The first field of `doc` that does not fit its type's shape, or None.

    A required field must be present, of its type and not empty (`""`/null); an optional one,
    when present and not null, of its type. Fields the shape does not name are left alone.
    """
    required, optional = FIELD_TYPES[kind]
    for name, allowed in required.items():
        value = doc.get(name)
        if not isinstance(value, allowed) or value in ("", None):
            return DocumentError(name, Message(f"缺少或错误的字段 {name}",
                                               f"field {name!r} is missing or has the wrong type"))
    for name, allowed in optional.items():
        if name in doc and doc[name] is not None and not isinstance(doc[name], allowed):
            return DocumentError(name, Message(f"字段 {name} 类型错误", f"field {name!r} has the wrong type"))
    return None
