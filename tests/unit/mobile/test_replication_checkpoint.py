"""Replication ids and the choice of where to resume (CouchDB's session-history rule)."""

from __future__ import annotations

import pytest

from mobile.replication.checkpoint import HISTORY_SIZE, Session, next_log, replication_id, start_seq
from mobile.replication.endpoint import revision_ancestry


def log(session: str, seq: int, *history: tuple[str, int]) -> dict[str, object]:
    return {"session_id": session, "source_last_seq": seq,
            "history": [{"session_id": s, "recorded_seq": q} for s, q in history]}


@pytest.mark.parametrize(("source", "target", "expected"), [
    (None, None, 0),
    (log("a", 5, ("a", 5)), None, 0),
    (log("b", 9, ("b", 9), ("a", 5)), log("b", 9, ("b", 9), ("a", 5)), 9),
    # the target was restored from a backup taken after session a: resume at a
    (log("c", 12, ("c", 12), ("b", 9), ("a", 5)), log("a", 5, ("a", 5)), 5),
    # only the target saw session c (the source's write was lost): newest common is b
    (log("b", 9, ("b", 9), ("a", 5)), log("c", 12, ("c", 12), ("b", 9), ("a", 5)), 9),
    (log("x", 3, ("x", 3)), log("y", 4, ("y", 4)), 0),
    ({"session_id": "s", "source_last_seq": "181-g1AAAA"},
     {"session_id": "s", "source_last_seq": "181-g1AAAA"}, "181-g1AAAA"),
    # the source's log runs ahead of the target's (written while the batch travelled, ADR 0135):
    # the batch that did not land is not skipped
    (log("b", 12, ("b", 12), ("a", 5)), log("b", 9, ("b", 9), ("a", 5)), 9),
    (log("c", 20, ("c", 20), ("b", 12)), log("d", 30, ("d", 30), ("b", 9)), 9),
    ({"session_id": "s", "source_last_seq": "181-g1AAAA"}, {"session_id": "s"}, 0),
])
def test_start_seq(source: dict[str, object] | None, target: dict[str, object] | None,
                   expected: object) -> None:
    assert start_seq(source, target) == expected


def test_next_log_replaces_this_session_and_caps_history() -> None:
    previous = {"_id": "_local/r", "_rev": "0-3", **log("old0", 1, *[(f"old{i}", i) for i in range(60)])}
    session = Session("now", "2026-11-24T06:30:00Z")
    first = next_log(previous, "_local/r", session, 70, "2026-11-24T06:31:00Z", {"docs_written": 1})
    second = next_log(first, "_local/r", session, 80, "2026-11-24T06:32:00Z", {"docs_written": 2})
    assert second["_rev"] == "0-3" and second["source_last_seq"] == 80 and second["session_id"] == "now"
    assert len(second["history"]) == HISTORY_SIZE
    assert second["history"][0] == {"session_id": "now", "recorded_seq": 80, "start_time": session.start_time,
                                    "end_time": "2026-11-24T06:32:00Z", "docs_written": 2}
    assert second["history"][1]["session_id"] == "old0"


def test_replication_id_is_stable_and_depends_on_both_ends_and_filter() -> None:
    rid = replication_id("local:abc", "http://h/db")
    assert rid == replication_id("local:abc", "http://h/db")
    others = {replication_id("http://h/db", "local:abc"), replication_id("local:abc", "http://h/db", "v1")}
    assert len({rid, *others}) == 3


def test_revision_ancestry() -> None:
    doc = {"_rev": "3-c", "_revisions": {"start": 3, "ids": ["c", "b", "a"]}}
    assert revision_ancestry(doc) == ["3-c", "2-b", "1-a"]
    assert revision_ancestry({"_rev": "1-x"}) == ["1-x"]


def test_by_bytes_groups_documents_under_the_limit() -> None:
    from mobile.replication.transfer import by_bytes

    def doc(n: int, size: int) -> dict[str, object]:
        return {"_id": f"d{n}", "_rev": "1-a", "_attachments": {"a": {"stub": True, "length": size}}}

    docs = [doc(0, 10), doc(1, 10), doc(2, 30), doc(3, 5), doc(4, 0)]
    lacking = {(f"d{n}", "1-a", "a") for n in range(4)}
    groups = by_bytes(docs, lacking, 25)
    assert [[d["_id"] for d in g] for g in groups] == [["d0", "d1"], ["d2"], ["d3", "d4"]]
