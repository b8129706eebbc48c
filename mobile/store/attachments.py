"""Attachments (附件): content stored once by digest, referenced by revisions.

A revision's `_attachments` map names to `AttachmentRef` (digest, content type, length,
revpos — the generation that last changed the content). The bytes live once per digest,
so a scan kept through ten edits, or the same photo on two documents, costs its size once.
Digests use CouchDB's form `md5-<base64 of the md5>`, so stubs received from a server can
be checked against what this store holds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mobile.store.errors import BadRequest, MissingStub

DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    """One attachment of one revision, without its bytes."""

    name: str
    digest: str
    content_type: str
    length: int
    revpos: int

    def stub(self) -> dict[str, Any]:
        return {
            "content_type": self.content_type,
            "digest": self.digest,
            "length": self.length,
            "revpos": self.revpos,
            "stub": True,
        }

    def inline(self, data: bytes) -> dict[str, Any]:
        return {
            "content_type": self.content_type,
            "digest": self.digest,
            "length": self.length,
            "revpos": self.revpos,
            "data": base64.b64encode(data).decode("ascii"),
        }


@dataclass(frozen=True, slots=True)
class ResolvedAttachments:
    """The refs a new revision will hold, and the contents it brings that may be new."""

    refs: dict[str, AttachmentRef]
    contents: dict[str, bytes]


def digest_of(data: bytes) -> str:
    """CouchDB's attachment digest: `md5-` and the base64 of the md5 of the bytes."""
    md5 = hashlib.md5(data, usedforsecurity=False).digest()
    return "md5-" + base64.b64encode(md5).decode("ascii")


def decode_data(value: object, name: str) -> bytes:
    """Bytes of an inline attachment: raw bytes as given, or a base64 string decoded."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest(f"Invalid attachment data for {name}") from exc
    raise BadRequest(f"Invalid attachment data for {name}")


def resolve(
    entries: object,
    *,
    new_pos: int,
    parent_refs: Mapping[str, AttachmentRef],
    stored_length: Callable[[str], int | None],
    new_edits: bool,
) -> ResolvedAttachments:
    """Turn a document's `_attachments` into refs for a revision at generation `new_pos`.

    A stub keeps the content it names: with `new_edits` (an edit made here) it is looked up
    by name in the parent revision, like CouchDB; on the replication path by its digest in
    the content table, since the parent may be a revision this store never had.
    """
    if entries is None:
        return ResolvedAttachments({}, {})
    if not isinstance(entries, Mapping):
        raise BadRequest("_attachments must be an object")
    refs: dict[str, AttachmentRef] = {}
    contents: dict[str, bytes] = {}
    for name, entry in entries.items():
        if not isinstance(name, str) or not name or not isinstance(entry, Mapping):
            raise BadRequest(f"Invalid attachment {name!r}")
        content_type = entry.get("content_type") or DEFAULT_CONTENT_TYPE
        if not isinstance(content_type, str):
            raise BadRequest(f"Invalid content_type for {name}")
        if "data" in entry:
            data = decode_data(entry["data"], name)
            digest = digest_of(data)
            contents[digest] = data
            revpos = new_pos if new_edits else _revpos(entry, new_pos)
            refs[name] = AttachmentRef(name, digest, content_type, len(data), revpos)
        elif entry.get("stub"):
            refs[name] = _resolve_stub(name, entry, parent_refs, stored_length, contents, new_edits, new_pos)
        else:
            raise BadRequest(f"Attachment {name} has neither data nor stub")
    return ResolvedAttachments(refs, contents)


def _resolve_stub(
    name: str,
    entry: Mapping[str, Any],
    parent_refs: Mapping[str, AttachmentRef],
    stored_length: Callable[[str], int | None],
    contents: Mapping[str, bytes],
    new_edits: bool,
    new_pos: int,
) -> AttachmentRef:
    if new_edits:
        parent = parent_refs.get(name)
        if parent is None:
            raise MissingStub(f"Invalid attachment stub in document for {name}")
        return parent
    digest = entry.get("digest")
    if not isinstance(digest, str):
        raise BadRequest(f"Attachment stub {name} has no digest")
    length = len(contents[digest]) if digest in contents else stored_length(digest)
    if length is None:
        raise MissingStub(f"Invalid attachment stub in document for {name}")
    content_type = entry.get("content_type") or DEFAULT_CONTENT_TYPE
    return AttachmentRef(name, digest, str(content_type), length, _revpos(entry, new_pos))


def _revpos(entry: Mapping[str, Any], default: int) -> int:
    """The revpos a replicated attachment arrives with, kept exactly as sent.

    0 is accepted: Apache CouchDB stored attachments uploaded without `revpos` as `revpos: 0`,
    and it matches later stubs by (name, revpos), so "repairing" it here would make every
    later push of the document fail with `missing_stub` (ADR 0106).
    """
    revpos = entry.get("revpos", default)
    if not isinstance(revpos, int) or isinstance(revpos, bool) or revpos < 0:
        raise BadRequest("Invalid attachment revpos")
    return revpos
