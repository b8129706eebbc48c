"""Write rules (写入校验) for a document a device sends into a village database.

`check_document` returns why a document is refused (Chinese / English), or None. It is a
pure function of the document, the writer's role, the database's village and what the
server already holds (`Stored`), so every rule is tested without a server:

- id and type: `case:`, `event:`, `material:` and (township staff only) `review:` ids of the
  domain core's shape, `type` matching the prefix; no `_design/`, no `_local/` in a batch;
  no top-level `_` fields beyond CouchDB's own;
- a case's `division` is exactly the database's village (and its township and county);
- schema of each type: the fields `shared.documents` defines for it (`field_problem`);
- status: a new case starts as draft or submitted; a changed status must be reachable from
  the status of the revision the device edited (the nearest ancestor the server holds,
  else the stored winner) *and* from a current leaf by changes the role may make, for the
  stored item's handling level (`Stored.item_level`): the rule of the app's buttons;
- separation of intake and approval (`separation.py`, ADR 0122): who accepted a case does
  not approve or refuse it when its item says so;
- server facts (`facts.py`, ADR 0105): accepted_at, deadline, paused_days, county_ref,
  needs_review, the tracking code and event authorship are what the server stored;
- events and materials are immutable: only revision 1, never a second revision, and one copy
  per batch (`one_revision_each`: two revision-1 leaves would both pass alone);
- deletions (`_deleted` exactly true) only of cases and reviews, only by township staff;
- no string with a lone UTF-16 surrogate anywhere in a document;
- attachments only on cases and materials, JPEG/PNG/WebP/PDF by content and by an allow-listed
  declared type (stored as its canonical name), ≤ 5 MB; a stub only for an attachment the
  server stores under that name with the same digest, type and length.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
import pybase64

from shared.documents import (
    REVIEW_STATUSES,
    EventKind,
    case_id,
    case_ulid,
    division_of,
    field_problem,
    village_db_name,
)
from shared.errors import IdentifierError
from shared.ids import Kind, parse_id
from shared.jsontypes import JSON as JSON
from shared.jsontypes import utf8_encodable
from shared.signing import signing_problem
from shared.status import Status
from sync_server.auth.accounts import AccountRole
from sync_server.gateway.answers import FormBook, check_answers
from sync_server.gateway.facts import (
    check_event_author,
    check_server_counters,
    check_server_fields,
    check_status,
    check_tracking_code,
    refuse,
)
from sync_server.gateway.separation import Acceptance, check_separation
from sync_server.gateway.sniff import SNIFF_BYTES, check_attachment, parse_type

COUCH_FIELDS = frozenset({"_id", "_rev", "_revisions", "_deleted", "_attachments", "_conflicts"})
NEW_CASE_STATUSES = frozenset({Status.DRAFT, Status.SUBMITTED})
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_EVENT_KINDS = frozenset(kind.value for kind in EventKind)
_REV = re.compile(r"^[1-9][0-9]{0,9}-[0-9a-zA-Z]{1,64}$")
_REV_HASH = re.compile(r"^[0-9a-zA-Z]{1,64}$")


@dataclass(frozen=True)
class Stored:
    """What the server holds under the document's id."""

    rev: str | None = None  # the winning revision, None when the id was never written
    deleted: bool = False
    doc: JSON | None = None  # the winning revision's body (None when deleted or absent)
    ancestor: JSON | None = None  # the nearest ancestor of the pushed revision the server holds
    conflicts: tuple[JSON, ...] = ()  # the winner's live conflicting leaves
    # (database, case id) the tracking index gives the pushed tracking code to, when looked up
    tracking_owner: tuple[str, str] | None = None
    # the catalog's handling level of the stored case's item, when looked up and known
    item_level: str | None = None
    acceptance: Acceptance | None = None  # who accepted the case and whether its item separates (受审分离)

    @property
    def exists(self) -> bool:
        return self.rev is not None

    @property
    def current(self) -> tuple[JSON, ...]:
        """The live leaves now: the winner and its conflicts."""
        return ((self.doc,) if self.doc is not None else ()) + self.conflicts


@lru_cache(maxsize=16_384)
def kind_of(doc_id: str) -> Kind | None:
    """The kind of one of our ids, None for any other id. Remembered: the rules and the look-ups
    of one write ask it of each document four to six times."""
    try:
        return parse_id(doc_id).kind
    except IdentifierError:
        return None


def has_lone_surrogate(value: Any) -> bool:
    """A string (value or key) holding half of a UTF-16 pair, which no UTF-8 encoder writes."""
    try:
        orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: a lone surrogate, or a value orjson does not encode
        pass
    else:
        return False  # orjson encodes only strings that are valid UTF-8, i.e. hold no lone surrogate
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not utf8_encodable(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def check_document(doc: Any, role: AccountRole, village: str, stored: Stored, *,
                   new_edits: bool = True, multipart: bool = False, user: str | None = None,
                   now: float | None = None, forms: FormBook | None = None) -> str | None:
    """Why `doc` may not be written into the village's database, or None.

    `new_edits=False`: `_rev` is the revision being stored (replication), not its parent.
    `multipart`: the body is multipart/related, so `follows` attachments are checked by the caller.
    `user`: the pushing user (events are theirs); `now`: the server's clock (acceptance times).
    `forms`: the form versions the batch's cases name (`gateway.answers`, checks their answers).
    Attachment content types are rewritten to their canonical allow-listed names.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("_id"), str):
        return refuse("文档必须是带 _id 的对象", "a document must be an object with an _id")
    if has_lone_surrogate(doc):
        return refuse("文档含有不成对的代理字符",
                      "the document holds a lone UTF-16 surrogate (\\ud800-\\udfff)")
    doc_id: str = doc["_id"]
    if doc_id.startswith(("_design/", "_local/")):
        return refuse("不能写入设计文档或本地文档",
                      f"{doc_id.split('/')[0]} documents cannot be written here")
    extra = sorted(k for k in doc if k.startswith("_") and k not in COUCH_FIELDS)
    if extra:
        return refuse(f"不允许的字段 {extra}", f"reserved fields not allowed: {', '.join(extra)}")
    kind = kind_of(doc_id)
    if kind is None:
        return refuse("文档标识不合法", f"id {doc_id!r} is not a case:, event:, material: or review: id")
    reason = _check_revision(doc, new_edits)
    if reason:
        return reason
    if kind is Kind.REVIEW and role is not AccountRole.TOWNSHIP_STAFF:
        return refuse("只有乡镇工作人员可以写复核记录", "only township staff write review documents")
    deleted = doc.get("_deleted", False)
    if not isinstance(deleted, bool):  # CouchDB engines delete on any truthy value
        return refuse("_deleted 只能是 true 或 false", "_deleted must be true or false")
    if deleted:
        return _check_deletion(kind, role)
    if doc.get("type") != kind.value:
        return refuse("type 与标识不符", f"type must be {kind.value!r} for id {doc_id}")
    if kind in (Kind.EVENT, Kind.MATERIAL):
        reason = _check_immutable(doc, kind, stored, new_edits)
        if reason:
            return reason
        if stored.exists and not new_edits and doc.get("_rev") == stored.rev:
            return None  # the stored revision again: CouchDB keeps what it has
    if kind is Kind.CASE:
        reason = _check_case(doc, role, village, stored, now, user) or check_answers(doc, forms, now)
    elif kind is Kind.EVENT:
        reason = _check_event(doc, role, user)
    elif kind is Kind.MATERIAL:
        reason = _check_material(doc)
    else:
        reason = _check_review(doc)
    if reason:
        return reason
    return check_inline_attachments(doc, kind, multipart=multipart, stored=stored)


def one_revision_each(docs: Sequence[Any], verdicts: Sequence[str | None]) -> list[str | None]:
    """`verdicts` with every later copy of an event or material the batch already writes refused.

    Each document is judged alone against what the server holds, so two revision-1 leaves of one
    new event in one batch would both pass and the immutable event would have two versions. The
    first accepted one is written; a replicator never sends one document twice in one batch.
    """
    seen: set[str] = set()
    judged = list(verdicts)
    for n, doc in enumerate(docs):
        if judged[n] is not None or not isinstance(doc, dict):
            continue
        doc_id = str(doc.get("_id"))
        kind = kind_of(doc_id)  # a document judged valid has one of our ids
        if kind not in (Kind.EVENT, Kind.MATERIAL):
            continue
        if doc_id in seen:
            judged[n] = refuse(f"{kind.value} 只能有一个版本，同一批次中重复出现",
                               f"{kind.value} documents have a single revision: {doc_id} is twice "
                               "in the batch")
        seen.add(doc_id)
    return judged


def _check_revision(doc: JSON, new_edits: bool) -> str | None:
    """A malformed `_rev` makes CouchDB refuse the whole batch, so it is refused here per document."""
    rev = doc.get("_rev")
    if rev is None:
        if new_edits:
            return None
        return refuse("复制写入需要 _rev", "a replicated document (new_edits: false) needs its _rev")
    if not isinstance(rev, str) or not _REV.match(rev):
        return refuse("_rev 格式错误", f"malformed _rev {rev!r}")
    revisions = doc.get("_revisions")
    if revisions is not None:
        if not isinstance(revisions, dict):
            return refuse("_revisions 格式错误", "_revisions must be an object")
        start, ids = revisions.get("start"), revisions.get("ids")
        if (not isinstance(start, int) or not isinstance(ids, list) or not ids
                or not all(isinstance(i, str) and _REV_HASH.match(i) for i in ids)
                or f"{start}-{ids[0]}" != rev):
            return refuse("_revisions 与 _rev 不符", "_revisions does not match _rev")
    return None


def _check_deletion(kind: Kind, role: AccountRole) -> str | None:
    if kind in (Kind.CASE, Kind.REVIEW) and role is AccountRole.TOWNSHIP_STAFF:
        return None
    return refuse("不能删除此文档", f"{kind.value} documents cannot be deleted by {role.value}")


def _check_immutable(doc: JSON, kind: Kind, stored: Stored, new_edits: bool) -> str | None:
    rev = doc.get("_rev")
    if stored.exists and not new_edits and rev == stored.rev:
        return None  # the same revision replicated again (a retried batch): harmless
    if stored.exists:
        return refuse(f"{kind.value} 一经写入不可修改", f"{kind.value} documents are immutable once written")
    if rev is not None and (new_edits or not str(rev).startswith("1-")):
        return refuse(f"{kind.value} 不可修改", f"{kind.value} documents have a single revision (got {rev})")
    return None


def _fields(doc: JSON, kind: Kind) -> str | None:
    problem = field_problem(doc, kind)
    return None if problem is None else refuse(problem.message.zh, problem.message.en)


def _check_case(doc: JSON, role: AccountRole, village: str, stored: Stored, now: float | None,
                user: str | None) -> str | None:
    reason = _fields(doc, Kind.CASE)
    if reason:
        return reason
    problem = signing_problem(doc["signing"]) if doc.get("signing") is not None else None
    if problem:
        return refuse(*problem)
    expected = division_of(village)
    if {k: doc["division"].get(k) for k in expected} != expected:
        return refuse(f"办件区划必须是本村 {village}",
                      f"the case's division must be this database's village {village}")
    try:
        status = Status(doc["status"])
    except ValueError:
        return refuse("未知的办件状态", f"unknown status {doc['status']!r}")
    # The revision the device edited (the nearest ancestor the server holds, else the winner).
    before = stored.ancestor if stored.ancestor is not None else stored.doc
    current = stored.current
    reason = check_tracking_code(doc, [s for s in (before, *current) if s is not None],
                                 stored.tracking_owner, village_db_name(village))
    if reason:
        return reason
    reason = check_server_counters(doc, [s for s in (before, *current) if s is not None])
    if reason:
        return reason
    if before is None:
        if status not in NEW_CASE_STATUSES:
            return refuse("新办件只能是草稿或已提交",
                          f"a new case starts as draft or submitted, not {status}")
        return check_server_fields(doc, None, (), now=now)
    return (check_status(role, status, before, current, level=stored.item_level)
            or check_separation(doc, role, user, before, stored.acceptance)
            or check_server_fields(doc, before, current, now=now))


def _check_event(doc: JSON, role: AccountRole, user: str | None) -> str | None:
    reason = _fields(doc, Kind.EVENT)
    if reason:
        return reason
    if doc["kind"] not in _EVENT_KINDS:  # a timeline, the deadlines and the county read only these
        return refuse(f"未知的事件类型 {doc['kind']!r}", f"unknown event kind {doc['kind']!r}")
    if doc["case_id"] != case_id(case_ulid(doc["_id"])):
        return refuse("事件的 case_id 与标识不符", "the event's case_id does not match its id")
    return check_event_author(doc, role, user)


def _check_material(doc: JSON) -> str | None:
    reason = _fields(doc, Kind.MATERIAL)
    if reason:
        return reason
    if not _HEX64.match(doc["owner_hash"]):
        return refuse("owner_hash 必须是 SHA-256 十六进制", "owner_hash must be a SHA-256 hex digest")
    return None


def _check_review(doc: JSON) -> str | None:
    reason = _fields(doc, Kind.REVIEW)
    if reason:
        return reason
    if doc["case_id"] != case_id(case_ulid(doc["_id"])):
        return refuse("复核记录的 case_id 与标识不符", "the review's case_id does not match its id")
    if doc["status"] not in REVIEW_STATUSES:
        return refuse("复核状态必须是 open 或 decided", "review status must be open or decided")
    return None


def check_inline_attachments(doc: JSON, kind: Kind, *, multipart: bool = False,
                             stored: Stored | None = None) -> str | None:
    """Attachments in a JSON body: stubs must match what is stored, base64 `data` is checked,
    `follows` parts are checked later (their declared type here). Declared types are rewritten to
    their canonical allow-listed names, so nothing the device typed reaches a header."""
    attachments = doc.get("_attachments")
    if attachments is None:
        return None
    if not isinstance(attachments, dict):
        return refuse("_attachments 必须是对象", "_attachments must be an object")
    if attachments and kind not in (Kind.CASE, Kind.MATERIAL):
        return refuse("只有办件和材料可以带附件", f"{kind.value} documents cannot carry attachments")
    for name, att in attachments.items():
        if not isinstance(att, dict):
            return refuse("附件格式错误", f"attachment {name!r} must be an object")
        if att.get("stub") is True:
            reason = _check_stub(name, att, stored or Stored())
            if reason:
                return reason
            continue
        declared = att.get("content_type")
        canonical = parse_type(declared)
        if canonical is None:
            return refuse(f"附件 {name} 的类型不在允许列表",
                          f"attachment {name!r}: content type {str(declared)[:60]!r} is not "
                          "image/jpeg, image/png, image/webp or application/pdf")
        att["content_type"] = canonical
        if multipart and att.get("follows") is True:
            continue
        data = att.get("data")
        if not isinstance(data, str):
            return refuse("附件缺少内容", f"attachment {name!r} has neither data nor stub")
        if len(data) > (5 * 1024 * 1024 * 4) // 3 + 8:  # base64 of 5 MB, checked before decoding
            return check_attachment(name, canonical, b"", 5 * 1024 * 1024 + 1)
        try:
            raw = pybase64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return refuse("附件不是有效的 base64", f"attachment {name!r} is not valid base64")
        reason = check_attachment(name, canonical, raw[:SNIFF_BYTES], len(raw))
        if reason:
            return reason
    return None


def _check_stub(name: str, stub: JSON, stored: Stored) -> str | None:
    """A stub names an attachment the server stores: same name, digest, type and length."""
    held = [s.get("_attachments", {}).get(name) for s in (stored.ancestor, *stored.current) if s is not None]
    for att in (a for a in held if isinstance(a, dict)):
        if all(key not in stub or stub[key] == att.get(key) for key in ("digest", "content_type", "length")):
            return None
    return refuse(f"附件 {name} 与服务器保存的不符", f"attachment stub {name!r} does not match an attachment "
                  "the server stores for this document (digest, content_type, length)")
