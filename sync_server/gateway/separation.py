"""Separation of intake and approval (受审分离) where writes are judged (ADR 0122).

The rule is `shared.separation`; this module gives it the server's facts:

- who accepted: the `by` of the `accepted` events the server stores for the case (a pushed
  event's `by` is the pushing user, `facts.check_event_author`), never a field the device sends;
- whether the item separates: `separate_intake_approval` of every item code the case has had in
  a stored revision or the pushed one, read from `ot-catalog` — separated if any of them says so,
  or if the item is not in the catalog, so changing `item_code` in the same push gains nothing.

Only pushed case revisions that could decide a case (a target status of approved or later, or
rejected) of a case the server holds are looked up: two small reads per such batch, none for
the ordinary push of new applications.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from shared.catalog import item_doc_id
from shared.ids import parse_id
from shared.jsontypes import JSON
from shared.separation import acceptors, separation_refusal
from shared.status import Status
from sync_server.auth.accounts import AccountRole
from sync_server.couch import Couch
from sync_server.provision import CATALOG_DB

DECIDING = frozenset({Status.APPROVED, Status.RESULT_READY, Status.DELIVERED, Status.REJECTED})


@dataclass(frozen=True)
class Acceptance:
    """What the server stores about a case's intake: who accepted it, and whether its item separates."""

    accepted_by: frozenset[str]
    separate: bool


def may_decide(doc: JSON) -> bool:
    """A pushed case revision whose status could be a decision (looked up before judging)."""
    return doc.get("status") in DECIDING


def check_separation(doc: JSON, role: AccountRole, user: str | None, before: JSON,
                     acceptance: Acceptance | None) -> str | None:
    """Why this case revision breaks 受审分离, or None.

    `acceptance` None means nothing was looked up: judged as separated with no acceptance record.
    `user` None (the rules' own tests without a user) skips the rule, as it skips event authorship.
    """
    if user is None:
        return None
    held = acceptance or Acceptance(frozenset(), True)
    refusal = separation_refusal(user, role.value, str(before.get("status", "")), str(doc.get("status", "")),
                                 accepted_by=held.accepted_by, separate=held.separate)
    return str(refusal) if refusal else None


async def load_acceptance(couch: Couch, db: str,
                          cases: Sequence[tuple[str, Sequence[JSON]]]) -> dict[str, Acceptance]:
    """For each (case id, its revisions: pushed and stored), the acceptance facts the server holds."""
    if not cases:
        return {}
    codes = sorted({str(rev.get("item_code")) for _, revs in cases for rev in revs if rev.get("item_code")})
    separate = await _item_settings(couch, codes)
    found: dict[str, Acceptance] = {}
    for case_id, revisions in cases:
        ulid = parse_id(case_id).parts[0]
        events = await _events(couch, db, ulid)
        item_codes = {str(r.get("item_code")) for r in revisions if r.get("item_code")}
        found[case_id] = Acceptance(acceptors(events),
                                    any(separate.get(code, True) for code in item_codes) or not item_codes)
    return found


async def _events(couch: Couch, db: str, case_ulid: str) -> list[JSON]:
    prefix = f"event:{case_ulid}:"
    rows: list[Any] = (await couch.get_json(f"/{quote(db, safe='')}/_all_docs", include_docs=True,
                                            startkey=prefix, endkey=prefix + "\ufff0"))["rows"]
    return [row["doc"] for row in rows if isinstance(row.get("doc"), dict)]


async def _item_settings(couch: Couch, codes: list[str]) -> dict[str, bool]:
    """`separate_intake_approval` of each item in `ot-catalog` (absent: separated, the default)."""
    if not codes:
        return {}
    answer = await couch.post_json(f"/{CATALOG_DB}/_all_docs", {"keys": [item_doc_id(c) for c in codes]},
                                   params={"include_docs": True})
    settings: dict[str, bool] = {}
    for row in answer["rows"]:
        doc = row.get("doc")
        if not isinstance(doc, dict):
            continue
        settings[str(doc.get("code"))] = doc.get("separate_intake_approval") is not False
    return settings
