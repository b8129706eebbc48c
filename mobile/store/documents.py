"""A document as written to the store: its id, the rev it edits, its body and its specials.

CouchDB reserves top-level fields starting with `_`. Writable ones are `_id`, `_rev`,
`_deleted`, `_attachments` and, on the replication path, `_revisions`; the ones a read
adds (`_conflicts`, `_deleted_conflicts`, `_revs_info`, `_local_seq`) are accepted and
dropped so that a document read with `conflicts=True` can be written back as it is; any
other `_` field is refused, as CouchDB does ("Bad special document member").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mobile.store.errors import BadRequest

LOCAL_PREFIX = "_local/"
_WRITABLE = frozenset({"_id", "_rev", "_deleted", "_attachments", "_revisions"})
_READ_ONLY = frozenset({"_conflicts", "_deleted_conflicts", "_revs_info", "_local_seq"})
_RESERVED_ID_PREFIXES = ("_design/", LOCAL_PREFIX)
_SPECIALS = tuple(sorted(_WRITABLE | _READ_ONLY))


@dataclass(frozen=True, slots=True)
class Incoming:
    """A document to write, split into its special fields and its body."""

    id: str
    rev: str | None
    deleted: bool
    body: dict[str, Any]
    attachments: object
    revisions: Mapping[str, Any] | None


def is_local(doc_id: str) -> bool:
    return doc_id.startswith(LOCAL_PREFIX)


def check_id(doc_id: object) -> str:
    """The `_id` if CouchDB would accept it, else BadRequest."""
    if not isinstance(doc_id, str) or not doc_id:
        raise BadRequest("Document id must be a non-empty string")
    if doc_id.startswith("_") and not doc_id.startswith(_RESERVED_ID_PREFIXES):
        raise BadRequest("Only reserved document ids may start with underscore.")
    refuse_surrogates(doc_id)
    return doc_id


def parse(doc: object, default_id: str | None = None) -> Incoming:
    """Validate and split a document; `default_id` serves a document without `_id`."""
    if type(doc) is not dict and not isinstance(doc, Mapping):
        raise BadRequest("Document must be a JSON object")
    doc_id = check_id(doc.get("_id", default_id))
    rev = doc.get("_rev")
    if rev is not None and not isinstance(rev, str):
        raise BadRequest("Invalid rev format")
    deleted = doc.get("_deleted", False)
    if not isinstance(deleted, bool):
        raise BadRequest("_deleted must be a boolean")
    revisions = doc.get("_revisions")
    if revisions is not None and type(revisions) is not dict and not isinstance(revisions, Mapping):
        raise BadRequest("Invalid _revisions")
    body = _plain_body(doc) if type(doc) is dict else None
    if body is not None:
        return Incoming(doc_id, rev, deleted, body, doc.get("_attachments"), revisions)
    # the fields that are not specials, copied at C speed; only the few others are looked at
    body = {key: value for key, value in doc.items() if type(key) is str and key[:1] != "_"}
    if len(body) != len(doc):
        for key in [k for k in doc if k not in body]:
            if not isinstance(key, str):
                raise BadRequest("Document keys must be strings")
            if key.startswith("_"):
                if key not in _WRITABLE and key not in _READ_ONLY:
                    raise BadRequest(f"Bad special document member: {key}")
            else:  # a str subclass as a key: keep the document's order, the slow way
                body = {k: v for k, v in doc.items() if isinstance(k, str) and not k.startswith("_")}
    return Incoming(doc_id, rev, deleted, body, doc.get("_attachments"), revisions)


def _plain_body(doc: dict[Any, Any]) -> dict[str, Any] | None:
    """The body of a plain dict whose only `_` keys are known specials (what a pull and the app
    write), without a Python step per field: a C copy, the specials it holds popped, one C pass
    over the keys left (ADR 0155); None for anything else, which the general loop handles."""
    body = doc.copy()
    for key in [k for k in _SPECIALS if k in body]:
        del body[key]
    try:
        keys = "\0" + "\0".join(body)  # a key that starts with "_" shows as "\0_"
    except TypeError:
        return None  # a key that is not a str: the general loop refuses it
    if "\0_" in keys:
        return None  # an unknown special (or "\0_" inside a key): the general loop decides
    return body


def refuse_surrogates(text: str) -> None:
    """A lone UTF-16 surrogate survives JSON's `\\uXXXX` escape but not UTF-8, which SQLite
    stores: refuse the one document here rather than fail the whole batch at COMMIT. Encoding
    is the check (a C pass, ~20 times cheaper than a regular expression over a body)."""
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(
            "Document holds a lone UTF-16 surrogate (\\ud800-\\udfff), which UTF-8 cannot store"
        ) from None
