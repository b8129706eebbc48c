"""The field-by-field merge of conflicting case leaves: one table row per policy, then properties."""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.edits import canonical, field_paths, get_path, record_edit
from shared.hlc import MAX_DRIFT_MS
from shared.merge import DEFAULT_POLICIES, MergeError, MergeResult, Policy, merge_leaves

NOW = 1_795_933_800_000
CASE_ID = "case:01JDQ7ZQ8M3V6X0B2C4D5E6F7G"
Edit = tuple[str, Any, int]  # path, value, wall-time offset from NOW


def make_case(**overrides: Any) -> dict[str, Any]:
    case: dict[str, Any] = {
        "_id": CASE_ID,
        "_rev": "1-base",
        "type": "case",
        "item_code": "330212-001",
        "situation": "first",
        "status": "submitted",
        "division": {"village": "330212001001", "township": "330212001", "county": "330212"},
        "applicant": {"name": "张三", "id_number": "330212199001011234", "phone": "13800000000"},
        "answers": {"income": 1200, "household": 3},
        "notes": "",
        "materials": [{"requirement": "hukou", "attachment": "hukou-1.jpg", "source": "captured"}],
        "_attachments": {"hukou-1.jpg": stub("md5-HUKOU")},
    }
    case.update(overrides)
    return case


def stub(digest: str) -> dict[str, Any]:
    return {"content_type": "image/jpeg", "digest": digest, "length": 10, "stub": True}


def edit(doc: dict[str, Any], device: str, rev: str, edits: Sequence[Edit]) -> dict[str, Any]:
    for path, value, offset in edits:
        doc = record_edit(doc, path, value, device=device, wall_ms=NOW + offset)
    doc["_rev"] = rev
    return doc


def merge_two(
    a_edits: Sequence[Edit], b_edits: Sequence[Edit], base: dict[str, Any] | None = None
) -> MergeResult:
    base = base or make_case()
    a = edit(copy.deepcopy(base), "tab-a", "2-aaaa", a_edits)
    b = edit(copy.deepcopy(base), "tab-b", "2-bbbb", b_edits)
    result = merge_leaves([a, b], now_ms=NOW)
    assert canonical(merge_leaves([b, a], now_ms=NOW).doc) == canonical(result.doc)
    return result


# (name, edits on leaf a, edits on leaf b, path, merged value, review candidates or None)
TABLE: list[tuple[str, list[Edit], list[Edit], str, Any, list[Any] | None]] = [
    ("one side only", [("applicant.phone", "139", 1)], [("notes", "x", 2)], "applicant.phone", "139", None),
    ("other side only", [("applicant.phone", "139", 1)], [("notes", "x", 2)], "notes", "x", None),
    (
        "concurrent equal",
        [("situation", "renew", 1)],
        [("situation", "renew", 9)],
        "situation",
        "renew",
        None,
    ),
    (
        "lww phone: newest wins",
        [("applicant.phone", "a", 5)],
        [("applicant.phone", "b", 9)],
        "applicant.phone",
        "b",
        None,
    ),
    ("lww notes", [("notes", "late", 50)], [("notes", "early", 9)], "notes", "late", None),
    (
        "lww other answer",
        [("answers.household", 4, 1)],
        [("answers.household", 5, 2)],
        "answers.household",
        5,
        None,
    ),
    (
        "lww: a clock far ahead is clamped",
        [("applicant.phone", "bogus", 100 * MAX_DRIFT_MS)],
        [("applicant.phone", "honest", MAX_DRIFT_MS // 2)],
        "applicant.phone",
        "honest",
        None,
    ),
    (
        "review name",
        [("applicant.name", "张三丰", 1)],
        [("applicant.name", "张珊", 2)],
        "applicant.name",
        "张珊",
        ["张珊", "张三丰"],
    ),
    (
        "review id number",
        [("applicant.id_number", "330212199001011234X", 9)],
        [("applicant.id_number", "11010519491231002X", 2)],
        "applicant.id_number",
        "330212199001011234X",
        ["330212199001011234X", "11010519491231002X"],
    ),
    ("review item", [("item_code", "X", 1)], [("item_code", "Y", 2)], "item_code", "Y", ["Y", "X"]),
    ("review situation", [("situation", "s1", 3)], [("situation", "s2", 2)], "situation", "s1", ["s1", "s2"]),
    (
        "review money answer",
        [("answers.income", 900, 1)],
        [("answers.income", 1500, 2)],
        "answers.income",
        1500,
        [1500, 900],
    ),
    (
        "review money answer (Chinese key)",
        [("answers.月收入", 1, 1)],
        [("answers.月收入", 2, 2)],
        "answers.月收入",
        2,
        [2, 1],
    ),
    (
        "review: removed vs changed",
        [("answers.income", None, 1)],
        [("answers.income", 3, 2)],
        "answers.income",
        3,
        [3, None],
    ),
    (
        "status: later stage wins",
        [("status", "accepted", 1)],
        [("status", "needs_materials", 9)],
        "status",
        "accepted",
        None,
    ),
    (
        "status: withdrawn beats a request for materials",
        [("status", "needs_materials", 9)],
        [("status", "withdrawn", 1)],
        "status",
        "withdrawn",
        None,
    ),
    (
        "status: resubmission beats the request for materials",
        [("status", "needs_materials", 9)],
        [("status", "submitted", 1)],
        "status",
        "submitted",
        None,
    ),
    (
        "status: same branch, later wins",
        [("status", "approved", 1)],
        [("status", "result_ready", 0)],
        "status",
        "result_ready",
        None,
    ),
    (
        "status: withdrawn vs approved → review",
        [("status", "withdrawn", 1)],
        [("status", "approved", 2)],
        "status",
        "approved",
        ["approved", "withdrawn"],
    ),
    (
        "status: rejected vs delivered → review",
        [("status", "rejected", 5)],
        [("status", "delivered", 2)],
        "status",
        "rejected",
        ["rejected", "delivered"],
    ),
]


@pytest.mark.parametrize(("name", "a", "b", "path", "value", "review"), TABLE, ids=[row[0] for row in TABLE])
def test_policy_table(
    name: str, a: list[Edit], b: list[Edit], path: str, value: Any, review: list[Any] | None
) -> None:
    result = merge_two(a, b)
    assert get_path(result.doc, path) == value
    if review is None:
        assert path not in result.review
    else:
        assert result.review[path] == review
        assert result.doc["needs_review"] is True
    assert result.doc["_rev"] == "2-bbbb"  # CouchDB's winner: same position, higher hash
    assert result.losing_revs == ("2-aaaa",)
    assert "_conflicts" not in result.doc


def test_policies_are_data() -> None:
    assert DEFAULT_POLICIES.policy("applicant.phone") is Policy.LWW
    assert DEFAULT_POLICIES.policy("answers.subsidy_amount") is Policy.REVIEW
    assert DEFAULT_POLICIES.policy("answers.household") is Policy.LWW
    assert DEFAULT_POLICIES.policy("division.village") is Policy.REVIEW
    assert (
        DEFAULT_POLICIES.with_money_answers(frozenset({"household"})).policy("answers.household")
        is Policy.REVIEW
    )


def test_losing_values_are_reported() -> None:
    result = merge_two([("applicant.phone", "a", 5)], [("applicant.phone", "b", 9)])
    assert result.losing["applicant.phone"] == [{"rev": "2-aaaa", "value": "a"}]


def test_merged_meta_has_seen_both_sides() -> None:
    result = merge_two([("applicant.phone", "a", 5)], [("applicant.phone", "b", 9)])
    assert result.doc["meta"]["fields"]["applicant.phone"]["vv"] == {"tab-a": 1, "tab-b": 1}


def test_materials_and_attachments_are_unioned_and_clashing_names_renamed() -> None:
    base = make_case()
    a = edit(copy.deepcopy(base), "tab-a", "2-aaaa", [])
    b = edit(copy.deepcopy(base), "tab-b", "3-bbbb", [])
    a["materials"] = [
        *base["materials"],
        {"requirement": "income", "attachment": "income-1.jpg", "source": "captured"},
    ]
    a["_attachments"] = {
        **base["_attachments"],
        "income-1.jpg": stub("md5-A"),
        "signature.png": stub("md5-SIG"),
    }
    b["materials"] = [
        *base["materials"],
        {"requirement": "income", "attachment": "income-1.jpg", "source": "captured"},
        {"requirement": "photo", "material_id": "material:01J", "source": "reused"},
    ]
    b["_attachments"] = {**base["_attachments"], "income-1.jpg": stub("md5-B")}
    result = merge_leaves([a, b], now_ms=NOW)
    atts = result.doc["_attachments"]
    renamed = next(name for name in atts if name.startswith("income-1~"))
    assert atts["income-1.jpg"]["digest"] == "md5-B"  # the winner (3-bbbb) keeps the name
    assert atts[renamed]["digest"] == "md5-A"
    assert atts["signature.png"]["digest"] == "md5-SIG"
    assert result.attachments_from == {
        renamed: ("2-aaaa", "income-1.jpg"),
        "signature.png": ("2-aaaa", "signature.png"),
    }
    attached = [m.get("attachment") or m.get("material_id") for m in result.doc["materials"]]
    assert sorted(attached) == sorted(["hukou-1.jpg", "income-1.jpg", "material:01J", renamed])


def test_untracked_difference_keeps_the_winner() -> None:
    a = make_case(_rev="2-aaaa", updated_at="2026-11-24T06:00:00Z")
    b = make_case(_rev="2-bbbb", updated_at="2026-11-24T05:00:00Z")
    result = merge_leaves([a, b], now_ms=NOW)
    assert result.doc["updated_at"] == "2026-11-24T05:00:00Z"
    assert result.losing["updated_at"] == [{"rev": "2-aaaa", "value": "2026-11-24T06:00:00Z"}]


def test_deleted_leaves_are_ignored() -> None:
    a = make_case(_rev="2-aaaa")
    result = merge_leaves([a, {"_id": CASE_ID, "_rev": "3-dead", "_deleted": True}], now_ms=NOW)
    assert result.winner_rev == "2-aaaa" and result.losing_revs == ()


@pytest.mark.parametrize(
    "leaves",
    [
        [],
        [{"_id": CASE_ID, "_rev": "2-x", "_deleted": True}],
        [make_case(_rev="2-a"), make_case(_id="case:other", _rev="2-b")],
        [make_case(_rev=None)],
    ],
)
def test_unmergeable_input_is_refused(leaves: list[dict[str, Any]]) -> None:
    with pytest.raises(MergeError):
        merge_leaves(leaves, now_ms=NOW)


# --- properties -----------------------------------------------------------------------

PATHS = [
    "applicant.name",
    "applicant.phone",
    "status",
    "notes",
    "answers.income",
    "answers.household",
    "situation",
    "item_code",
]
VALUES: dict[str, list[Any]] = {
    "applicant.name": ["张三", "李四", "王五"],
    "applicant.phone": ["1", "2", "3"],
    "status": ["submitted", "needs_materials", "accepted", "approved", "withdrawn", "rejected", "delivered"],
    "notes": ["", "x", "y"],
    "answers.income": [1, 2, None],
    "answers.household": [3, 4],
    "situation": ["first", "renew"],
    "item_code": ["330212-001", "330212-002"],
}
ATTACHMENTS = ["income-1.jpg", "signature.png", "hukou-1.jpg"]
DIGESTS = ["md5-HUKOU", "md5-A", "md5-B"]


@st.composite
def leaf_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    """2–4 leaves: each a device's edits on the base or on an earlier leaf (a device that synced)."""
    count = draw(st.integers(2, 4))
    leaves: list[dict[str, Any]] = []
    for index in range(count):
        parent = (
            make_case()
            if index == 0 or draw(st.booleans())
            else copy.deepcopy(leaves[draw(st.integers(0, index - 1))])
        )
        edits = draw(st.lists(st.sampled_from(PATHS), max_size=4))
        doc = parent
        for path in edits:
            value = draw(st.sampled_from(VALUES[path]))
            skew = draw(st.sampled_from([0, 0, 0, 100 * MAX_DRIFT_MS]))  # sometimes a wrong clock
            doc = record_edit(
                doc, path, value, device=f"tab-{index}", wall_ms=NOW + draw(st.integers(0, 99)) + skew
            )
        extra = draw(st.lists(st.tuples(st.sampled_from(ATTACHMENTS), st.sampled_from(DIGESTS)), max_size=2))
        for name, digest in extra:
            doc["_attachments"] = {**doc["_attachments"], name: stub(digest)}
            entry = {
                "requirement": name.split("-")[0].split(".")[0],
                "attachment": name,
                "source": "captured",
            }
            doc["materials"] = [*doc["materials"], entry]
        doc["_rev"] = f"{draw(st.integers(2, 4))}-{index:x}{draw(st.integers(0, 255)):02x}"
        leaves.append(doc)
    return leaves


def bumped(result: MergeResult) -> dict[str, Any]:
    """The merged document as the worker writes it: one revision past the winner."""
    pos = int(result.winner_rev.split("-")[0])
    return {**result.doc, "_rev": f"{pos + 1}-merged"}


def without_rev(doc: dict[str, Any]) -> str:
    return canonical({k: v for k, v in doc.items() if k != "_rev"})


PROPERTY = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)


@PROPERTY
@given(leaf_sets(), st.randoms(use_true_random=False))
def test_merge_does_not_depend_on_leaf_order(leaves: list[dict[str, Any]], rnd: random.Random) -> None:
    shuffled = list(leaves)
    rnd.shuffle(shuffled)
    a, b = merge_leaves(leaves, now_ms=NOW), merge_leaves(shuffled, now_ms=NOW)
    assert canonical(a.doc) == canonical(b.doc)
    assert (a.review, a.losing, a.attachments_from) == (b.review, b.losing, b.attachments_from)


@PROPERTY
@given(leaf_sets())
def test_merge_is_idempotent(leaves: list[dict[str, Any]]) -> None:
    result = merge_leaves(leaves, now_ms=NOW)
    merged = bumped(result)
    assert without_rev(merge_leaves([merged], now_ms=NOW).doc) == without_rev(merged)
    for leaf in leaves:
        again = merge_leaves([merged, leaf], now_ms=NOW)
        assert without_rev(again.doc) == without_rev(merged)
        assert again.review == {}


@PROPERTY
@given(leaf_sets())
def test_nothing_is_lost(leaves: list[dict[str, Any]]) -> None:
    result = merge_leaves(leaves, now_ms=NOW)
    merged = result.doc
    names_by_digest: dict[str, set[str]] = {}
    for name, att in merged["_attachments"].items():
        names_by_digest.setdefault(att["digest"], set()).add(name)
    for leaf in leaves:
        for path in field_paths(leaf) - {"materials"}:
            value = get_path(leaf, path)
            kept = canonical(get_path(merged, path)) == canonical(value)
            reported = any(
                canonical(lost["value"]) == canonical(value) for lost in result.losing.get(path, [])
            )
            assert kept or reported, path
        for name, att in leaf["_attachments"].items():
            stem = name.rsplit(".", 1)[0]
            assert any(
                n == name or n.startswith(f"{stem}~") for n in names_by_digest.get(att["digest"], ())
            ), name
        for entry in leaf["materials"]:
            matches = [
                m
                for m in merged["materials"]
                if m["requirement"] == entry["requirement"]
                and m.get("attachment")
                in names_by_digest.get(leaf["_attachments"][entry["attachment"]]["digest"], set())
            ]
            assert matches, entry


SOAK = settings(
    max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)


@pytest.mark.soak
@SOAK
@given(leaf_sets(), st.randoms(use_true_random=False))
# `.hypothesis.inner_test` is set by @given at run time; hypothesis does not declare it.
def test_merge_properties_soak(leaves: list[dict[str, Any]], rnd: random.Random) -> None:
    test_merge_does_not_depend_on_leaf_order.hypothesis.inner_test(leaves, rnd)  # type: ignore[attr-defined]
    test_merge_is_idempotent.hypothesis.inner_test(leaves)  # type: ignore[attr-defined]
    test_nothing_is_lost.hypothesis.inner_test(leaves)  # type: ignore[attr-defined]


# -- ADR 0105: status and server fields merge three-way from the stored base ---------------------


def forged(doc: dict[str, Any], rev: str, **changes: Any) -> dict[str, Any]:
    """A leaf whose device claims a huge `server` counter and a far-future clock for every field."""
    claim = {"vv": {"server": 999}, "hlc": "999999999999999999-00000-server"}
    fields = {path: claim for path in ("status", "accepted_at", "deadline", "needs_review")}
    return {**copy.deepcopy(doc), **changes, "_rev": rev, "meta": {"fields": fields}}


@pytest.mark.parametrize(
    ("base_status", "stored", "device", "expected"),
    [
        ("submitted", "rejected", "submitted", "rejected"),  # unchanged on the device: the server's change
        ("result_ready", "delivered", "result_ready", "delivered"),
        ("submitted", "needs_materials", "submitted", "needs_materials"),  # a step back is still a change
        ("needs_materials", "needs_materials", "submitted", "submitted"),  # the agent's resubmission
        ("accepted", "forwarded", "withdrawn", "withdrawn"),  # both changed: the later stage
    ],
)
def test_status_merges_from_the_stored_base_not_the_version_vectors(
    base_status: str, stored: str, device: str, expected: str
) -> None:
    base = make_case(status=base_status, _rev="1-base")
    changes: list[Edit] = [("status", stored, 0)] if stored != base_status else [("notes", "n", 0)]
    server = edit(copy.deepcopy(base), "tab-s", "2-ssss", changes)
    device_leaf = forged(base, "9-ffff", status=device)
    assert merge_leaves([server, device_leaf], now_ms=NOW, base=base).doc["status"] == expected
    assert merge_leaves([device_leaf, server], now_ms=NOW, base=base).doc["status"] == expected


def test_without_a_stored_base_every_status_is_a_change() -> None:
    server = make_case(status="rejected", _rev="2-ssss")
    device_leaf = forged(make_case(), "9-ffff", status="submitted")
    assert merge_leaves([server, device_leaf], now_ms=NOW, base=None).doc["status"] == "rejected"
    # Left out, the version vectors decide (the merge's callers on devices): the forged counter wins.
    assert merge_leaves([server, device_leaf], now_ms=NOW).doc["status"] == "submitted"


def test_server_fields_merge_from_the_stored_base() -> None:
    base = make_case(status="accepted", accepted_at="2026-11-24T06:30:00Z", deadline="2026-11-27")
    server = edit(copy.deepcopy(base), "server", "2-ssss", [("deadline", "2026-11-30", 0),
                                                             ("needs_review", True, 0)])
    device_leaf = forged(base, "9-ffff", accepted_at="2026-12-20T00:00:00Z", needs_review=False)
    merged = merge_leaves([server, device_leaf], now_ms=NOW, base=base).doc
    assert merged["deadline"] == "2026-11-30" and merged["needs_review"] is True
    assert merged["accepted_at"] == "2026-12-20T00:00:00Z"  # changed on one side only (the gateway checks it)
    both = forged(base, "9-eeee", accepted_at="2026-11-20T00:00:00Z")
    other = forged(base, "9-dddd", accepted_at="2026-11-22T00:00:00Z")
    assert merge_leaves([both, other], now_ms=NOW, base=base).doc["accepted_at"] == "2026-11-20T00:00:00Z"
