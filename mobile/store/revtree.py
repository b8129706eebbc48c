"""Revision tree (修订树) of one document, as pure functions over an immutable value.

CouchDB keeps every document as a tree of revisions: each edit adds a child to a leaf,
concurrent edits on two devices add two children to the same parent (a conflict), and
replication copies the branches across unchanged. Its own code (`couch_key_tree`) and
PouchDB's (`pouchdb-merge`) hold the tree as nested lists; here it is flat:

    {"3-c7…": RevNode(pos=3, hash="c7…", parent="a1…", deleted=False), …}

keyed by the rev string, each node naming its parent's hash (the parent sits at `pos - 1`)
or `None` for a root — the first revision, or the oldest one kept after stemming. A flat
map makes every operation a loop instead of a recursion (a 1,000-revision chain would
exceed Python's recursion limit) and makes merging a set union: a node is identified by
`pos` and `hash`, so merging the same paths in any order gives the same tree.

Stored as JSON `[[pos, hash, parent_hash_or_null, deleted_0_or_1], …]` sorted by
(pos, hash).

A path, as replication carries it in `_revisions`, is `RevPath(start, ids, deleted)`:
`ids` from the leaf (at `start`) back towards the root, `deleted` for the leaf only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

RevTree = Mapping[str, "RevNode"]


@dataclass(frozen=True, slots=True)
class RevNode:
    """One revision: generation, hash, parent hash (None for a root), deletion flag."""

    pos: int
    hash: str
    parent: str | None
    deleted: bool

    @property
    def rev(self) -> str:
        return f"{self.pos}-{self.hash}"


@dataclass(frozen=True, slots=True)
class RevPath:
    """A leaf and its known ancestors, leaf first — CouchDB's `_revisions` {start, ids}."""

    start: int
    ids: tuple[str, ...]
    deleted: bool = False

    @property
    def rev(self) -> str:
        return f"{self.start}-{self.ids[0]}"


class RevFormatError(ValueError):
    """A rev string that is not `<positive int>-<hash>`."""


def parse_rev(rev: str) -> tuple[int, str]:
    """Split "3-abc" into (3, "abc"); raise RevFormatError on anything else."""
    if not isinstance(rev, str):
        raise RevFormatError(f"Invalid rev format: {rev!r}")
    pos_text, sep, rev_hash = rev.partition("-")
    if not sep or not rev_hash or not pos_text.isdigit() or int(pos_text) < 1:
        raise RevFormatError(f"Invalid rev format: {rev!r}")
    return int(pos_text), rev_hash


def path_from_revisions(rev: str, revisions: Mapping[str, Any] | None, deleted: bool) -> RevPath:
    """Build the path of `rev` from an optional `_revisions` value; check they agree."""
    pos, rev_hash = parse_rev(rev)
    if revisions is None:
        return RevPath(pos, (rev_hash,), deleted)
    start, ids = revisions.get("start"), revisions.get("ids")
    if (
        not isinstance(start, int)
        or not isinstance(ids, list)
        or not ids
        or not (
            ("" not in ids and set(map(type, ids)) == _STR_ONLY) or all(isinstance(i, str) and i for i in ids)
        )
        or start < len(ids)
    ):
        raise RevFormatError("Invalid _revisions")
    if start != pos or ids[0] != rev_hash:
        raise RevFormatError("_rev does not match _revisions")
    return RevPath(start, tuple(ids), deleted)


_STR_ONLY = {str}


def _all_hashes(ids: list[Any]) -> bool:
    """Every id a non-empty string; the usual case (plain strings) is checked without a Python loop."""
    return ("" not in ids and set(map(type, ids)) == _STR_ONLY) or all(isinstance(i, str) and i for i in ids)


def merge(tree: RevTree, path: RevPath, revs_limit: int) -> dict[str, RevNode]:
    """Add `path` to `tree`, then stem to `revs_limit`; the input is left untouched."""
    nodes = dict(tree)
    ids = path.ids
    for offset, rev_hash in enumerate(ids):
        pos = path.start - offset
        parent = ids[offset + 1] if offset + 1 < len(ids) else None
        deleted = path.deleted and offset == 0
        key = f"{pos}-{rev_hash}"
        old = nodes.get(key)
        if old is None:
            nodes[key] = RevNode(pos, rev_hash, parent, deleted)
        elif (old.parent is None and parent is not None) or (deleted and not old.deleted):
            # A root known only after stemming gets its parent back from a longer path;
            # the deletion flag belongs to the revision, so either side saying so wins.
            nodes[key] = RevNode(pos, rev_hash, old.parent or parent, old.deleted or deleted)
    return stem(nodes, revs_limit)


def stem(tree: RevTree, revs_limit: int) -> dict[str, RevNode]:
    """Keep the last `revs_limit` revisions of every root-to-leaf path (CouchDB 3's rule).

    A node survives when some leaf below it is fewer than `revs_limit` generations away;
    a survivor whose parent is cut becomes a root.
    """
    if len(tree) <= revs_limit:  # no path can be longer than the whole tree: nothing to cut
        return dict(tree)
    # revisions still allowed above each kept node; a walk stops where an earlier walk
    # already went at least as far, so the cost stays linear in the tree size
    budget: dict[str, int] = {}
    for leaf in leaves(tree):
        node: RevNode | None = leaf
        remaining = revs_limit
        while node is not None and remaining > 0 and budget.get(node.rev, 0) < remaining:
            budget[node.rev] = remaining
            remaining -= 1
            node = _parent(tree, node)
    kept = budget.keys()
    if len(kept) == len(tree):
        return dict(tree)
    out: dict[str, RevNode] = {}
    for key in kept:
        node = tree[key]
        if node.parent is not None and f"{node.pos - 1}-{node.parent}" not in kept:
            node = RevNode(node.pos, node.hash, None, node.deleted)
        out[key] = node
    return out


def _parent(tree: RevTree, node: RevNode) -> RevNode | None:
    if node.parent is None:
        return None
    return tree.get(f"{node.pos - 1}-{node.parent}")


def leaves(tree: RevTree) -> list[RevNode]:
    """Leaf revisions, in winning order: the winner first (see `winning_key`)."""
    parents = {f"{n.pos - 1}-{n.parent}" for n in tree.values() if n.parent is not None}
    found = [n for key, n in tree.items() if key not in parents]
    return sorted(found, key=winning_key, reverse=True)


def winning_key(node: RevNode) -> tuple[bool, int, str]:
    """CouchDB's order: a live leaf beats a deleted one, then the longer path, then the larger hash."""
    return (not node.deleted, node.pos, node.hash)


def winning_rev(tree: RevTree) -> RevNode:
    """The leaf every replica agrees to show; raise ValueError on an empty tree."""
    if not tree:
        raise ValueError("empty revision tree")
    return leaves(tree)[0]


def collect_conflicts(tree: RevTree) -> list[str]:
    """Live leaves other than the winner (`_conflicts`), in winning order."""
    return [n.rev for n in leaves(tree)[1:] if not n.deleted]


def deleted_conflicts(tree: RevTree) -> list[str]:
    """Deleted leaves other than the winner (`_deleted_conflicts`)."""
    return [n.rev for n in leaves(tree)[1:] if n.deleted]


def ancestry(tree: RevTree, rev: str) -> RevPath:
    """The path from `rev` back to its root, as `_revisions` reports it; KeyError if absent."""
    leaf = tree[rev]
    node: RevNode | None = leaf
    ids: list[str] = []
    while node is not None:
        ids.append(node.hash)
        node = _parent(tree, node)
    return RevPath(leaf.pos, tuple(ids), leaf.deleted)


def is_leaf(tree: RevTree, rev: str) -> bool:
    node = tree.get(rev)
    if node is None:
        return False
    return not any(n.parent == node.hash and n.pos == node.pos + 1 for n in tree.values())


def latest(tree: RevTree, rev: str) -> str:
    """The best leaf descending from `rev` (itself when a leaf); KeyError if `rev` is absent."""
    if rev not in tree:
        raise KeyError(rev)
    for leaf in leaves(tree):
        node: RevNode | None = leaf
        while node is not None and node.pos >= tree[rev].pos:
            if node.rev == rev:
                return leaf.rev
            node = _parent(tree, node)
    return rev


def to_json(tree: RevTree) -> str:
    """Serialise as `[[pos, hash, parent, deleted], …]` sorted by (pos, hash)."""
    rows = [[n.pos, n.hash, n.parent, int(n.deleted)] for n in sorted(tree.values(), key=_node_order)]
    return _tree_json(rows)


def path_json(path: RevPath, revs_limit: int) -> str:
    """`to_json(merge({}, path, revs_limit))` without building the nodes: the tree of a document
    the store does not have yet — one linear path, stemmed to `revs_limit` — which is what most
    replicated writes are (ADR 0144)."""
    ids = path.ids[:revs_limit]
    start = path.start
    last = len(ids) - 1
    joined = "".join(ids)
    if joined.isascii() and joined.isalnum():  # plain hashes need no escaping: write the text
        leaf = f'[{start},"{ids[0]}",{_quoted(ids, 1)},{int(path.deleted)}]'
        older = [f'[{start - k},"{ids[k]}",{_quoted(ids, k + 1)},0]' for k in range(last, 0, -1)]
        return f"[{','.join([*older, leaf])}]"
    rows: list[list[Any]] = [
        [start - offset, rev_hash, ids[offset + 1] if offset < last else None, 0]
        for offset, rev_hash in enumerate(ids)
    ]
    if path.deleted:
        rows[0][3] = 1
    rows.reverse()  # oldest first: sorted by (pos, hash), every pos once
    return _tree_json(rows)


def _quoted(ids: tuple[str, ...], at: int) -> str:
    return f'"{ids[at]}"' if at < len(ids) else "null"


def extend_only_leaf(tree: RevTree, leaf_rev: str, path: RevPath, revs_limit: int) -> str | None:
    """`to_json(merge(tree, path, revs_limit))` when `tree` is one chain ending at `leaf_rev` and
    `path` continues it (the next revisions of a document without conflicts, which is what most
    of a later pull is); None when it is anything else, for the general merge (ADR 0144).
    The store calls `next_on_chain` on the stored JSON instead (ADR 0155)."""
    text = to_json(tree)
    rows = chain_rows(text) if tree else None
    if rows is None or f"{rows[-1][0]}-{rows[-1][1]}" != leaf_rev:
        return None
    return extend_chain(rows, path, revs_limit, text)


def next_on_chain(stored: str, path: RevPath, revs_limit: int) -> str | None:
    """The tree JSON once the replicated revision `path` is written into `stored`, when that is a
    single chain (`chain_rows`, ADR 0155): `stored` itself when the chain holds the revision already
    (nothing changes: see `LocalStore`'s replicated writes), the chain continued when `path`
    continues its leaf (`extend_chain`); None for any other tree or path, for the general merge.

    The next revision of a document without conflicts whose history came whole (most of a later
    pull) is answered without reading the rows: when `stored` is exactly what `path_json` writes
    for `path`'s ancestors (nothing stemmed, no deleted leaf, plain ids), the new row is appended
    to the text (ADR 0161)."""
    ids = path.ids
    if 2 <= len(ids) <= revs_limit:
        added = ids[0] + ids[1]  # the new row's ids, written below as they are: plain ones only
        if (
            added.isascii()
            and added.isalnum()
            and path_json(RevPath(path.start - 1, ids[1:]), revs_limit) == stored
        ):
            return f'{stored[:-1]},[{path.start},"{ids[0]}","{ids[1]}",{int(path.deleted)}]]'
    rows = chain_rows(stored)
    if rows is None:
        return None
    if chain_holds(rows, path.start, ids[0]):
        return stored
    return extend_chain(rows, path, revs_limit, stored)


def chain_rows(tree_json: str) -> list[list[Any]] | None:
    """The stored rows of a tree that is a single chain — one root, one leaf (the last row), no
    branch: every row one generation after the previous one and its child —, oldest first; None
    for any other tree. Most documents are such a chain; their writes and conflict checks need
    no `RevNode`s (ADR 0155)."""
    rows: list[list[Any]] = json.loads(tree_json)
    if not rows:
        return None
    prev = rows[0]
    for row in rows[1:]:  # sorted by (pos, hash): one row per generation means one node each
        if row[0] != prev[0] + 1 or row[2] != prev[1]:
            return None
        prev = row
    return rows


def chain_holds(rows: list[list[Any]], pos: int, rev_hash: str) -> bool:
    """Whether the chain `rows` (from `chain_rows`) holds revision `pos`-`rev_hash`."""
    at = pos - rows[0][0]
    return 0 <= at < len(rows) and bool(rows[at][1] == rev_hash)


def extend_chain(
    rows: list[list[Any]], path: RevPath, revs_limit: int, stored: str | None = None
) -> str | None:
    """`to_json(merge(tree, path, revs_limit))` for the chain `rows` (from `chain_rows`) when `path`
    continues its leaf; None when it does not, for the general merge. The path must agree with
    the chain wherever they overlap and add nothing below it: no ancestor older than the chain's
    root, no parent for a stemmed root. `rows` is consumed. `stored`, the JSON `rows` was read
    from, is extended as text when nothing is stemmed and the new ids are plain."""
    leaf = rows[-1]
    ids, start = path.ids, path.start
    offset = start - leaf[0]  # the leaf's place in the path
    if offset < 1 or offset >= len(ids) or ids[offset] != leaf[1]:
        return None
    count = len(rows)
    for back in range(1, min(count, len(ids) - offset)):  # the ancestors the path names too
        if ids[offset + back] != rows[count - 1 - back][1]:
            return None  # the path names another ancestor: a branch
    if offset + count < len(ids) or (offset + count == len(ids) and rows[0][2] is not None):
        return None  # the path reaches below the chain's root
    if stored is not None and count + offset <= revs_limit and stored.endswith("]"):
        added = "".join(ids[: offset + 1])
        if added.isascii() and added.isalnum():  # the new rows as text, appended to the stored
            leaf_row = f'[{start},"{ids[0]}","{ids[1]}",{int(path.deleted)}]'
            older = [f'[{start - k},"{ids[k]}","{ids[k + 1]}",0]' for k in range(offset - 1, 0, -1)]
            return f"{stored[:-1]},{','.join([*older, leaf_row])}]"
    rows.extend(
        [start - k, ids[k], ids[k + 1], 0] for k in range(offset - 1, -1, -1)
    )  # oldest new revision first; ids[k + 1] exists since k < offset < len(ids)
    if path.deleted:
        rows[-1][3] = 1
    if len(rows) > revs_limit:
        rows = rows[-revs_limit:]
        rows[0][2] = None
    return _tree_json(rows)


# one encoder for every tree: json.dumps with options builds a new one per call
_tree_json = json.JSONEncoder(separators=(",", ":")).encode


def from_json(text: str) -> dict[str, RevNode]:
    return {f"{p}-{h}": RevNode(int(p), str(h), parent, bool(d)) for p, h, parent, d in json.loads(text)}


def _node_order(node: RevNode) -> tuple[int, str]:
    return (node.pos, node.hash)


def rev_hash(
    body: Mapping[str, Any],
    parent_rev: str | None,
    deleted: bool,
    attachment_digests: Iterable[tuple[str, str]] = (),
) -> str:
    """Deterministic id of a new revision: md5 over body, parent, deletion and attachments.

    Like CouchDB, the same edit made on two devices gives the same rev (so replicating it
    twice is no conflict); the bytes hashed differ from CouchDB's, which is allowed — only
    the `<pos>-<32 hex>` form is part of the protocol.
    """
    payload = [int(deleted), parent_rev or "", dict(body), sorted(attachment_digests)]
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()
