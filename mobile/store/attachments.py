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
import threading
from collections import OrderedDict
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


def digest_of(data: bytes | bytearray | memoryview) -> str:
    """CouchDB's attachment digest: `md5-` and the base64 of the md5 of the bytes.

    The digest of a large `bytes` object is remembered by identity (ADR 0155): a pull checks
    each attachment it receives against its digest, then hands the same object to the store,
    which takes the digest back (`stored_digest`) instead of hashing the bytes again. Only the
    very object counts — `bytes` is immutable and the memo holds it, so its id cannot name other
    bytes. The memo is bounded (`_MEMO_BYTES`) and emptied after every replicated batch the
    store writes (`forget_digests`), so it holds no scan for long.
    """
    digest = _md5_digest(data)
    if type(data) is bytes and len(data) >= _MEMO_MIN:
        _remember(data, digest)
    return digest


def stored_digest(data: bytes) -> str:
    """`digest_of(data)` for the store: taken back from the memo when this very object was just
    digested (and checked) by whoever received it, computed otherwise; never remembered."""
    if type(data) is bytes and len(data) >= _MEMO_MIN:
        held = _recall(data)
        if held is not None:
            return held
    return _md5_digest(data)


def forget_digests() -> None:
    """Empty the memo of `digest_of` (after a replicated batch: its bytes are stored)."""
    global _memo_size
    with _memo_lock:
        _memo.clear()
        _memo_size = 0


def _md5_digest(data: bytes | bytearray | memoryview) -> str:
    md5 = hashlib.md5(data, usedforsecurity=False).digest()
    return "md5-" + base64.b64encode(md5).decode("ascii")


_MEMO_MIN = 16_384  # smaller contents hash in microseconds: not worth holding
_MEMO_BYTES = 32_000_000  # about 200 scans: more than a pulled batch brings
_memo: OrderedDict[int, tuple[bytes, str]] = OrderedDict()
_memo_size = 0
_memo_lock = threading.Lock()


def _recall(data: bytes) -> str | None:
    """The remembered digest of this very object, forgotten as it is used; None if not held."""
    global _memo_size
    with _memo_lock:
        held = _memo.get(id(data))
        if held is None or held[0] is not data:
            return None
        del _memo[id(data)]
        _memo_size -= len(data)
    return held[1]


def _remember(data: bytes, digest: str) -> None:
    global _memo_size
    with _memo_lock:
        old = _memo.pop(id(data), None)
        if old is not None:
            _memo_size -= len(old[0])
        _memo[id(data)] = (data, digest)
        _memo_size += len(data)
        while _memo_size > _MEMO_BYTES:
            dropped, _ = _memo.popitem(last=False)[1]
            _memo_size -= len(dropped)


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
            digest = stored_digest(data)
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
