"""Query columns (查询索引) of each document's winning revision, for the app's screens.

The case list of a township (20,000 cases) must open at once, so screens never scan JSON:
every write updates one `doc_index` row in the same transaction, from the winning revision
(a deleted winner removes the row). Text search matches the applicant's name (substring),
the pinyin initials of the name (prefix, "张三" → "zs"), its full pinyin (substring, spaces
ignored: "zhangsan", "san"), the ID number (full or its tail) and the tracking code (any
part of 4 characters or more: "BW8K"; spaces, dashes and case ignored).
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from pypinyin import Style, lazy_pinyin

from mobile.store.errors import BadRequest

INDEX_COLUMNS = (
    "id",
    "type",
    "status",
    "village",
    "updated_at",
    "name",
    "initials",
    "spelled",
    "id_number",
    "tracking_code",
    "needs_review",
    "case_id",
    "id_tail",
    "owner_hash",
)
# Columns `find_docs` may filter on: the same names as the document fields they come from.
FILTERS = ("status", "village", "case_id", "needs_review", "tracking_code", "id_number", "owner_hash")
MAX_LIMIT = 1000  # a page bigger than this is a bug in the caller, not a screen

_NOT_CODE = re.compile(r"[^0-9A-Z]")
_ID_TAIL = re.compile(r"^[0-9]{3,17}[0-9Xx]?$")
_LETTERS = re.compile(r"^[A-Za-z]+$")
_HAS_LATIN = re.compile(r"[A-Za-z]").search


@functools.lru_cache(maxsize=8192)  # whole names repeat: a case's next revisions, common names (ADR 0155)
def initials_of(name: str) -> str:
    """Pinyin initials of a name, lower case, letters only: "张三" → "zs"."""
    if not _HAS_LATIN(name):  # the usual Chinese name: one initial per character
        return "".join(map(_initial, name))
    out: list[str] = []
    in_word = False  # a Latin word counts once, by its first letter, like a syllable
    for ch in name:
        latin = ch.isascii() and ch.isalpha()
        if not (latin and in_word):
            out.append(_initial(ch))
        in_word = latin
    return "".join(out)


@functools.lru_cache(maxsize=8192)  # a few thousand characters make up nearly all names
def _initial(ch: str) -> str:
    """One character's initial; per character, since whole names rarely repeat but characters do."""
    if ch.isascii():
        return ch.lower() if ch.isalpha() else ""
    letters = lazy_pinyin(ch, style=Style.FIRST_LETTER, errors="default")
    return "".join(c for part in letters for c in part[:1].lower() if "a" <= c <= "z")


@functools.lru_cache(maxsize=8192)
def spelled_of(name: str) -> str:
    """Full pinyin of a name, lower case, letters only: "张德福" → "zhangdefu"."""
    return "".join(map(_spelled, name))


@functools.lru_cache(maxsize=8192)
def _spelled(ch: str) -> str:
    if ch.isascii():
        return ch.lower() if ch.isalpha() else ""
    return "".join(c for part in lazy_pinyin(ch, errors="default") for c in part.lower() if "a" <= c <= "z")


def normalize_code(code: str) -> str:
    """Tracking codes as typed or read aloud: drop spaces and dashes, upper case."""
    return _NOT_CODE.sub("", code.upper())


def index_row(doc_id: str, body: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    """The `doc_index` row of a winning revision, or None when it is deleted."""
    if body is None:
        return None
    get = body.get  # written out rather than through helpers: this runs for every document pulled
    division, applicant = get("division"), get("applicant")
    village = name = id_number = None
    if type(division) is dict or isinstance(division, Mapping):
        village = division.get("village")
    if type(applicant) is dict or isinstance(applicant, Mapping):
        name, id_number = applicant.get("name"), applicant.get("id_number")
    if not isinstance(name, str):
        name = None
    initials, spelled = (initials_of(name), spelled_of(name)) if name else (None, None)
    id_upper = id_number.upper() if isinstance(id_number, str) and id_number else None
    tracking, doc_type, status = get("tracking_code"), get("type"), get("status")
    updated_at, case_id, owner_hash = get("updated_at"), get("case_id"), get("owner_hash")
    return (
        doc_id,
        doc_type if isinstance(doc_type, str) else None,
        status if isinstance(status, str) else None,
        village if isinstance(village, str) else None,
        updated_at if isinstance(updated_at, str) else None,
        name,
        initials,
        spelled,
        id_upper,
        normalize_code(tracking) if isinstance(tracking, str) and tracking else None,
        1 if get("needs_review") is True else 0,
        case_id if isinstance(case_id, str) else None,
        id_upper[::-1] if id_upper is not None else None,
        owner_hash if isinstance(owner_hash, str) else None,
    )


def update_index(cx: sqlite3.Connection, doc_id: str, body: Mapping[str, Any] | None) -> None:
    row = index_row(doc_id, body)
    if row is None:
        cx.execute("DELETE FROM doc_index WHERE id = ?", (doc_id,))
        return
    marks = ", ".join("?" * len(INDEX_COLUMNS))
    cx.execute(f"INSERT OR REPLACE INTO doc_index ({', '.join(INDEX_COLUMNS)}) VALUES ({marks})", row)


def write_index(
    cx: sqlite3.Connection,
    rows: Mapping[str, tuple[Any, ...] | None],
    old_rows: Mapping[str, tuple[Any, ...] | None] | None = None,
) -> None:
    """Many documents' rows at once (`index_row` results by id; None deletes the row).

    `old_rows` are the rows these documents have now, where the caller read them (None: no
    row): a row that did not change is not written, and a changed one is updated in only the
    columns that changed, so SQLite leaves alone every index on the others — a next revision
    of a case usually changes its status and date, and `INSERT OR REPLACE` would rewrite the
    row in all ten of them (ADR 0155). Documents not in `old_rows` are replaced whole.
    """
    old_rows = old_rows or {}
    gone: list[tuple[str]] = []
    kept: list[tuple[Any, ...]] = []
    changed: dict[tuple[int, ...], list[list[Any]]] = {}
    for doc_id, row in rows.items():
        old = old_rows.get(doc_id, _UNKNOWN)
        if row is None:
            if old is not None:
                gone.append((doc_id,))
        elif old is None or old is _UNKNOWN:
            kept.append(row)
        elif old != row:
            columns = tuple(i for i in range(1, len(row)) if old[i] != row[i])
            changed.setdefault(columns, []).append([*(row[i] for i in columns), doc_id])
    if gone:
        cx.executemany("DELETE FROM doc_index WHERE id = ?", gone)
    if kept:
        marks = ", ".join("?" * len(INDEX_COLUMNS))
        cx.executemany(
            f"INSERT OR REPLACE INTO doc_index ({', '.join(INDEX_COLUMNS)}) VALUES ({marks})", kept
        )
    for columns, values in changed.items():
        assignments = ", ".join(f"{INDEX_COLUMNS[i]} = ?" for i in columns)
        cx.executemany(f"UPDATE doc_index SET {assignments} WHERE id = ?", values)


_UNKNOWN: tuple[Any, ...] = ("unknown",)  # not read by the caller: replace the row whole


def where_clause(
    doc_type: str,
    *,
    status: str | Sequence[str] | None = None,
    village: str | None = None,
    text: str | None = None,
    needs_review: bool | None = None,
    **filters: Any,
) -> tuple[str, list[Any]]:
    """SQL condition and parameters for a list screen's filters."""
    parts: list[str] = ["type = ?"]
    params: list[Any] = [doc_type]
    if isinstance(status, str):
        parts.append("status = ?")
        params.append(status)
    elif status is not None:
        statuses = list(status)
        parts.append(f"status IN ({', '.join('?' * len(statuses))})" if statuses else "0")
        params.extend(statuses)
    if village is not None:
        parts.append("village = ?")
        params.append(village)
    if needs_review is not None:
        # a literal, not a parameter: SQLite picks a partial index only for a visible 1
        parts.append("needs_review = 1" if needs_review else "needs_review = 0")
    for key, value in filters.items():
        if key not in FILTERS:
            raise BadRequest(f"Unknown filter {key!r}")
        if key == "id_number":  # indexed only reversed, for the tail search
            parts.append("id_tail = ?")
            params.append(str(value).upper()[::-1])
        else:
            parts.append(f"{key} = ?")
            params.append(value)
    if text is not None and text.strip():
        clause, text_params = _text_clause(doc_type, text.strip())
        parts.append(clause)
        params.extend(text_params)
    return " AND ".join(parts), params


def _text_clause(doc_type: str, text: str) -> tuple[str, list[Any]]:
    """Rows matching a search box: a union of one indexed look-up per kind of match.

    The name needs a substring scan, done on the (type, name) index; initials and the ID
    number's tail are index ranges (the tail on the reversed number), the code an equality.
    """
    options: list[str] = []
    params: list[Any] = []
    if not any(ch.isdigit() for ch in text):  # names hold no digits: spare the scan
        options.append("SELECT rowid FROM doc_index WHERE type = ? AND name LIKE ? ESCAPE '\\'")
        params.extend([doc_type, f"%{_escape(text)}%"])
    if _LETTERS.match(text):
        options.append("SELECT rowid FROM doc_index WHERE type = ? AND initials >= ? AND initials < ?")
        params.extend([doc_type, *_prefix_range(text.lower())])
    pinyin = text.replace(" ", "").lower()
    if len(pinyin) >= 2 and _LETTERS.match(pinyin):  # "zhangdefu", "zhang de fu", "defu"
        options.append("SELECT rowid FROM doc_index WHERE type = ? AND spelled LIKE ?")
        params.extend([doc_type, f"%{pinyin}%"])
    if _ID_TAIL.match(text):
        options.append("SELECT rowid FROM doc_index WHERE id_tail >= ? AND id_tail < ?")
        params.extend(_prefix_range(text.upper()[::-1]))
    code = normalize_code(text)
    if len(code) >= 4:  # a whole code, or the part of it the caller remembers ("BW8K")
        options.append("SELECT rowid FROM doc_index WHERE type = ? AND tracking_code LIKE ?")
        params.extend([doc_type, f"%{code}%"])
    if not options:
        return "0", []
    return "rowid IN (" + " UNION ".join(options) + ")", params


def _prefix_range(prefix: str) -> tuple[str, str]:
    """Bounds of the strings starting with an ASCII `prefix`, for an index range scan."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def summary(row: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    """A `doc_index` row as a dict, without the derived initials."""
    out = dict(zip(INDEX_COLUMNS, row, strict=True))
    out.pop("initials")
    out.pop("spelled")
    out.pop("id_tail")
    if out["owner_hash"] is None:
        out.pop("owner_hash")
    out["needs_review"] = bool(out["needs_review"])
    return out


def find(
    cx: sqlite3.Connection,
    doc_type: str,
    *,
    limit: int,
    offset: int,
    descending: bool = True,
    **filters: Any,
) -> list[dict[str, Any]]:
    """Summaries of matching documents by `updated_at` then id (ULIDs: creation order)."""
    clause, params = where_clause(doc_type, **filters)
    limit = max(0, min(limit, MAX_LIMIT))
    direction = "DESC" if descending else "ASC"
    sql = (
        f"SELECT {', '.join(INDEX_COLUMNS)} FROM doc_index WHERE {clause} "
        f"ORDER BY updated_at {direction}, id {direction} LIMIT ? OFFSET ?"
    )
    return [summary(r) for r in cx.execute(sql, [*params, limit, max(0, offset)])]


def count(cx: sqlite3.Connection, doc_type: str, **filters: Any) -> int:
    clause, params = where_clause(doc_type, **filters)
    return int(cx.execute(f"SELECT COUNT(*) FROM doc_index WHERE {clause}", params).fetchone()[0])
