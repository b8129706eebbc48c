"""Field-by-field merge (冲突合并) of the conflicting leaf revisions of a case (docs/design.md §Conflicts).

Input: every live leaf revision of one case (as `GET /db/doc?open_revs=all` returns them,
attachments as stubs). Output: one merged document to write as a child of CouchDB's winning
leaf, the values that lost (for the `conflict_resolved` event), and the fields a person
must decide (for the `review:<case>` document).

For each field path (see `shared/edits.py`):
1. values equal in every leaf → kept;
2. otherwise the leaves whose version vector no other leaf's is strictly after (the
   concurrent frontier) are the candidates; one distinct candidate value → taken (a change
   made on one side only, or the same change made on both);
3. different concurrent values → the field's policy: `lww` (newest HLC, clamped to the
   server's time — bounded drift, see `shared/hlc.py`), `review` (a provisional value is kept
   and the candidates go to review), `status` (later stage of the status machine wins; two
   different outcomes → review), `union` (lists unioned, nothing captured is lost).
With `base` (the leaves' common ancestor, as the server stored it) the status and the server's
own fields (`SERVER_PATHS`) are merged three-way instead, never by the leaves' version vectors,
which a device writes itself: a leaf changed the field when its value differs from the base's;
one change is taken, several are ordered by the status machine (status), the earliest
acceptance (`accepted_at`), any review flag (`needs_review`) or the winner. Without a base every
leaf's value counts as a change (ADR 0105).
Attachments are unioned by name; when two leaves hold different files under one name, the
winner keeps the name and the other file is renamed `stem~<8 hex>.ext` (references to it in
that leaf's `materials` follow). Pure and deterministic: the leaves' order does not matter.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from shared import hlc as hlcs
from shared import versions
from shared.edits import ABSENT, FieldMeta, canonical, field_meta, field_paths, get_path, set_path
from shared.jsontypes import JSON
from shared.status import STAGE, Status

# CouchDB bookkeeping of the leaves that must not be copied into the merged revision.
_DROPPED: Final = ("_conflicts", "_deleted_conflicts", "_revisions", "_revs_info", "_local_seq")


class Policy(StrEnum):
    """How concurrent different values of one field are resolved."""

    LWW = "lww"
    REVIEW = "review"
    STATUS = "status"
    UNION = "union"


class MergeError(ValueError):
    """Leaves that cannot be merged: none, different ids, or not case documents."""


@dataclass(frozen=True)
class FieldPolicies:
    """Field policies as data: exact paths first, then money-like answers, then the default."""

    exact: Mapping[str, Policy]
    # Whole top-level objects whose every subfield takes one policy (e.g. the division).
    prefixes: Mapping[str, Policy] = field(default_factory=dict)
    money_answers: frozenset[str] = frozenset()
    money_markers: tuple[str, ...] = ()
    default: Policy = Policy.LWW

    def policy(self, path: str) -> Policy:
        if path in self.exact:
            return self.exact[path]
        head, _, sub = path.partition(".")
        if head == "answers" and sub and (
                sub in self.money_answers or any(m in sub.lower() for m in self.money_markers)):
            return Policy.REVIEW
        return self.prefixes.get(head, self.default)

    def with_money_answers(self, keys: frozenset[str]) -> FieldPolicies:
        """These policies plus answer keys the catalog declares as money."""
        return FieldPolicies(self.exact, self.prefixes, self.money_answers | keys, self.money_markers,
                             self.default)


DEFAULT_POLICIES: Final = FieldPolicies(
    exact={
        "applicant.name": Policy.REVIEW,
        "applicant.id_number": Policy.REVIEW,
        "item_code": Policy.REVIEW,
        "situation": Policy.REVIEW,
        "status": Policy.STATUS,
        "materials": Policy.UNION,
        "applicant.phone": Policy.LWW,
        "notes": Policy.LWW,
    },
    # Moving a case to another village is never a guess.
    prefixes={"division": Policy.REVIEW},
    # Answer keys that carry money (amounts, incomes, fees, subsidies) — English and pinyin-free Chinese.
    money_markers=("amount", "income", "money", "fee", "salary", "subsidy", "price", "cost",
                   "金额", "收入", "补贴", "费", "工资", "价"),
)


# Fields only the server decides (deadlines worker, county outcomes, reviews) or checks
# (`accepted_at`, at acceptance): merged from the stored base, not by device version vectors.
SERVER_PATHS: Final = frozenset({"accepted_at", "deadline", "paused_days", "county_ref", "needs_review"})
# `base` of `merge_leaves` when the caller has none to give: version vectors decide every field.
TRUST_VERSION_VECTORS: Final[Mapping[str, Any]] = {"\x00trust": True}


@dataclass(frozen=True)
class Stages:
    """The status machine as the merge sees it: a rank per status and, for outcomes, their branch."""

    ranks: Mapping[str, int]
    # Statuses that decide a case; two candidates on different branches cannot both be right.
    outcomes: Mapping[str, str]

    def rank(self, status: str) -> int:
        return self.ranks.get(status, -1)

    def outcome(self, status: str) -> str | None:
        return self.outcomes.get(status)


# Ranks from the status machine (`shared/status.py`). Outcome branches: a decided case is
# approved (and then result_ready, delivered), rejected or withdrawn; candidates on two
# different branches — e.g. withdrawn vs approved — cannot both be right and go to review.
STAGES: Final = Stages(
    ranks={str(s): rank for s, rank in STAGE.items()},
    outcomes={Status.APPROVED: "approved", Status.RESULT_READY: "approved", Status.DELIVERED: "approved",
              Status.REJECTED: "rejected", Status.WITHDRAWN: "withdrawn"},
)


@dataclass(frozen=True)
class MergeResult:
    """The merged case and what the worker must write alongside it."""

    doc: JSON  # `_rev` is the winning leaf's rev; `_attachments` are stubs
    winner_rev: str
    losing_revs: tuple[str, ...]
    losing: dict[str, list[JSON]]  # path → [{"rev", "value"}] for every value not kept
    review: dict[str, list[Any]]  # path → candidate values, newest first
    # merged attachment name → (rev, name) of the leaf holding its bytes, when not the winner
    attachments_from: dict[str, tuple[str, str]]


@dataclass(frozen=True)
class _Leaf:
    rev: str
    doc: Mapping[str, Any]


def rev_key(rev: str) -> tuple[int, str]:
    """CouchDB's winner order among live leaves: higher position, then higher rev hash."""
    pos, _, digest = rev.partition("-")
    return (int(pos) if pos.isdigit() else 0, digest)


def merge_leaves(leaves: Sequence[Mapping[str, Any]], *, now_ms: int,
                 policies: FieldPolicies = DEFAULT_POLICIES, stages: Stages = STAGES,
                 base: Mapping[str, Any] | None = TRUST_VERSION_VECTORS) -> MergeResult:
    """Merge the live leaf revisions of one case; see the module docstring.

    `base`: the common ancestor the server stores (None: unknown); left out, version vectors
    decide the status and server fields too (the merge's own tests, devices).
    """
    ordered = _ordered(leaves)
    winner = ordered[0]
    renames = _attachment_renames(ordered)
    attachments, attachments_from = _union_attachments(ordered, renames)
    views = [_Leaf(leaf.rev, _with_renamed_materials(leaf.doc, renames.get(leaf.rev, {})))
             for leaf in ordered]

    merged: JSON = {k: copy.deepcopy(v) for k, v in winner.doc.items() if k not in _DROPPED}
    merged["_attachments"] = attachments
    if not attachments:
        del merged["_attachments"]
    fields_meta: dict[str, FieldMeta] = dict(_meta_fields(winner.doc))
    losing: dict[str, list[JSON]] = {}
    review: dict[str, list[Any]] = {}
    paths = sorted(set().union(*(field_paths(leaf.doc) for leaf in views)))
    for path in paths:
        policy = policies.policy(path)
        if base is not TRUST_VERSION_VECTORS and (policy is Policy.STATUS or path in SERVER_PATHS):
            value, candidates = _merge_from_base(views, path, base, policy, stages)
        else:
            value, candidates = _merge_field(views, path, policy, now_ms, stages)
        set_path(merged, path, value)
        if candidates:
            review[path] = candidates
        meta = _merged_meta(views, path, now_ms)
        if meta is not None:
            fields_meta[path] = meta
        if policy is not Policy.UNION:
            lost = _losing(views, path, value)
            if lost:
                losing[path] = lost
    if fields_meta:
        merged["meta"] = {**dict(merged.get("meta") or {}), "fields": dict(sorted(fields_meta.items()))}
    if review:
        merged["needs_review"] = True
    return MergeResult(doc=merged, winner_rev=winner.rev, losing_revs=tuple(leaf.rev for leaf in ordered[1:]),
                       losing=losing, review=review, attachments_from=attachments_from)


def _ordered(leaves: Sequence[Mapping[str, Any]]) -> list[_Leaf]:
    live = [leaf for leaf in leaves if not leaf.get("_deleted")]
    if not live:
        raise MergeError("no live leaf revision to merge")
    ids = {leaf.get("_id") for leaf in live}
    if len(ids) != 1:
        raise MergeError("leaves of different documents cannot be merged")
    if any(not isinstance(leaf.get("_rev"), str) for leaf in live):
        raise MergeError("every leaf needs its _rev")
    unique = {str(leaf["_rev"]): leaf for leaf in live}
    return [_Leaf(rev, unique[rev]) for rev in sorted(unique, key=rev_key, reverse=True)]


def _merge_field(leaves: list[_Leaf], path: str, policy: Policy, now_ms: int,
                 stages: Stages) -> tuple[Any, list[Any]]:
    """The merged value of `path` and, when a person must decide, the candidate values."""
    values = [get_path(leaf.doc, path) for leaf in leaves]
    if len({canonical(v) for v in values}) == 1:
        return values[0], []
    if policy is Policy.UNION:
        return _union_lists(values), []
    vvs = [field_meta(leaf.doc, path)[0] for leaf in leaves]
    frontier = versions.maximal(vvs)
    newest_first = sorted(frontier, key=lambda i: _lww_key(leaves, i, path, now_ms), reverse=True)
    distinct: list[Any] = []
    for i in newest_first:
        if all(canonical(values[i]) != canonical(d) for d in distinct):
            distinct.append(values[i])
    if len(distinct) == 1 or policy is Policy.LWW:
        return distinct[0], []
    if policy is Policy.STATUS:
        return _merge_status(distinct, stages)
    return distinct[0], _candidates(distinct)


def _merge_from_base(leaves: list[_Leaf], path: str, base: Mapping[str, Any] | None, policy: Policy,
                     stages: Stages) -> tuple[Any, list[Any]]:
    """Three-way: the values that differ from the stored base are the changes (ADR 0105)."""
    values = [get_path(leaf.doc, path) for leaf in leaves]
    before = get_path(base, path) if base is not None else None
    changed: list[Any] = []
    for value in values:
        text = canonical(value)
        if (base is None or text != canonical(before)) and all(text != canonical(c) for c in changed):
            changed.append(value)
    if not changed:
        return before, []
    if len(changed) == 1:
        return changed[0], []
    if policy is Policy.STATUS:
        return _merge_status(changed, stages)
    if path == "accepted_at":
        return min(changed, key=lambda v: (not isinstance(v, str), str(v))), []
    if path == "needs_review":
        return any(v is True for v in changed), []
    return changed[0], []


def _candidates(distinct: list[Any]) -> list[Any]:
    """Review candidates as JSON: a field removed on one side is offered as null."""
    return [None if d is ABSENT else copy.deepcopy(d) for d in distinct]


def _merge_status(candidates: list[Any], stages: Stages) -> tuple[Any, list[Any]]:
    """Later stage wins; two different outcomes (e.g. withdrawn vs approved) go to review."""
    outcomes = {stages.outcome(c) for c in candidates if isinstance(c, str)} - {None}
    if len(outcomes) > 1:
        return candidates[0], _candidates(candidates)
    best = max(candidates, key=lambda c: stages.rank(c) if isinstance(c, str) else -1)
    return best, []


def _lww_key(leaves: list[_Leaf], i: int, path: str, now_ms: int) -> tuple[int, int, int, str, int, str]:
    _, stamp = field_meta(leaves[i].doc, path)
    # Leaves are in winner order, so a smaller index is the CouchDB winner's side of a tie.
    tie = (-i, canonical(get_path(leaves[i].doc, path)))
    if stamp is None:
        return (0, 0, 0, "", *tie)
    seen = hlcs.clamp(stamp, now_ms)
    return (1, seen.millis, seen.counter, seen.device, *tie)


def _merged_meta(leaves: list[_Leaf], path: str, now_ms: int) -> FieldMeta | None:
    metas = [field_meta(leaf.doc, path) for leaf in leaves]
    stamps = [hlcs.clamp(h, now_ms) for _, h in metas if h is not None]
    vv = versions.merge(vv for vv, _ in metas)
    if not stamps and not vv:
        return None
    newest = max(stamps) if stamps else hlcs.Hlc(now_ms, 0, "server")
    return FieldMeta(vv=vv, hlc=newest.encode())


def _losing(leaves: list[_Leaf], path: str, kept: Any) -> list[JSON]:
    lost: list[JSON] = []
    seen = {canonical(kept)}
    for leaf in leaves:
        value = get_path(leaf.doc, path)
        text = canonical(value)
        if value is not ABSENT and text not in seen:
            seen.add(text)
            lost.append({"rev": leaf.rev, "value": copy.deepcopy(value)})
    return lost


def _union_lists(values: list[Any]) -> Any:
    """Union of list values in winner-first order, each entry once; non-lists kept as the winner's."""
    lists = [v for v in values if isinstance(v, list)]
    if not lists:
        return values[0]
    result: list[Any] = []
    seen: set[str] = set()
    for items in lists:
        for item in items:
            text = canonical(item)
            if text not in seen:
                seen.add(text)
                result.append(copy.deepcopy(item))
    return result


def _meta_fields(doc: Mapping[str, Any]) -> Mapping[str, FieldMeta]:
    meta = doc.get("meta")
    fields = meta.get("fields") if isinstance(meta, Mapping) else None
    return fields if isinstance(fields, Mapping) else {}


def _stubs(doc: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    atts = doc.get("_attachments")
    return atts if isinstance(atts, Mapping) else {}


def _renamed(name: str, digest: str) -> str:
    tag = hashlib.sha256(digest.encode()).hexdigest()[:8]
    stem, dot, ext = name.rpartition(".")
    return f"{stem}~{tag}.{ext}" if dot and stem else f"{name}~{tag}"


def _attachment_renames(leaves: list[_Leaf]) -> dict[str, dict[str, str]]:
    """Per leaf rev: name → new name, for files whose name an earlier leaf holds with other bytes."""
    owner: dict[str, str] = {}
    renames: dict[str, dict[str, str]] = {}
    for leaf in leaves:
        for name, stub in sorted(_stubs(leaf.doc).items()):
            digest = str(stub.get("digest", ""))
            if owner.setdefault(name, digest) != digest:
                renames.setdefault(leaf.rev, {})[name] = _renamed(name, digest)
    return renames


def _union_attachments(leaves: list[_Leaf], renames: dict[str, dict[str, str]]
                       ) -> tuple[JSON, dict[str, tuple[str, str]]]:
    merged: JSON = {}
    sources: dict[str, tuple[str, str]] = {}
    for index, leaf in enumerate(leaves):
        for name, stub in sorted(_stubs(leaf.doc).items()):
            target = renames.get(leaf.rev, {}).get(name, name)
            if target in merged:
                continue
            merged[target] = {k: v for k, v in stub.items() if k not in ("data", "follows", "revpos")}
            merged[target]["stub"] = True
            if index:
                sources[target] = (leaf.rev, name)
    return dict(sorted(merged.items())), sources


def _with_renamed_materials(doc: Mapping[str, Any], renames: Mapping[str, str]) -> Mapping[str, Any]:
    materials = doc.get("materials")
    if not renames or not isinstance(materials, list):
        return doc
    rewritten = [{**m, "attachment": renames[m["attachment"]]}
                 if isinstance(m, Mapping) and m.get("attachment") in renames else m for m in materials]
    return {**doc, "materials": rewritten}


__all__ = ["ABSENT", "DEFAULT_POLICIES", "SERVER_PATHS", "STAGES", "TRUST_VERSION_VECTORS", "FieldPolicies",
           "MergeError", "MergeResult", "Policy", "Stages", "merge_leaves", "rev_key", "set_path"]
