"""Server facts (服务器事实) a device may not forge, judged against what the server stores (ADR 0105).

A device edits a case offline, so a pushed revision may sit on an older revision than the one
the server holds now. Ordinary fields stay mergeable (the conflict worker merges them field by
field); these facts may only be what the server stored, or change in the one way the rules allow:

- status: a change (a status other than the one of the revision the device edited) must be
  reachable by the role's own changes from that revision's status *and* from the status of a
  current leaf (the winner or one of its conflicts) — an old revision never opens a path the
  current case has closed. An unchanged status is left to the merge (by the status machine);
- `accepted_at`, `deadline`, `paused_days`, `county_ref`, `needs_review`: a value some stored
  revision (the edited one, the winner, a conflict) holds; only the write that accepts a case
  (from before acceptance to acceptance or later) sets `accepted_at` (not before an earlier
  acceptance, not ahead of the server's clock) and `deadline` (recomputed by
  the deadlines worker from `accepted_at`); a new case has none of them set;
- `meta.fields`: no field's version vector claims more edits by the server (`server`) than a
  stored revision records for that field, so a device cannot outrank a server edit (a review
  decision, a county outcome) by claiming to have seen it;
- `tracking_code`: once a case has one it never changes; a new one must not be registered in
  the tracking index to another case;
- events: never a kind only the server writes, `by` is the pushing user, `role` is the user's
  role, and no `server_time`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from shared.documents import SERVER_EVENT_KINDS, reachable
from shared.edits import SERVER_DEVICE
from shared.jsontypes import JSON
from shared.status import Status
from sync_server.auth.accounts import AccountRole

SERVER_FIELDS: Final = ("accepted_at", "deadline", "paused_days", "county_ref", "needs_review")
BEFORE_ACCEPTANCE: Final = frozenset({Status.DRAFT, Status.SUBMITTED, Status.NEEDS_MATERIALS})
CLOCK_SLACK = 600.0  # seconds a device's clock may run ahead of the server's (the HLC drift bound)
_ISO_DATE_LEN = 10


def refuse(zh: str, en: str) -> str:
    return f"{zh} / {en}"


def check_status(role: AccountRole, status: Status, base: JSON, current: Sequence[JSON], *,
                 level: str | None = None) -> str | None:
    """A status change judged from the edited revision and from the current leaves, for an item of
    `level` (None when the catalog does not know the item: then only the roles' table applies)."""
    before = str(base.get("status", ""))
    if status == before:
        return None  # not changed by this device: the conflict merge orders it by the status machine
    if not reachable(role.value, before, status, level=level):
        return refuse(f"角色 {role.value} 不能把办件从 {before} 改为 {status}",
                      f"role {role.value} may not change a case from {before} to {status}")
    if current and not any(reachable(role.value, str(leaf.get("status", "")), status, level=level)
                           for leaf in current):
        now = ", ".join(sorted({str(leaf.get("status")) for leaf in current}))
        return refuse(f"办件当前为 {now}，角色 {role.value} 不能改为 {status}",
                      f"the case is now {now}: role {role.value} may not change it to {status}")
    return None


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def check_server_fields(doc: JSON, base: JSON | None, current: Sequence[JSON], *,
                        now: float | None) -> str | None:
    """`accepted_at`, `deadline`, `paused_days`, `county_ref`, `needs_review` are what the server stored."""
    if base is None:  # a new case: nothing is accepted, handed off or waiting for review yet
        set_fields = [f for f in SERVER_FIELDS if doc.get(f) not in (None, "", False, 0)]
        if set_fields:
            return refuse(f"新办件不能带服务器字段 {set_fields}",
                          f"a new case cannot carry server fields: {', '.join(set_fields)}")
        return None
    stored = [base, *current]
    # The revision that accepts: from before acceptance to acceptance or a later step (offline, several).
    accepting = base.get("status") in BEFORE_ACCEPTANCE and doc.get("status") not in BEFORE_ACCEPTANCE
    for name in SERVER_FIELDS:
        value = doc.get(name)
        if any(_same(value, held.get(name)) for held in stored):
            continue
        if accepting and name == "accepted_at":
            reason = _check_accepted_at(value, stored, now)
        elif accepting and name == "deadline":
            reason = _check_date(value)
        elif accepting and name == "paused_days" and value in (None, 0):
            reason = None
        else:
            reason = refuse(f"{name} 由服务器决定，不能修改",
                            f"{name} is a server fact and cannot be changed")
        if reason:
            return reason
    return None


def _server_counts(doc: JSON | None) -> dict[str, int]:
    """Per field path, the `server` entry of its version vector (0 when absent or malformed)."""
    meta = doc.get("meta") if doc is not None else None
    fields = meta.get("fields") if isinstance(meta, dict) else None
    counts: dict[str, int] = {}
    for path, entry in fields.items() if isinstance(fields, dict) else ():
        vv = entry.get("vv") if isinstance(entry, dict) else None
        count = vv.get(SERVER_DEVICE) if isinstance(vv, dict) else None
        if isinstance(count, int) and not isinstance(count, bool) and count > 0:
            counts[str(path)] = count
    return counts


def check_server_counters(doc: JSON, stored: Sequence[JSON]) -> str | None:
    """No field claims more server edits than a stored revision of the case records."""
    held: dict[str, int] = {}
    for revision in stored:
        for path, count in _server_counts(revision).items():
            held[path] = max(held.get(path, 0), count)
    forged = sorted(path for path, count in _server_counts(doc).items() if count > held.get(path, 0))
    if forged:
        return refuse(f"版本向量中的服务器计数不符 {forged}",
                      f"the version vector claims server edits the server never made: {', '.join(forged)}")
    return None


def _instant(value: Any) -> float | None:
    if not isinstance(value, str) or not value.endswith("Z"):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC).timestamp()


def _check_accepted_at(value: Any, stored: Iterable[JSON], now: float | None) -> str | None:
    moment = _instant(value)
    if moment is None:
        return refuse("accepted_at 必须是 UTC 时间", "accepted_at must be an ISO-8601 UTC time")
    earlier = [t for held in stored if (t := _instant(held.get("accepted_at"))) is not None]
    floor = max(earlier, default=float("-inf"))
    if moment < floor or (now is not None and moment > now + CLOCK_SLACK):
        return refuse("受理时间不合理", "accepted_at must not be before the case's earlier acceptance "
                      "nor ahead of the server's clock")
    return None


def _check_date(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) != _ISO_DATE_LEN:
        return refuse("deadline 必须是日期", "deadline must be a date (YYYY-MM-DD)")
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return refuse("deadline 必须是日期", "deadline must be a date (YYYY-MM-DD)")
    return None


def check_tracking_code(doc: JSON, stored: Sequence[JSON], owner: tuple[str, str] | None,
                        db: str) -> str | None:
    """A case keeps its tracking code; a new code must not belong to another case (tracking index)."""
    code = doc.get("tracking_code") or ""
    held = {str(s.get("tracking_code")) for s in stored if s.get("tracking_code")}
    if held:
        if held != {code}:
            return refuse("办件查询码不能修改", "a case's tracking_code cannot be changed")
        return None
    if code and owner is not None and owner != (db, doc["_id"]):
        return refuse("查询码已属于另一办件", "this tracking_code belongs to another case")
    return None


def check_event_author(doc: JSON, role: AccountRole, user: str | None) -> str | None:
    """Who wrote an event is the pushing user, in their role; server-only kinds and times are refused."""
    if doc.get("kind") in SERVER_EVENT_KINDS:
        return refuse(f"{doc['kind']} 事件只能由服务器写入",
                      f"{doc['kind']} events are written by the server only")
    if "server_time" in doc:
        return refuse("server_time 由服务器写入", "server_time is written by the server only")
    if user is None:  # judged without a user (the rules' own tests): authorship is not known
        return None
    if doc.get("role") != role.value:
        return refuse("事件角色必须是当前用户的角色", f"an event's role must be the user's role {role.value}")
    if doc.get("by") != user:
        return refuse("事件作者必须是当前用户", "an event's by must be the pushing user")
    return None
