"""Recording field edits (字段修改记录) of a case into `meta.fields`, for the conflict merge.

Every change of a case field — by the app, the headless sync or the server — goes through
`record_edit` / `record_changes`, which bump the field's version vector for the editing
device and stamp it with a hybrid logical clock. The format, in the case document:

    "meta": {"fields": {
        "applicant.phone": {"vv": {"tablet-7": 2, "server": 1}, "hlc": "000001795933800000-00000-tablet-7"},
        "status":          {"vv": {"tablet-7": 1}, "hlc": "…"}}}

A field path is a top-level key (`status`, `materials`, `item_code`) or, for a top-level
object, `key.subkey` (`applicant.name`, `answers.income`, `division.village`). Keys starting
with `_` belong to CouchDB and `type`/`meta` are bookkeeping: they are never fields.
Pure: the caller passes the wall time and its device id; nothing is mutated in place.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final, TypedDict

from shared import hlc as hlcs
from shared import versions
from shared.jsontypes import JSON

NOT_FIELDS: Final = frozenset({"type", "meta"})
# The device id of the server's own edits (its key in `meta.fields[path]["vv"]`).
SERVER_DEVICE: Final = "server"


class _Absent:
    """The value of a field path a document does not have (distinct from JSON null)."""

    _instance: _Absent | None = None

    def __new__(cls) -> _Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False

    def __deepcopy__(self, memo: dict[int, Any]) -> _Absent:
        return self


ABSENT: Final = _Absent()


class FieldMeta(TypedDict):
    vv: dict[str, int]
    hlc: str


def field_paths(doc: Mapping[str, Any]) -> set[str]:
    """Every field path of `doc` (see the module docstring)."""
    paths: set[str] = set()
    for key, value in doc.items():
        if key.startswith("_") or key in NOT_FIELDS:
            continue
        if isinstance(value, Mapping) and value and all("." not in sub for sub in value):
            paths.update(f"{key}.{sub}" for sub in value)
        else:
            paths.add(key)
    return paths


def get_path(doc: Mapping[str, Any], path: str) -> Any:
    """The value at `path`, or `ABSENT`."""
    head, _, sub = path.partition(".")
    value = doc.get(head, ABSENT)
    if not sub:
        return value
    if not isinstance(value, Mapping):
        return ABSENT
    return value.get(sub, ABSENT)


def set_path(doc: JSON, path: str, value: Any) -> None:
    """Set (or with `ABSENT`, remove) `path` in `doc` in place — for building a new document."""
    head, _, sub = path.partition(".")
    if not sub:
        if value is ABSENT:
            doc.pop(head, None)
        else:
            doc[head] = copy.deepcopy(value)
        return
    parent = doc.get(head)
    if not isinstance(parent, dict):
        if value is ABSENT:
            return
        parent = {}
        doc[head] = parent
    if value is ABSENT:
        parent.pop(sub, None)
    else:
        parent[sub] = copy.deepcopy(value)


def canonical(value: Any) -> str:
    """A stable text form of a JSON value, for equality and deterministic ordering."""
    if value is ABSENT:
        return "\x00absent"
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def field_meta(doc: Mapping[str, Any], path: str) -> tuple[dict[str, int], hlcs.Hlc | None]:
    """The version vector and HLC recorded for `path` (empty / None when never recorded or malformed)."""
    meta = doc.get("meta")
    fields = meta.get("fields") if isinstance(meta, Mapping) else None
    entry = fields.get(path) if isinstance(fields, Mapping) else None
    if not isinstance(entry, Mapping):
        return {}, None
    try:
        vv = versions.validate(entry.get("vv", {}))
    except versions.VersionVectorError:
        vv = {}
    return vv, hlcs.parse_or_none(entry.get("hlc"))


def latest_hlc(doc: Mapping[str, Any], now_ms: int) -> hlcs.Hlc | None:
    """The newest HLC recorded anywhere in `doc`, each clamped to `now_ms` (bounded drift)."""
    meta = doc.get("meta")
    fields = meta.get("fields") if isinstance(meta, Mapping) else None
    newest: hlcs.Hlc | None = None
    for entry in fields.values() if isinstance(fields, Mapping) else ():
        seen = hlcs.parse_or_none(entry.get("hlc")) if isinstance(entry, Mapping) else None
        if seen is not None:
            seen = hlcs.clamp(seen, now_ms)
            newest = seen if newest is None or seen > newest else newest
    return newest


def record_edits(case: Mapping[str, Any], changes: Mapping[str, Any], *, device: str, wall_ms: int) -> JSON:
    """A copy of `case` with each `path: value` of `changes` set (`ABSENT` removes) and recorded.

    All changes of one call share one HLC: they are one save on one device.
    """
    result: JSON = copy.deepcopy(dict(case))
    if not changes:
        return result
    last = latest_hlc(case, wall_ms)
    stamp = hlcs.tick(last, wall_ms, device).encode()
    meta = result.get("meta")
    meta = dict(meta) if isinstance(meta, Mapping) else {}
    fields = meta.get("fields")
    fields = dict(fields) if isinstance(fields, Mapping) else {}
    for path, value in changes.items():
        _check_path(path)
        vv, _ = field_meta(case, path)
        set_path(result, path, value)
        fields[path] = FieldMeta(vv=versions.increment(vv, device), hlc=stamp)
    meta["fields"] = dict(sorted(fields.items()))
    result["meta"] = meta
    return result


def record_edit(case: Mapping[str, Any], path: str, value: Any, *, device: str, wall_ms: int) -> JSON:
    """A copy of `case` with `path` set to `value` and the edit recorded in `meta.fields`."""
    return record_edits(case, {path: value}, device=device, wall_ms=wall_ms)


def changed_paths(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Field paths whose value differs between two versions of a case, sorted."""
    paths: Iterable[str] = field_paths(before) | field_paths(after)
    return sorted(p for p in paths if canonical(get_path(before, p)) != canonical(get_path(after, p)))


def record_changes(before: Mapping[str, Any], after: Mapping[str, Any], *, device: str, wall_ms: int) -> JSON:
    """`after` with every field that differs from `before` recorded as an edit by `device`.

    For screens that edit a copy of the case and save it whole. `before.meta` is the
    bookkeeping that counts; whatever `after` carries in `meta` is replaced.
    """
    changes = {p: get_path(after, p) for p in changed_paths(before, after)}
    base: JSON = copy.deepcopy(dict(after))
    base["meta"] = copy.deepcopy(before["meta"]) if "meta" in before else {}
    return record_edits(base, changes, device=device, wall_ms=wall_ms)


def _check_path(path: str) -> None:
    head = path.partition(".")[0]
    if not path or head.startswith("_") or head in NOT_FIELDS or path.count(".") > 1:
        raise ValueError(f"not a case field path: {path!r:.60}")
