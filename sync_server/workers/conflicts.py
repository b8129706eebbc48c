"""Conflict resolution (冲突处理), docs/design.md §Conflicts: the server side of `shared/merge.py`.

For a case whose change row carries `_conflicts`:
1. read every leaf (`GET /db/case?open_revs=all`), live ones only;
2. merge them (`shared.merge.merge_leaves`, bounded-drift HLCs against the server's clock);
   the status and the server's own fields merge three-way from the leaves' common ancestor as
   the server stored it, never by the version vectors a device wrote (ADR 0105);
3. write in ONE `_bulk_docs`: the merged case as a child of the winning leaf (attachments
   that only losing leaves had are copied in), a deletion of every losing leaf, the
   `conflict_resolved` event holding every losing value, and — when fields need a person —
   the `review:<case>` document (the case gets `needs_review: true`, recorded as an edit);
4. if the merged write lost a race (a device pushed onto the winner meanwhile), undo: the
   deleted leaves are written back from their old bodies and the event is withdrawn, so
   the next change of the case merges again from complete data.
Idempotent: once merged the case has no `_conflicts`, so replaying the change does nothing.
The follower hands the transition all conflicted cases of a feed batch at once
(`apply_batch`): their leaves come in one `_bulk_get` (by the revs the feed listed) and all
their documents go in one `_bulk_docs` — each case's merged doc and loser deletions still
travel in the same request (ADR 0052).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ulid import ULID

from shared.documents import EventKind, new_event, new_review
from shared.edits import SERVER_DEVICE, record_edit
from shared.errors import DomainError
from shared.ids import parse_id, review_id
from shared.merge import DEFAULT_POLICIES, FieldPolicies, MergeError, MergeResult, merge_leaves, rev_key
from shared.status import Role
from shared.timestamps import iso_utc_at
from sync_server.couch import JSON, Couch, CouchError, doc_path
from sync_server.workers.provenance import candidate_sources
from sync_server.workers.transition import Change

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resolution:
    """What one resolution wrote."""

    case_id: str
    merged_rev: str
    deleted_revs: tuple[str, ...]
    event_id: str
    review_fields: tuple[str, ...]


class ConflictResolution:
    """Transition: merge the conflicting leaves of a case."""

    name = "conflicts"

    def __init__(
        self,
        couch: Couch,
        *,
        clock: Callable[[], float] = time.time,
        policies: FieldPolicies = DEFAULT_POLICIES,
    ) -> None:
        self.couch, self.clock, self.policies = couch, clock, policies

    def filter(self, change: Change) -> bool:
        return change.doc_type == "case" and not change.deleted and bool(change.doc.get("_conflicts"))

    async def apply(self, change: Change) -> None:
        await resolve_case(self.couch, change.db, change.id, now=self.clock(), policies=self.policies)

    async def apply_batch(self, changes: list[Change]) -> None:
        """All conflicted cases of one feed batch (one database) in one `_bulk_get` and one `_bulk_docs`."""
        if changes:
            await resolve_cases(
                self.couch, changes[0].db, [c.doc for c in changes], now=self.clock(), policies=self.policies
            )


async def read_leaves(couch: Couch, db: str, doc_id: str) -> tuple[list[JSON], list[str]]:
    """(live leaves, phantom leaf revs): `open_revs=all` rows of `{"missing": rev}` are leaves the
    server lists without a body — pouchdb-server leaves one behind when it refuses a write that
    carried attachments. They still show in `_conflicts`, so the resolution deletes them too."""
    answer = await couch.get_json(doc_path(db, doc_id), open_revs="all", revs="true")
    rows = [row for row in answer if isinstance(row, dict)]
    live = [row["ok"] for row in rows if "ok" in row and not row["ok"].get("_deleted")]
    phantoms = [str(row["missing"]) for row in rows if "missing" in row]
    return live, phantoms


@dataclass
class _Plan:
    """What one case's resolution writes, in order: merged, losers, event, review?, phantoms."""

    case_id: str
    leaves: list[JSON]
    result: MergeResult
    docs: list[JSON]


async def resolve_case(
    couch: Couch, db: str, case_id: str, *, now: float, policies: FieldPolicies = DEFAULT_POLICIES
) -> Resolution | None:
    """Merge and write one conflicted case; None when it has fewer than two live leaves now."""
    leaves, phantoms = await read_leaves(couch, db, case_id)
    resolutions = await _resolve(couch, db, [(case_id, leaves, phantoms)], now=now, policies=policies)
    if resolutions and resolutions[0] is None:
        raise CouchError(
            409, "conflict", f"case {case_id} changed while merging; merged again on its next change"
        )
    return resolutions[0] if resolutions else None


async def resolve_cases(
    couch: Couch, db: str, cases: list[JSON], *, now: float, policies: FieldPolicies = DEFAULT_POLICIES
) -> list[Resolution | None]:
    """Merge many conflicted cases (their winning revisions with `_conflicts`, as the feed gives them)
    with one `_bulk_get` and one `_bulk_docs`. A case whose merged write lost a race is undone and
    reported as None; its next change merges it again."""
    wanted = [
        {"id": doc["_id"], "rev": rev} for doc in cases for rev in [doc["_rev"], *doc.get("_conflicts", [])]
    ]
    if not wanted:
        return []
    answer = (
        await couch.request("POST", f"/{quote(db, safe='')}/_bulk_get", params={"revs": "true"},
                            json_body={"docs": wanted})
    ).json()
    found: dict[str, tuple[list[JSON], list[str]]] = {doc["_id"]: ([], []) for doc in cases}
    for row in answer.get("results", []):
        live, phantoms = found.setdefault(str(row.get("id")), ([], []))
        for item in row.get("docs", []):
            if "ok" in item and not item["ok"].get("_deleted"):
                live.append(item["ok"])
            elif "error" in item and item["error"].get("error") == "not_found" and item["error"].get("rev"):
                phantoms.append(str(item["error"]["rev"]))
    return await _resolve(
        couch, db, [(cid, live, ph) for cid, (live, ph) in found.items()], now=now, policies=policies
    )


async def _resolve(
    couch: Couch,
    db: str,
    cases: list[tuple[str, list[JSON], list[str]]],
    *,
    now: float,
    policies: FieldPolicies,
) -> list[Resolution | None]:
    plans: list[_Plan] = []
    cleanup: list[JSON] = []
    for case_id, leaves, phantoms in cases:
        tombstones = [{"_id": case_id, "_rev": rev, "_deleted": True} for rev in phantoms]
        if len(leaves) < 2:
            cleanup += tombstones
            continue
        try:
            plans.append(await _plan(couch, db, case_id, leaves, tombstones, now, policies))
        except (DomainError, MergeError) as exc:
            # One bad case (an id that is not ours, unmergeable leaves) must not hold up the batch.
            log.warning("cannot merge %s on %s: %s", case_id, db, type(exc).__name__)
    if cleanup:
        await couch.bulk_docs(db, cleanup)
    if not plans:
        return []
    answers = await couch.bulk_docs(db, [doc for plan in plans for doc in plan.docs])
    resolutions: list[Resolution | None] = []
    offset = 0
    for plan in plans:
        mine, offset = answers[offset : offset + len(plan.docs)], offset + len(plan.docs)
        mine = await _case_answers_in_order(couch, db, plan.case_id, plan.docs, mine)
        resolutions.append(await _check(couch, db, plan, mine))
    return resolutions


async def _case_answers_in_order(
    couch: Couch, db: str, case_id: str, docs: list[JSON], answers: list[JSON]
) -> list[JSON]:
    """`answers` (in document order by id, `Couch.bulk_docs`) with those on the case's own id in order too.

    The merged revision, the deleted losers and the tombstones all write `case_id`, and
    pouchdb-server may swap their answers. Only a failed write makes the order matter (its answer
    names no revision): then the parents of the revisions that were written are read back.
    """
    slots = [n for n, doc in enumerate(docs) if doc["_id"] == case_id]
    rows = [answers[n] for n in slots]
    if len(slots) < 2 or all("rev" in row and not row.get("error") for row in rows):
        return answers
    placed = list(answers)
    ordered = await _by_parent(couch, db, case_id, [docs[n] for n in slots], rows)
    for n, row in zip(slots, ordered, strict=True):
        placed[n] = row
    return placed


async def _by_parent(couch: Couch, db: str, doc_id: str, docs: list[JSON], rows: list[JSON]) -> list[JSON]:
    """`rows` (answers to `docs`, all on `doc_id`) in the order of `docs`, by each written rev's parent."""
    written = [str(row["rev"]) for row in rows if "rev" in row and not row.get("error")]
    parents: dict[str, str] = {}
    if written:
        found = await couch.get_json(doc_path(db, doc_id), open_revs=json.dumps(written), revs="true")
        for item in found if isinstance(found, list) else []:
            body = item.get("ok") if isinstance(item, dict) else None
            revisions = body.get("_revisions") if isinstance(body, dict) else None
            if isinstance(body, dict) and isinstance(revisions, dict) and len(revisions.get("ids", [])) > 1:
                parents[str(body["_rev"])] = f"{revisions['start'] - 1}-{revisions['ids'][1]}"
    by_parent = {parents[str(row.get("rev"))]: row for row in rows if str(row.get("rev")) in parents}
    spare = [row for row in rows if str(row.get("rev")) not in parents]  # the failed ones
    return [by_parent.pop(str(doc.get("_rev")), {}) or spare.pop(0) for doc in docs]


async def _plan(
    couch: Couch,
    db: str,
    case_id: str,
    leaves: list[JSON],
    tombstones: list[JSON],
    now: float,
    policies: FieldPolicies,
) -> _Plan:
    case_ulid = parse_id(case_id).parts[0]
    base = await stored_base(couch, db, case_id, leaves)
    result = merge_leaves(leaves, now_ms=int(now * 1000), policies=policies, base=base)
    merged = result.doc
    if result.review:
        merged = record_edit(merged, "needs_review", True, device=SERVER_DEVICE, wall_ms=int(now * 1000))
    merged["_rev"] = result.winner_rev
    merged["updated_at"] = iso_utc_at(now)
    await _inline_attachments(couch, db, case_id, merged, result)
    docs: list[JSON] = [
        merged,
        *({"_id": case_id, "_rev": rev, "_deleted": True} for rev in result.losing_revs),
        _event(case_id, case_ulid, result, now),
    ]
    if result.review:
        docs.append(await _review(couch, db, case_id, case_ulid, merged, result, now, leaves))
    return _Plan(case_id, leaves, result, docs + tombstones)


def common_ancestor(leaves: list[JSON]) -> str | None:
    """The newest revision every leaf descends from (by their `_revisions`), or None."""
    shared: set[str] | None = None
    for leaf in leaves:
        history = leaf.get("_revisions")
        if not isinstance(history, dict) or not isinstance(history.get("start"), int):
            return None
        start, ids = history["start"], history.get("ids") or []
        revs = {f"{start - n}-{rev_id}" for n, rev_id in enumerate(ids) if isinstance(rev_id, str)}
        shared = revs if shared is None else shared & revs
    return max(shared, key=rev_key) if shared else None


async def stored_base(couch: Couch, db: str, case_id: str, leaves: list[JSON]) -> JSON | None:
    """The leaves' common ancestor as the server stored it; None when there is none or it was
    compacted away (then every leaf's status and server fields count as changes)."""
    rev = common_ancestor(leaves)
    if rev is None:
        return None
    try:
        return await couch.get_doc(db, case_id, rev=rev)
    except CouchError:
        return None


async def _check(couch: Couch, db: str, plan: _Plan, answers: list[JSON]) -> Resolution | None:
    merged_answer, result = answers[0], plan.result
    if "rev" not in merged_answer or merged_answer.get("error"):
        await _undo(couch, db, plan.case_id, plan.leaves, result, answers)
        log.info(
            "case %s changed while merging on %s: undone, merged again on its next change", plan.case_id, db
        )
        return None
    for answer in answers[1:]:
        if answer.get("error"):
            log.warning(
                "resolution of %s: %s not written (%s)", plan.case_id, answer.get("id"), answer.get("error")
            )
    log.info(
        "merged %s on %s: %d leaves, %d fields to review",
        plan.case_id,
        db,
        len(plan.leaves),
        len(result.review),
    )
    event = plan.docs[1 + len(result.losing_revs)]
    return Resolution(
        case_id=plan.case_id,
        merged_rev=merged_answer["rev"],
        deleted_revs=result.losing_revs,
        event_id=event["_id"],
        review_fields=tuple(sorted(result.review)),
    )


def _event(case_id: str, case_ulid: str, result: MergeResult, now: float) -> JSON:
    stamp = iso_utc_at(now)
    return dict(new_event(
        case_id, ULID.from_timestamp(now), EventKind.CONFLICT_RESOLVED, by=SERVER_DEVICE, role=Role.SYSTEM,
        device=SERVER_DEVICE, device_time=stamp, server_time=stamp, data={
            "winner_rev": result.winner_rev,
            "losing_revs": list(result.losing_revs),
            "losing": result.losing,
            "review_fields": sorted(result.review),
            "attachments": {
                name: {"rev": rev, "name": original}
                for name, (rev, original) in result.attachments_from.items()
            },
        },
    ))


async def _review(
    couch: Couch, db: str, case_id: str, case_ulid: str, merged: JSON, result: MergeResult, now: float,
    leaves: list[JSON],
) -> JSON:
    """The `review:<case>` document: open, with the candidates of every field left to decide."""
    rid = review_id(case_ulid)
    stored = await couch.get_doc(db, rid)
    fields: dict[str, list[Any]] = {}
    sources: dict[str, list[JSON]] = {}
    if stored is not None and stored.get("status") == "open" and isinstance(stored.get("fields"), dict):
        fields.update(stored["fields"])
        sources.update(stored.get("sources") or {})
    fields.update(result.review)
    sources.update(candidate_sources(leaves, result.review))  # who, which device, when (provenance.py)
    raw_division = merged.get("division")
    division: JSON = raw_division if isinstance(raw_division, dict) else {}
    created = stored.get("created_at", iso_utc_at(now)) if stored else iso_utc_at(now)
    doc: JSON = dict(new_review(case_id, fields=fields, sources=sources, division=division,
                                created_at=created, updated_at=iso_utc_at(now)))
    if stored is not None:
        doc["_rev"] = stored["_rev"]
    return doc


async def _inline_attachments(couch: Couch, db: str, case_id: str, merged: JSON, result: MergeResult) -> None:
    """Attachments only a losing leaf has are sent with their bytes (a stub must exist on the parent)."""
    for name, (rev, original) in result.attachments_from.items():
        response = await couch.request(
            "GET",
            f"{doc_path(db, case_id)}/{quote(original, safe='')}",
            params={"rev": rev},
            headers={"Accept": "*/*"},
        )
        stub = merged["_attachments"][name]
        merged["_attachments"][name] = {
            "content_type": stub.get("content_type")
            or response.headers.get("content-type", "application/octet-stream"),
            "data": base64.b64encode(response.content).decode("ascii"),
        }


async def _undo(
    couch: Couch, db: str, case_id: str, leaves: list[JSON], result: MergeResult, answers: list[JSON]
) -> None:
    """The merged case was refused: bring back the leaves deleted in the same request, withdraw the event."""
    by_rev = {leaf["_rev"]: leaf for leaf in leaves}
    for rev, answer in zip(result.losing_revs, answers[1:], strict=False):
        if "rev" not in answer or answer.get("error"):
            continue
        body = await couch.get_doc(db, case_id, rev=rev, attachments=True) or by_rev[rev]
        restored = {k: v for k, v in body.items() if not k.startswith("_") or k in ("_id", "_attachments")}
        restored["_rev"] = answer["rev"]
        try:
            await couch.put_doc(db, restored)
        except CouchError as exc:
            log.error("could not restore leaf %s of %s after a failed merge (%s)", rev, case_id, exc.error)
    event_answer = answers[1 + len(result.losing_revs)]
    if "rev" in event_answer:
        await couch.request("DELETE", doc_path(db, event_answer["id"]), params={"rev": event_answer["rev"]})
