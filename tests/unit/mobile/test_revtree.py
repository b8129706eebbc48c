"""Revision tree: CouchDB's key-tree cases as tables, winner and conflicts, stemming, a merge property.

Trees are written as CouchDB's tests write them: `(pos, ("hash", [children…]))`.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mobile.store import revtree
from mobile.store.revtree import RevNode, RevPath

Nested = tuple[str, list[Any]]


def tree_of(*branches: tuple[int, Nested], deleted: frozenset[str] = frozenset()) -> dict[str, RevNode]:
    nodes: dict[str, RevNode] = {}
    stack: list[tuple[int, Nested, str | None]] = [(pos, nested, None) for pos, nested in branches]
    while stack:
        pos, (rev_hash, children), parent = stack.pop()
        nodes[f"{pos}-{rev_hash}"] = RevNode(pos, rev_hash, parent, rev_hash in deleted)
        stack.extend((pos + 1, child, rev_hash) for child in children)
    return nodes


def paths_of(*branches: tuple[int, Nested]) -> list[RevPath]:
    """Every root-to-leaf path of a nested tree, as `_revisions` would carry them."""
    out: list[RevPath] = []
    stack: list[tuple[int, Nested, tuple[str, ...]]] = [(pos, nested, ()) for pos, nested in branches]
    while stack:
        pos, (rev_hash, children), above = stack.pop()
        ids = (rev_hash, *above)
        if not children:
            out.append(RevPath(pos, ids))
        stack.extend((pos + 1, child, ids) for child in children)
    return out


def merged(tree: dict[str, RevNode], *branches: tuple[int, Nested], depth: int = 10) -> dict[str, RevNode]:
    for path in paths_of(*branches):
        tree = revtree.merge(tree, path, depth)
    return tree


ONE: tuple[int, Nested] = (1, ("1", []))
TWO_SIBS: list[tuple[int, Nested]] = [(1, ("1", [])), (1, ("2", []))]
THREE: tuple[int, Nested] = (1, ("3", []))
TWO_CHILD: tuple[int, Nested] = (1, ("1", [("1a", [("1aa", [])])]))
TWO_CHILD_SIBS: tuple[int, Nested] = (1, ("1", [("1a", []), ("1b", [])]))
TWO_CHILD_PLUS_SIBS: tuple[int, Nested] = (1, ("1", [("1a", [("1aa", [])]), ("1b", [])]))
ONE_CHILD: tuple[int, Nested] = (1, ("1", [("1a", [])]))
STEMMED_1AA: tuple[int, Nested] = (3, ("1aa", []))

# (name, starting tree, merged-in tree, expected) — couch_key_tree_tests.erl, positions from 1
MERGE_CASES: list[tuple[str, list[Any], list[Any], list[Any]]] = [
    ("empty tree is the identity", [], [ONE], [ONE]),
    ("reflexive", [ONE], [ONE], [ONE]),
    ("prefix of a tree", TWO_SIBS, [ONE], TWO_SIBS),
    ("unrelated branch is a conflict", TWO_SIBS, [THREE], [*TWO_SIBS, THREE]),
    ("reflexive for child nodes", [TWO_CHILD], [TWO_CHILD], [TWO_CHILD]),
    ("tree to itself", [TWO_CHILD_SIBS], [TWO_CHILD_SIBS], [TWO_CHILD_SIBS]),
    ("tree of odd length", [TWO_CHILD_SIBS], [TWO_CHILD], [TWO_CHILD_PLUS_SIBS]),
    ("stem inside a tree", [TWO_CHILD_SIBS], [(2, ("1a", []))], [TWO_CHILD_SIBS]),
    (
        "stem at a deeper level",
        [(1, ("1", [("1a", []), ("1b", [("1bb", [])])]))],
        [(3, ("1bb", []))],
        [(1, ("1", [("1a", []), ("1b", [("1bb", [])])]))],
    ),
    (
        "stem at a deeper level with stemmed paths",
        [(2, ("1a", [])), (2, ("1b", [("1bb", [])]))],
        [(3, ("1bb", []))],
        [(2, ("1a", [])), (2, ("1b", [("1bb", [])]))],
    ),
    ("single tree with a deeper stem", [TWO_CHILD], [STEMMED_1AA], [TWO_CHILD]),
    ("tree with a large stem", [TWO_CHILD], [(2, ("1a", [("1aa", [])]))], [TWO_CHILD]),
    ("stems merge", [(2, ("1a", [("1aa", [])]))], [STEMMED_1AA], [(2, ("1a", [("1aa", [])]))]),
    ("unconnected stem is a conflict", [ONE_CHILD], [STEMMED_1AA], [ONE_CHILD, STEMMED_1AA]),
    ("new information reconnects stems", [ONE_CHILD, STEMMED_1AA], [TWO_CHILD], [TWO_CHILD]),
    (
        "COUCHDB-902: an edit on one branch leaves the other alone",
        [(1, ("foo", [("foo2", []), ("foo3", [])]))],
        [(1, ("foo", [("foo3", [("foo4", [])])]))],
        [(1, ("foo", [("foo2", []), ("foo3", [("foo4", [])])]))],
    ),
]


@pytest.mark.parametrize(
    ("name", "start", "incoming", "expected"), MERGE_CASES, ids=[c[0] for c in MERGE_CASES]
)
def test_merge_cases(name: str, start: list[Any], incoming: list[Any], expected: list[Any]) -> None:
    assert merged(tree_of(*start), *incoming) == tree_of(*expected)


# PouchDB's stemming cases (test.merge.js), with CouchDB 3's stemming rule: a revision is kept
# while a leaf below it is fewer than `depth` generations away.
NEW_BRANCH_LEAF_BRANCH: tuple[int, Nested] = (1, ("1", [("2_0", [("3", []), ("3_1", [])]), ("2_1", [])]))
STEM_CASES: list[tuple[str, list[Any], int, list[Any]]] = [
    ("simple", [(1, ("1", [("2_0", [("3", [])])]))], 2, [(2, ("2_0", [("3", [])]))]),
    ("branches of unequal length", [NEW_BRANCH_LEAF_BRANCH], 2, [NEW_BRANCH_LEAF_BRANCH]),
    ("to the leaves", [NEW_BRANCH_LEAF_BRANCH], 1, [(2, ("2_1", [])), (3, ("3", [])), (3, ("3_1", []))]),
    ("more levels than exist", [TWO_CHILD], 3, [TWO_CHILD]),
    ("one deepest node", [TWO_CHILD], 1, [STEMMED_1AA]),
    ("two deepest nodes", [TWO_CHILD], 2, [(2, ("1a", [("1aa", [])]))]),
]


@pytest.mark.parametrize(("name", "start", "depth", "expected"), STEM_CASES, ids=[c[0] for c in STEM_CASES])
def test_stem_cases(name: str, start: list[Any], depth: int, expected: list[Any]) -> None:
    assert revtree.stem(tree_of(*start), depth) == tree_of(*expected)


def test_merging_unstemmed_recovers_what_it_can() -> None:
    stemmed = tree_of((2, ("2_1", [])), (3, ("3", [])), (3, ("3_1", [])))
    result = merged(stemmed, (1, ("1", [("2_0", [("3", [])])])))
    assert result == tree_of((1, ("1", [("2_0", [("3", [])])])), (2, ("2_1", [])), (3, ("3_1", [])))


def test_stemming_keeps_a_long_chain_without_recursion() -> None:
    tree: dict[str, RevNode] = {}
    ids = tuple(f"{n:032x}" for n in range(3000, 0, -1))
    tree = revtree.merge(tree, RevPath(3000, ids), 1000)
    assert len(tree) == 1000
    assert revtree.ancestry(tree, f"3000-{ids[0]}").ids == ids[:1000]
    assert revtree.winning_rev(tree).rev == f"3000-{ids[0]}"


def test_winning_rev_picks_the_longest_path() -> None:
    tree = tree_of((1, ("bfe7", [("44d7", []), ("56e6", [("93c3", [])])])))
    assert revtree.winning_rev(tree).rev == "3-93c3"
    assert revtree.collect_conflicts(tree) == ["2-44d7"]


def test_winning_rev_prefers_live_over_deleted_and_then_larger_hash() -> None:
    tree = tree_of((1, ("a", [("b", [("c", [])]), ("d", [])])), deleted=frozenset({"c"}))
    assert revtree.winning_rev(tree).rev == "2-d"
    assert revtree.collect_conflicts(tree) == []
    assert revtree.deleted_conflicts(tree) == ["3-c"]
    siblings = tree_of((1, ("a", [("b", []), ("f", []), ("c", [])])))
    assert revtree.winning_rev(siblings).rev == "2-f"
    assert revtree.collect_conflicts(siblings) == ["2-c", "2-b"]


def test_all_deleted_picks_the_longest_deleted_leaf() -> None:
    tree = tree_of((1, ("a", [("b", [("c", [])]), ("d", [])])), deleted=frozenset({"c", "d"}))
    assert revtree.winning_rev(tree).rev == "3-c"


def test_latest_and_leaves() -> None:
    tree = tree_of(TWO_CHILD_PLUS_SIBS)
    assert revtree.latest(tree, "2-1a") == "3-1aa"
    assert revtree.latest(tree, "2-1b") == "2-1b"
    assert revtree.latest(tree, "1-1") == "3-1aa"
    assert [n.rev for n in revtree.leaves(tree)] == ["3-1aa", "2-1b"]
    assert revtree.is_leaf(tree, "2-1b") and not revtree.is_leaf(tree, "2-1a")


def test_json_round_trip() -> None:
    tree = tree_of(TWO_CHILD_PLUS_SIBS, STEMMED_1AA, deleted=frozenset({"1b"}))
    assert revtree.from_json(revtree.to_json(tree)) == tree


@pytest.mark.parametrize("bad", ["", "1", "-a", "a-b", "0-abc", "1-", 3])
def test_parse_rev_refuses_bad_revs(bad: Any) -> None:
    with pytest.raises(revtree.RevFormatError):
        revtree.parse_rev(bad)


def test_revisions_must_match_rev() -> None:
    assert revtree.path_from_revisions("2-b", {"start": 2, "ids": ["b", "a"]}, False) == RevPath(
        2, ("b", "a")
    )
    with pytest.raises(revtree.RevFormatError):
        revtree.path_from_revisions("2-b", {"start": 2, "ids": ["c", "a"]}, False)
    with pytest.raises(revtree.RevFormatError):
        revtree.path_from_revisions("2-b", {"start": 1, "ids": ["b", "a"]}, False)


def test_rev_hash_is_deterministic_32_hex() -> None:
    one = revtree.rev_hash({"a": 1, "b": [1, 2]}, "1-x", False)
    assert one == revtree.rev_hash({"b": [1, 2], "a": 1}, "1-x", False)
    assert len(one) == 32 and int(one, 16) >= 0
    assert one != revtree.rev_hash({"a": 1, "b": [1, 2]}, "1-x", True)
    assert one != revtree.rev_hash({"a": 1, "b": [1, 2]}, "1-y", False)
    assert one != revtree.rev_hash({"a": 1, "b": [1, 2]}, "1-x", False, [("s.jpg", "md5-x")])


# -- property: the same paths merged in any order give the same tree and the same winner -----


@st.composite
def universe_paths(draw: st.DrawFn) -> list[RevPath]:
    """Paths (possibly stemmed, possibly deleted leaves) drawn from one random revision tree."""
    size = draw(st.integers(min_value=1, max_value=14))
    parents = [None] + [draw(st.integers(min_value=0, max_value=i - 1)) for i in range(1, size)]
    deleted = draw(st.sets(st.integers(min_value=0, max_value=size - 1)))
    hashes = [f"{draw(st.integers(0, 2**16)):04x}{i:02d}" for i in range(size)]
    picks = draw(st.lists(st.integers(min_value=0, max_value=size - 1), min_size=1, max_size=8))
    paths: list[RevPath] = []
    for node in picks:
        chain = [node]
        while (parent := parents[chain[-1]]) is not None:
            chain.append(parent)
        keep = draw(st.integers(min_value=1, max_value=len(chain)))
        paths.append(RevPath(len(chain), tuple(hashes[i] for i in chain[:keep]), node in deleted))
    return paths


@settings(max_examples=60, deadline=None)
@given(paths=universe_paths(), seed=st.integers(min_value=0, max_value=2**32))
def test_merge_order_does_not_matter(paths: list[RevPath], seed: int) -> None:
    check_merge_order(paths, seed)


@pytest.mark.soak
@settings(max_examples=3000, deadline=None)
@given(paths=universe_paths(), seed=st.integers(min_value=0, max_value=2**32))
def test_merge_order_does_not_matter_soak(paths: list[RevPath], seed: int) -> None:
    check_merge_order(paths, seed)


def check_merge_order(paths: list[RevPath], seed: int) -> None:
    forward: dict[str, RevNode] = {}
    for path in paths:
        forward = revtree.merge(forward, path, 1000)
    shuffled = list(paths)
    random.Random(seed).shuffle(shuffled)
    backward: dict[str, RevNode] = {}
    for path in shuffled:
        backward = revtree.merge(backward, path, 1000)
    assert forward == backward
    assert revtree.winning_rev(forward) == revtree.winning_rev(backward)
    assert revtree.collect_conflicts(forward) == revtree.collect_conflicts(backward)


# -- property: a new document's tree written straight from its path (ADR 0144) --------------


@st.composite
def single_paths(draw: st.DrawFn) -> tuple[RevPath, int]:
    """One replicated path (any hash text, possibly deleted) and a revs_limit around its length."""
    ids = draw(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=12, unique=True))
    start = len(ids) + draw(st.integers(min_value=0, max_value=5))  # stemmed paths start higher
    limit = draw(st.integers(min_value=1, max_value=len(ids) + 2))
    return RevPath(start, tuple(ids), draw(st.booleans())), limit


@settings(max_examples=200, deadline=None)
@given(case=single_paths())
def test_path_json_is_the_merged_tree_of_an_empty_document(case: tuple[RevPath, int]) -> None:
    path, limit = case
    expected = revtree.to_json(revtree.merge({}, path, limit))
    assert revtree.path_json(path, limit) == expected
    assert revtree.from_json(expected) == revtree.merge({}, path, limit)


def test_path_json_stems_to_the_limit() -> None:
    path = RevPath(5, ("e", "d", "c", "b", "a"), deleted=True)
    assert revtree.path_json(path, 2) == '[[4,"d",null,0],[5,"e","d",1]]'


@pytest.mark.parametrize("ids", [["a", ""], ["a", 3], ["a", None]], ids=["empty hash", "number", "null"])
def test_revisions_ids_must_be_non_empty_strings(ids: list[Any]) -> None:
    with pytest.raises(revtree.RevFormatError):
        revtree.path_from_revisions("2-a", {"start": 2, "ids": ids}, False)


def test_revisions_ids_may_be_str_subclasses() -> None:
    class Hash(str):
        pass

    path = revtree.path_from_revisions("2-a", {"start": 2, "ids": [Hash("a"), Hash("b")]}, False)
    assert path.ids == ("a", "b")


@st.composite
def chain_and_path(draw: st.DrawFn) -> tuple[dict[str, RevNode], str, RevPath, int, bool]:
    """A stored chain (maybe stemmed, maybe with a second branch) and a replicated path that
    extends its leaf, or overlaps it wrongly, or reaches below its root; and whether the path is
    a plain continuation of a single chain (which the fast path must take)."""
    root_pos = draw(st.integers(min_value=1, max_value=4))
    length = draw(st.integers(min_value=1, max_value=6))
    hashes = [f"h{i}" for i in range(root_pos - 1 + length + 6)]  # hashes[p - 1] is at pos p
    tree = {
        f"{p}-{hashes[p - 1]}": RevNode(p, hashes[p - 1], hashes[p - 2] if p > root_pos else None, False)
        for p in range(root_pos, root_pos + length)
    }
    leaf_pos = root_pos + length - 1
    leaf = f"{leaf_pos}-{hashes[leaf_pos - 1]}"
    if draw(st.booleans()):  # the leaf itself may be a tombstone
        tree[leaf] = RevNode(leaf_pos, hashes[leaf_pos - 1], tree[leaf].parent, True)
    branch = draw(st.booleans()) and length > 1
    if branch:  # a conflicting sibling of the leaf
        tree[f"{leaf_pos}-x"] = RevNode(leaf_pos, "x", hashes[leaf_pos - 2], False)
    new = draw(st.integers(min_value=1, max_value=3))
    start = leaf_pos + new
    lowest = draw(st.integers(min_value=1, max_value=leaf_pos))  # the path's oldest revision
    ids = [hashes[p - 1] for p in range(start, lowest - 1, -1)]
    wrong = draw(st.booleans()) and len(ids) > new + 1
    if wrong:  # the path names another ancestor somewhere below the leaf
        ids[draw(st.integers(min_value=new + 1, max_value=len(ids) - 1))] = "other"
    limit = draw(st.integers(min_value=1, max_value=length + new + 1))
    plain = not branch and not wrong and lowest >= root_pos
    return tree, leaf, RevPath(start, tuple(ids), draw(st.booleans())), limit, plain


@settings(max_examples=300, deadline=None)
@given(case=chain_and_path())
def test_extend_only_leaf_is_the_merge_or_declines(
    case: tuple[dict[str, RevNode], str, RevPath, int, bool],
) -> None:
    tree, leaf, path, limit, plain = case
    fast = revtree.extend_only_leaf(tree, leaf, path, limit)
    if plain:
        assert fast is not None
    if fast is not None:
        assert fast == revtree.to_json(revtree.merge(tree, path, limit))


def test_extend_only_leaf_declines_a_path_that_does_not_continue_the_leaf() -> None:
    tree = {"1-a": RevNode(1, "a", None, False), "2-b": RevNode(2, "b", "a", False)}
    assert revtree.extend_only_leaf(tree, "2-b", RevPath(3, ("c", "b", "a")), 10) == (
        '[[1,"a",null,0],[2,"b","a",0],[3,"c","b",0]]'
    )
    assert revtree.extend_only_leaf(tree, "2-b", RevPath(3, ("c", "z")), 10) is None  # a sibling's child
    assert revtree.extend_only_leaf(tree, "2-b", RevPath(2, ("b", "a")), 10) is None  # nothing new
    assert revtree.extend_only_leaf(tree, "2-b", RevPath(3, ("c", "b", "a")), 2) == (
        '[[2,"b",null,0],[3,"c","b",0]]'
    )
