"""The conflict worker's base for the three-way merge: the newest revision every leaf descends from."""

from __future__ import annotations

from sync_server.workers.conflicts import common_ancestor


def leaf(start: int, *ids: str) -> dict[str, object]:
    return {"_rev": f"{start}-{ids[0]}", "_revisions": {"start": start, "ids": list(ids)}}


def test_the_newest_shared_revision_is_the_base() -> None:
    assert common_ancestor([leaf(4, "d", "c", "b", "a"), leaf(3, "x", "b", "a")]) == "2-b"
    assert common_ancestor([leaf(4, "z", "c", "b"), leaf(3, "x", "b", "a"), leaf(3, "y", "b", "a")]) == "2-b"


def test_no_base_without_a_shared_revision_or_a_history() -> None:
    assert common_ancestor([leaf(2, "x", "a"), leaf(5, "y", "q")]) is None
    assert common_ancestor([leaf(2, "x", "a"), {"_rev": "2-y"}]) is None
