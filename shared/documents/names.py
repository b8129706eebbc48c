"""Names of things a document points at: divisions, databases, ids, times.

One place for the rules other modules used to rebuild by hand (`village[:9]`, `"ot-v-" + …`,
`case_id.removeprefix("case:")`): they are defined in `shared.divisions`, `shared.ids` and
`shared.timestamps` and re-exported here with the few helpers that were missing.
"""

from __future__ import annotations

from shared.divisions import (
    DB_PREFIX,
    Level,
    ancestors,
    division_level,
    is_within,
    parent_division,
    validate_division_code,
    village_db_name,
    village_of_db,
)
from shared.errors import DivisionError, IdentifierError
from shared.ids import DocId, Kind, ParsedId, case_id, event_id, is_id_of, material_id, parse_id, review_id
from shared.text import Message
from shared.timestamps import ISO_UTC, iso_utc, iso_utc_at

__all__ = [
    "DB_PREFIX", "ISO_UTC", "DocId", "Kind", "Level", "ParsedId", "ancestors", "case_id", "case_ulid",
    "county_of", "division_level", "event_id", "event_prefix", "is_id_of", "is_within", "iso_utc",
    "iso_utc_at", "material_id", "parent_division", "parse_id", "review_id", "township_of",
    "validate_division_code", "village_db_name", "village_of_db", "village_of_db_or_none",
]

_COUNTY_DIGITS = 6
_TOWNSHIP_DIGITS = 9


def county_of(code: str) -> str:
    """The 6-digit county of a county, township or village code."""
    return validate_division_code(code)[:_COUNTY_DIGITS]


def township_of(code: str) -> str:
    """The 9-digit township of a township or village code; raise for a county."""
    if division_level(code) is Level.COUNTY:
        raise DivisionError(Message(f"县级代码没有乡镇：{code}", f"A county code has no township: {code}"))
    return code[:_TOWNSHIP_DIGITS]


def village_of_db_or_none(name: str) -> str | None:
    """The village code of `ot-v-<code>`, or None for any other database name."""
    try:
        return village_of_db(name)
    except DivisionError:
        return None


def case_ulid(doc_id: str) -> str:
    """The case ULID of a case, event or review id (raise `IdentifierError` for others)."""
    ulid = parse_id(doc_id).case_ulid
    if ulid is None:
        raise IdentifierError(
            Message(f"不是办件相关的标识：{doc_id!r}", f"Not a case, event or review id: {doc_id!r}")
        )
    return ulid


def event_prefix(case: str) -> str:
    """`event:<case ULID>:`, the start of every event id of the case (for `_all_docs` ranges)."""
    return f"{Kind.EVENT.value}:{case_ulid(case) if ':' in case else case}:"
