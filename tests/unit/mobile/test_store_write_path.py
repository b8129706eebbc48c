"""The local store's cheap write path (ADR 0155) against the general one it stands in for:
documents split without a Python step per field, single-chain trees read and extended as
stored rows, conflict checks without building trees."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobile.store import BadRequest, LocalStore, NotFound, attachments, revtree, writer
from mobile.store.documents import Incoming, parse
from mobile.store.revtree import RevNode, RevPath


@pytest.fixture
def db(tmp_path: Path) -> Iterator[LocalStore]:
    with LocalStore(tmp_path / "write-path.sqlite") as store:
        yield store


def replicated(doc_id: str, start: int, ids: list[str], **body: Any) -> dict[str, Any]:
    return {"_id": doc_id, "_rev": f"{start}-{ids[0]}", "_revisions": {"start": start, "ids": ids}, **body}


# -- parse: a plain dict's fast split gives what the general loop gives --------------------

_KEYS = st.sampled_from(
    [
        "a",
        "b",
        "名字",
        "",
        "_id",
        "_rev",
        "_deleted",
        "_attachments",
        "_revisions",
        "_conflicts",
        "_revs_info",
        "_local_seq",
        "_deleted_conflicts",
        "_foo",
        "_",
        1,
        None,
    ]
)


def _split(parse_input: object) -> Incoming | str:
    try:
        return parse(parse_input, default_id="fallback")
    except BadRequest as refused:
        return f"refused: {refused.reason}"


@settings(max_examples=300, deadline=None)
@given(fields=st.lists(st.tuples(_KEYS, st.integers()), max_size=10))
def test_a_plain_dict_splits_as_any_mapping_does(fields: list[tuple[Any, int]]) -> None:
    doc: dict[Any, Any] = dict(fields)
    doc.pop("_rev", None)  # an int `_rev` is refused before the body is looked at: keep the body in play
    doc.pop("_deleted", None)
    doc.pop("_revisions", None)
    general = _split(MappingProxyType(doc))  # not a dict: the general loop
    fast = _split(doc)
    assert fast == general
    if isinstance(fast, Incoming):
        assert list(fast.body) == [k for k in doc if isinstance(k, str) and not k.startswith("_")]


def test_the_fast_split_still_refuses_what_the_general_one_does() -> None:
    with pytest.raises(BadRequest, match="Bad special document member: _foo"):
        parse({"_id": "x", "a": 1, "_foo": 2})
    with pytest.raises(BadRequest, match="keys must be strings"):
        parse({"_id": "x", 3: "three"})
    doc = {"_id": "x", "_rev": "1-a", "_conflicts": ["1-b"], "b": 1, "a": 2}
    assert parse(doc).body == {"b": 1, "a": 2} and list(parse(doc).body) == ["b", "a"]
    assert "_conflicts" in doc  # the caller's document is left as it was


def test_a_lone_surrogate_in_a_replicated_batch_refuses_its_document_only(db: LocalStore) -> None:
    docs = [
        replicated("ok-1", 1, ["a"], name="张三"),
        replicated("bad", 1, ["b"], name="张\udc00"),
        replicated("ok-2", 1, ["c"], name="李四"),
    ]
    results = db.bulk_docs(docs, new_edits=False)
    assert [r.get("error") for r in results] == [None, "bad_request", None]
    assert "surrogate" in results[1]["reason"]
    assert db.get("ok-2")["name"] == "李四"
    assert db.info()["doc_count"] == 2


# -- single chains read as stored rows -----------------------------------------------------


@st.composite
def merged_trees(draw: st.DrawFn) -> tuple[dict[str, RevNode], list[RevPath]]:
    """A random tree (branches, deleted leaves, stemmed paths) merged from paths of one universe."""
    size = draw(st.integers(min_value=1, max_value=10))
    parents = [None] + [draw(st.integers(min_value=0, max_value=i - 1)) for i in range(1, size)]
    hashes = [f"h{i:02d}" for i in range(size)]
    picks = draw(st.lists(st.integers(min_value=0, max_value=size - 1), min_size=1, max_size=5))
    tree: dict[str, RevNode] = {}
    paths = []
    for node in picks:
        chain = [node]
        while (parent := parents[chain[-1]]) is not None:
            chain.append(parent)
        keep = draw(st.integers(min_value=1, max_value=len(chain)))
        path = RevPath(len(chain), tuple(hashes[i] for i in chain[:keep]), draw(st.booleans()))
        paths.append(path)
        tree = revtree.merge(tree, path, 1000)
    return tree, paths


@settings(max_examples=300, deadline=None)
@given(case=merged_trees(), probe=st.integers(min_value=0, max_value=12))
def test_chain_rows_is_exactly_a_tree_with_one_leaf(
    case: tuple[dict[str, RevNode], list[RevPath]], probe: int
) -> None:
    tree, _ = case
    rows = revtree.chain_rows(revtree.to_json(tree))
    assert (rows is not None) == (len(revtree.leaves(tree)) == 1)
    if rows is not None:
        assert revtree.from_json(revtree.to_json(tree)) == tree
        for node in tree.values():
            assert revtree.chain_holds(rows, node.pos, node.hash)
        assert not revtree.chain_holds(rows, probe, "h00" if probe != 1 else "nowhere") or (
            f"{probe}-h00" in tree
        )


def test_chain_rows_declines_a_branch_and_two_roots() -> None:
    assert revtree.chain_rows('[[1,"a",null,0],[2,"b","a",0],[3,"c","b",1]]') is not None
    assert revtree.chain_rows('[[1,"a",null,0],[2,"b","a",0],[2,"c","a",0]]') is None  # a conflict
    assert revtree.chain_rows('[[1,"a",null,0],[2,"b",null,0]]') is None  # two roots, two leaves
    assert revtree.chain_rows('[[1,"a",null,0],[3,"c","b",0]]') is None  # a gap


def test_next_revisions_of_chains_and_branches_write_the_merged_tree(db: LocalStore) -> None:
    """The same pull applied to a store with single chains (the fast path) and with a branch
    (the merge) leaves what a store built by merging the trees would: checked via open revs."""
    db.bulk_docs(
        [
            replicated("chain", 2, ["b", "a"], v=1),
            replicated("branched", 2, ["b", "a"], v=1),
            replicated("branched", 2, ["x", "a"], v=2),
            replicated("tomb", 2, ["b", "a"], _deleted=True),
        ],
        new_edits=False,
    )
    assert db.conflicted(["chain", "branched", "tomb"]) == {"branched"}
    results = db.bulk_docs(
        [
            replicated("chain", 4, ["d", "c", "b", "a"], v=3),
            replicated("branched", 3, ["c", "b", "a"], v=3),
            replicated("tomb", 3, ["c", "b"], v=4),  # a revision on top of a tombstone revives it
            replicated("chain", 3, ["c", "b"], v=9),  # already known now: nothing changes
        ],
        new_edits=False,
    )
    assert all(r.get("ok") for r in results)
    chain = db.get("chain", revs=True)
    assert chain["_rev"] == "4-d" and chain["v"] == 3 and chain["_revisions"]["ids"] == ["d", "c", "b", "a"]
    assert db.get("branched", conflicts=True)["_conflicts"] == ["2-x"]
    assert db.get("tomb")["v"] == 4
    assert db.conflicted(["chain", "branched", "tomb"]) == {"branched"}
    with pytest.raises(NotFound, match="missing"):
        db.get("chain", rev="3-c")  # compacted: a body that stopped being a leaf is dropped
    assert db.revs_diff({"chain": ["3-c", "4-d", "5-e"]}) == {
        "chain": {"missing": ["5-e"], "possible_ancestors": ["4-d"]}
    }


def test_a_stemmed_chain_extends_within_the_limit(tmp_path: Path) -> None:
    with LocalStore(tmp_path / "stemmed.sqlite", revs_limit=3) as db:
        db.bulk_docs([replicated("d", 3, ["c", "b", "a"], v=1)], new_edits=False)
        db.bulk_docs([replicated("d", 5, ["e", "d", "c", "b", "a"], v=2)], new_edits=False)
        assert db.get("d", revs=True)["_revisions"] == {"start": 5, "ids": ["e", "d", "c"]}


@st.composite
def pulls(draw: st.DrawFn) -> list[list[dict[str, Any]]]:
    """Batches of revisions of a few documents' random trees, full histories, any order."""
    batches: list[list[dict[str, Any]]] = []
    docs: list[dict[str, Any]] = []
    for doc_id in ("p", "q"):
        size = draw(st.integers(min_value=1, max_value=7))
        parents = [None] + [
            draw(st.integers(min_value=max(0, i - 2), max_value=i - 1)) for i in range(1, size)
        ]
        for node in draw(st.lists(st.integers(min_value=0, max_value=size - 1), min_size=1, max_size=5)):
            chain = [node]
            while (parent := parents[chain[-1]]) is not None:
                chain.append(parent)
            docs.append(replicated(doc_id, len(chain), [f"{i:02d}h" for i in chain], v=node))
    cut = draw(st.integers(min_value=0, max_value=len(docs)))
    batches = [docs[:cut], docs[cut:]]
    return [b for b in batches if b]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=pulls())
def test_conflicted_agrees_with_the_documents_conflicts(batches: list[list[dict[str, Any]]]) -> None:
    with tempfile.TemporaryDirectory() as folder, LocalStore(Path(folder) / "c.sqlite") as db:
        for batch in batches:
            db.bulk_docs(batch, new_edits=False)
        expected = set()
        for doc_id in ("p", "q"):
            try:
                doc: Mapping[str, Any] = db.get(doc_id, conflicts=True)
            except NotFound:  # a deleted winner: no conflict to show
                continue
            if doc.get("_conflicts"):
                expected.add(doc_id)
        assert db.conflicted(["p", "q"]) == expected


# -- doc_index: only the columns that changed are written -----------------------------------


def _case(doc_id: str, start: int, ids: list[str], **fields: Any) -> dict[str, Any]:
    body = {
        "type": "case",
        "status": "submitted",
        "division": {"village": "330212001001"},
        "applicant": {"name": "王芳", "id_number": "330212199001011234"},
        "tracking_code": f"K{doc_id[-4:]}",
        "updated_at": "2026-11-01T06:30:00Z",
        **fields,
    }
    return replicated(doc_id, start, ids, **body)


def test_next_revisions_move_cases_between_screens(db: LocalStore) -> None:
    """A pull's next revisions update the query rows column by column (or not at all); every
    screen sees each case where its winning revision puts it."""
    ids = [f"case:wp{n:04d}" for n in range(4)]
    db.bulk_docs([_case(i, 1, ["a"]) for i in ids], new_edits=False)
    assert db.count_cases(status="submitted") == 4
    results = db.bulk_docs(
        [
            _case(ids[0], 2, ["b", "a"], status="approved", updated_at="2026-12-01T00:00:00Z"),
            _case(ids[1], 2, ["b", "a"]),  # same query columns: the row stays as it is
            _case(ids[2], 2, ["b", "a"], applicant={"name": "李四", "id_number": "33021219900101567x"}),
            replicated(ids[3], 2, ["b", "a"], _deleted=True),
            _case(ids[0], 3, ["c", "b", "a"], status="delivered"),  # twice in one batch
        ],
        new_edits=False,
    )
    assert all(r.get("ok") for r in results)
    assert [r["id"] for r in db.find_cases(status="delivered")] == [ids[0]]
    assert db.find_cases(status="delivered")[0]["updated_at"] == "2026-11-01T06:30:00Z"
    assert sorted(r["id"] for r in db.find_cases(status="submitted")) == ids[1:3]
    assert [r["id"] for r in db.find_cases(text="李四")] == [ids[2]]
    assert [r["id"] for r in db.find_cases(text="ls")] == [ids[2]]
    assert [r["id"] for r in db.find_cases(text="567X")] == [ids[2]]
    assert sorted(r["id"] for r in db.find_cases(text="王芳")) == [ids[0], ids[1]]
    assert db.count_cases() == 3  # the deleted one left every screen


# -- attachment digests: computed once per received object ----------------------------------


def _md5_form(data: bytes) -> str:
    return "md5-" + base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def test_bytes_checked_by_the_receiver_are_not_hashed_again_by_the_store(
    db: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: list[int] = []
    real = attachments._md5_digest

    def counted(data: bytes) -> str:
        hashed.append(len(data))
        return real(data)

    monkeypatch.setattr(attachments, "_md5_digest", counted)
    scan = b"\xff\xd8" + random.Random(5).randbytes(150_000)
    assert attachments.digest_of(scan) == _md5_form(scan)  # what a pull's receiver checks
    doc = replicated(
        "scan-doc", 1, ["s"], _attachments={"p.jpg": {"content_type": "image/jpeg", "data": scan}}
    )
    assert db.bulk_docs([doc], new_edits=False)[0]["ok"]
    assert hashed == [len(scan)]  # once, by the receiver
    stub = db.get("scan-doc")["_attachments"]["p.jpg"]
    assert stub["digest"] == _md5_form(scan) and db.get_attachment("scan-doc", "p.jpg") == scan
    assert attachments._memo_size == 0  # the batch is written: the memo holds none of its bytes


def test_only_the_very_object_digested_reuses_its_digest() -> None:
    """The attack it stops: other bytes of the same size, or a buffer changed after it was
    digested, must be stored under their own digest, never under one computed for other bytes."""
    first = random.Random(6).randbytes(40_000)
    twin = bytearray(first)
    assert attachments.digest_of(first) == attachments.digest_of(bytes(twin))
    other = bytes(reversed(first))
    assert attachments.stored_digest(other) == _md5_form(other)
    attachments.digest_of(twin)  # a mutable buffer is never remembered
    twin[0] ^= 0xFF
    assert attachments.stored_digest(bytes(twin)) == _md5_form(bytes(twin))
    assert attachments.stored_digest(first) == _md5_form(first)
    attachments.forget_digests()


def test_the_digest_memo_is_bounded() -> None:
    size = 1_000_000
    for n in range(attachments._MEMO_BYTES // size + 5):
        attachments.digest_of(bytes([n % 256]) * size)
    assert 0 < attachments._memo_size <= attachments._MEMO_BYTES
    attachments.forget_digests()
    assert attachments._memo_size == 0


@settings(max_examples=200, deadline=None)
@given(
    ids=st.lists(
        st.text(alphabet='0123456789abcdefXYZ"\\é', min_size=1, max_size=4),
        min_size=1,
        max_size=9,
        unique=True,
    ),
    extra=st.integers(min_value=0, max_value=3),
    limit=st.integers(min_value=1, max_value=11),
    deleted=st.booleans(),
)
def test_a_new_documents_tree_text_is_the_merged_trees_json(
    ids: list[str], extra: int, limit: int, deleted: bool
) -> None:
    """Plain hashes (the usual case) are written as text directly; any other id goes through
    the JSON encoder: both must give exactly the merged tree's JSON."""
    path = RevPath(len(ids) + extra, tuple(ids), deleted)
    assert revtree.path_json(path, limit) == revtree.to_json(revtree.merge({}, path, limit))


def test_bodies_are_encoded_as_the_standard_encoder_does_and_refused_alike(db: LocalStore) -> None:
    body = {"名字": "王芳", "n": [1, 2.5, None, True, -0.0, 10**20], "q": 'a"b\\c\n', "e": {}, "l": []}
    assert writer._body_json(body) == json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    looped: dict[str, Any] = {"a": 1}
    looped["self"] = looped
    results = db.bulk_docs(
        [
            replicated("nan", 1, ["a"], v=float("nan")),
            replicated("object", 1, ["b"], v=object()),
            replicated("looped", 1, ["c"], v=looped),
            replicated("fine", 1, ["d"], v=1),
        ],
        new_edits=False,
    )
    assert [r.get("error") for r in results] == ["bad_request"] * 3 + [None]
    assert all("not JSON" in r["reason"] for r in results[:3])
    assert db.info()["doc_count"] == 1


# -- ADR 0161: the next revision of a chain as text, one row taken over, the body refused as JSON refuses ----


@settings(max_examples=300, deadline=None)
@given(
    case=merged_trees(),
    base=st.lists(st.sampled_from(["h00", "h01", "h02", "a1", "b2", "é", 'q"']), min_size=1, max_size=6),
    new=st.sampled_from(["n1", "h01", "é", "a1"]),
    limit=st.integers(min_value=1, max_value=8),
    deleted=st.booleans(),
    use_tree=st.booleans(),
)
def test_next_on_chain_is_the_merged_trees_json_or_declines(
    case: tuple[dict[str, RevNode], list[RevPath]],
    base: list[str],
    new: str,
    limit: int,
    deleted: bool,
    use_tree: bool,
) -> None:
    """Whatever the stored tree (a random merged one, or a chain with any ids) and the arriving
    path, the answer is the merged tree's JSON, or the stored text itself when the revision is
    known; a chain whose history arrives whole is always answered."""
    ancestors = RevPath(len(base) + 1, tuple(base))
    stored = revtree.to_json(case[0]) if use_tree else revtree.path_json(ancestors, 1000)
    path = RevPath(ancestors.start + 1, (new, *base), deleted)
    if len(set(path.ids)) < len(path.ids):
        return  # a revision id twice in one history: not a path any replica sends
    text = revtree.next_on_chain(stored, path, limit)
    tree = revtree.from_json(stored)
    if text == stored:
        assert path.rev in tree
    elif text is not None:
        assert path.rev not in tree
        assert text == revtree.to_json(revtree.merge(tree, path, limit))
    if not use_tree:
        assert text is not None


def test_next_on_chain_appends_to_the_text_a_known_history_or_declines() -> None:
    stored = '[[1,"a",null,0],[2,"b","a",0]]'
    grown = '[[1,"a",null,0],[2,"b","a",0],[3,"c","b",0]]'
    assert revtree.next_on_chain(stored, RevPath(3, ("c", "b", "a")), 5) == grown  # as text
    assert revtree.next_on_chain(stored, RevPath(3, ("c", "b")), 5) == grown  # history cut short: rows
    assert revtree.next_on_chain(stored, RevPath(3, ("c", "b", "a")), 2) == '[[2,"b",null,0],[3,"c","b",0]]'
    assert revtree.next_on_chain(stored, RevPath(2, ("b", "a")), 5) is stored  # known
    assert revtree.next_on_chain(stored, RevPath(2, ("x", "a")), 5) is None  # a branch at 2
    tomb = '[[1,"a",null,0],[2,"b","a",1]]'
    assert revtree.next_on_chain(tomb, RevPath(3, ("c", "b", "a")), 5) == (
        '[[1,"a",null,0],[2,"b","a",1],[3,"c","b",0]]'
    )
    conflict = '[[1,"a",null,0],[2,"b","a",0],[2,"c","a",0]]'
    assert revtree.next_on_chain(conflict, RevPath(3, ("d", "b", "a")), 5) is None  # not a chain


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0xFFFF), max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=3) | st.integers(max_value=9, min_value=0), inner, max_size=3)
    ),
    max_leaves=12,
)


def _reference(body: Mapping[str, Any]) -> str | None:
    try:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        text.encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        return None
    return text


@settings(max_examples=400, deadline=None)
@given(body=st.dictionaries(st.text(max_size=4), _JSON, max_size=4))
def test_a_body_reads_back_as_the_reference_and_is_refused_alike(
    body: dict[str, Any],
) -> None:
    """NaN, a lone surrogate, a key not a string: refused as the reference refuses them; anything
    else is the same value read back."""
    expected = _reference(body)
    try:
        text = writer._body_json(body)
    except BadRequest:
        assert expected is None
        return
    assert expected is not None
    assert json.loads(text) == json.loads(expected)
    assert text.encode("utf-8")


def test_a_body_is_the_standard_librarys_json_and_nan_is_refused() -> None:
    body = {"name": "王芳", "n": [1, 2.5, True], "note": 'a"b\\c\n', "v": None}
    assert writer._body_json(body) == json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    for bad in (float("inf"), float("-inf"), float("nan")):
        with pytest.raises(BadRequest, match="not JSON"):
            writer._body_json({"v": [1, {"w": bad}]})
    with pytest.raises(BadRequest, match="surrogate"):
        writer._body_json({"v": "\ud800"})
    assert writer._body_json({"v": 2**70}) == '{"v":1180591620717411303424}'


def _rev_rows(db: LocalStore) -> list[tuple[str, str]]:
    return sorted(db._db.execute("SELECT doc_id, rev FROM revs").fetchall())


def test_a_next_revision_takes_over_its_parents_row(db: LocalStore) -> None:
    """One `revs` row per chain after its next revision, the old leaf's scan collected when
    nothing refers to it any more, and a leaf that had lost its body row still gets one."""
    scan = base64.b64encode(b"scan bytes").decode()
    db.bulk_docs(
        [
            replicated("plain", 2, ["b", "a"], v=1),
            replicated(
                "scanned", 2, ["b", "a"], _attachments={"s.jpg": {"content_type": "image/jpeg", "data": scan}}
            ),
            replicated("bodiless", 2, ["b", "a"], v=1),
        ],
        new_edits=False,
    )
    db._db.execute("DELETE FROM revs WHERE doc_id = 'bodiless'")  # e.g. a file edited by hand
    results = db.bulk_docs(
        [
            replicated("plain", 3, ["c", "b", "a"], v=2),
            replicated("scanned", 3, ["c", "b", "a"], v=2),  # the scan removed
            replicated("bodiless", 3, ["c", "b", "a"], v=2),
        ],
        new_edits=False,
    )
    assert all(r.get("ok") for r in results)
    assert _rev_rows(db) == [("bodiless", "3-c"), ("plain", "3-c"), ("scanned", "3-c")]
    assert [db.get(d)["v"] for d in ("plain", "scanned", "bodiless")] == [2, 2, 2]
    assert "_attachments" not in db.get("scanned")
    assert db._db.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 0
    assert db._db.execute("SELECT COUNT(*) FROM rev_attachments").fetchone()[0] == 0
    assert db.get("plain", revs=True)["_revisions"] == {"start": 3, "ids": ["c", "b", "a"]}


def test_a_next_revision_keeping_its_scan_keeps_the_content(db: LocalStore) -> None:
    data = b"kept scan"
    scan = base64.b64encode(data).decode()
    db.bulk_docs(
        [replicated("d", 1, ["a"], _attachments={"s.jpg": {"content_type": "image/jpeg", "data": scan}})],
        new_edits=False,
    )
    stub = db.get("d")["_attachments"]["s.jpg"]
    db.bulk_docs([replicated("d", 2, ["b", "a"], v=2, _attachments={"s.jpg": stub})], new_edits=False)
    assert db.get_attachment("d", "s.jpg") == data
    assert _rev_rows(db) == [("d", "2-b")]


def test_a_scan_dropped_within_one_batch_is_collected(db: LocalStore) -> None:
    """A document written twice in one batch is read again outside the batch's query: its old
    leaf counts as possibly holding attachments, and the scan the next revision drops goes."""
    scan = base64.b64encode(b"scan of one batch").decode()
    results = db.bulk_docs(
        [
            replicated("d", 1, ["a"], _attachments={"s.jpg": {"content_type": "image/jpeg", "data": scan}}),
            replicated("d", 2, ["b", "a"], v=2),
        ],
        new_edits=False,
    )
    assert all(r.get("ok") for r in results)
    assert _rev_rows(db) == [("d", "2-b")]
    assert db._db.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 0
    assert db.get("d") == {"_id": "d", "_rev": "2-b", "v": 2}
