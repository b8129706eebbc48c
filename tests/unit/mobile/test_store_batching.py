"""A batch written in one transaction with pending rows (ADR 0134) ends as one write at a time would.

The store defers the `docs`, `revs` and query rows of a `bulk_docs` to one statement each before
COMMIT and reads the batch's records up front; these tests write the same documents once as one
batch and once one by one, in two stores, and compare everything a reader can see.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from mobile.store import LocalStore, NotFound


def _replicated(doc_id: str, start: int, ids: list[str], **body: Any) -> dict[str, Any]:
    return {"_id": doc_id, "_rev": f"{start}-{ids[0]}", "_revisions": {"start": start, "ids": ids}, **body}


def generation(doc: dict[str, Any]) -> int:
    revisions = doc.get("_revisions")
    return int(revisions["start"]) if isinstance(revisions, dict) else 0


def _case(doc_id: str, name: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "_id": doc_id,
        "type": "case",
        "status": status,
        "applicant": {"name": name, "id_number": "33021219800101123X"},
        "division": {"village": "330212001001"},
        "updated_at": "2026-12-07T08:00:00Z",
        "tracking_code": "K0000001",
        **extra,
    }


def _visible(db: LocalStore, ids: list[str]) -> dict[str, Any]:
    """Everything a reader can see of the documents: leaves, winners, feed and query rows."""
    seen: dict[str, Any] = {
        "changes": db.changes(style="all_docs", include_docs=True, conflicts=True)["results"],
        "cases": db.find_cases(limit=1000),
        "by_name": db.find_cases(text="zs"),
        "info": {k: v for k, v in db.info().items() if k != "db_name"},
        "conflicted": sorted(db.conflicted(ids)),
    }
    for doc_id in ids:
        try:
            leaves = db.get_open_revs(doc_id, "all")
        except NotFound:
            seen[doc_id] = "missing"
            continue
        seen[doc_id] = sorted(json.dumps(r, sort_keys=True) for r in leaves)
    return seen


def _batch(prefix: str) -> list[dict[str, Any]]:
    """New, repeated, branching, deleted and refused documents in one replicated batch."""
    a, b, c, d = (f"{prefix}:{n}" for n in "abcd")
    return [
        _replicated(a, 2, ["a2", "a1"], **_case(a, "张三", "draft")),
        _replicated(b, 1, ["b1"], **_case(b, "李四", "submitted")),
        _replicated(a, 3, ["a3", "a2", "a1"], **_case(a, "张三", "submitted")),  # same doc again
        {"_id": c, "_rev": "not-a-rev", "type": "case"},  # refused, the rest goes on
        _replicated(b, 2, ["b2x", "b1"], **_case(b, "李四", "accepted")),  # a conflict on b
        _replicated(b, 2, ["b2y", "b1"], **_case(b, "李四", "draft")),
        _replicated(d, 1, ["d1"], **_case(d, "王五", "draft")),
        _replicated(d, 2, ["d2", "d1"], _deleted=True),  # deleted in the same batch
        _replicated(a, 3, ["a3", "a2", "a1"], **_case(a, "张三", "submitted")),  # known: ignored
    ]


def test_one_batch_ends_as_one_write_at_a_time(tmp_path: Path) -> None:
    prefix = f"case:{uuid.uuid4().hex[:8]}"
    docs = _batch(prefix)
    ids = sorted({d["_id"] for d in docs})
    with LocalStore(tmp_path / "batch.sqlite") as batch, LocalStore(tmp_path / "single.sqlite") as single:
        together = batch.bulk_docs(docs, new_edits=False)
        # the store applies one document's revisions together, oldest generation first
        first = {doc["_id"]: n for n, doc in reversed(list(enumerate(docs)))}
        order = sorted(range(len(docs)), key=lambda n: (first[docs[n]["_id"]], generation(docs[n])))
        alone: list[dict[str, Any]] = [{} for _ in docs]
        for n in order:
            alone[n] = single.bulk_docs([docs[n]], new_edits=False)[0]
        assert together == alone
        assert [r.get("error") for r in together].count("bad_request") == 1
        assert _visible(batch, ids) == _visible(single, ids)
        assert batch.conflicted(ids) == {f"{prefix}:b"}
        assert _visible(batch, ids)[f"{prefix}:c"] == "missing"


def test_edits_in_one_batch_see_earlier_ones(tmp_path: Path) -> None:
    """new_edits=true: a document created and then edited in the same batch."""
    doc_id = f"case:{uuid.uuid4().hex[:8]}"
    with LocalStore(tmp_path / "edits.sqlite") as db:
        first = db.bulk_docs([_case(doc_id, "张三", "draft")])[0]
        answers = db.bulk_docs(
            [
                {**_case(doc_id, "张三", "submitted"), "_rev": first["rev"]},
                {**_case(doc_id, "张三", "accepted"), "_rev": first["rev"]},  # stale rev: conflict
            ]
        )
        assert answers[0]["ok"] and answers[1]["error"] == "conflict"
        assert db.get(doc_id)["status"] == "submitted"
        assert [row["status"] for row in db.find_cases(text="zs")] == ["submitted"]
        assert db.changes()["results"][-1]["seq"] == db.info()["update_seq"] == 2


def test_a_deleted_winner_is_not_conflicted(tmp_path: Path) -> None:
    doc_id = f"case:{uuid.uuid4().hex[:8]}"
    with LocalStore(tmp_path / "deleted.sqlite") as db:
        db.bulk_docs(
            [
                _replicated(doc_id, 1, ["r1"], v=0),
                _replicated(doc_id, 2, ["x", "r1"], _deleted=True),
                _replicated(doc_id, 2, ["y", "r1"], _deleted=True),
            ],
            new_edits=False,
        )
        assert db.conflicted([doc_id, "case:absent"]) == set()
        db.bulk_docs([_replicated(doc_id, 3, ["z", "y", "r1"], v=1)], new_edits=False)
        assert db.conflicted([doc_id]) == set()  # the other live leaf is gone: only deleted ones
        db.bulk_docs([_replicated(doc_id, 2, ["w", "r1"], v=2)], new_edits=False)
        assert db.conflicted([doc_id, doc_id]) == {doc_id}


def test_bulk_open_revs_and_known_digests_answer_in_one_read(tmp_path: Path) -> None:
    doc_id = f"case:{uuid.uuid4().hex[:8]}"
    with LocalStore(tmp_path / "reads.sqlite") as db:
        first = db.put(_case(doc_id, "张三", "draft"))
        with_scan = db.put_attachment(doc_id, first["rev"], "scan.jpg", b"\xff\xd8scan", "image/jpeg")
        found = db.bulk_open_revs({doc_id: [with_scan["rev"], "9-absent"], "case:absent": ["1-x"]})
        assert [d["_rev"] for d in found] == [with_scan["rev"]]
        assert found[0] == db.get_open_revs(doc_id, [with_scan["rev"]])[0]["ok"]
        digest = found[0]["_attachments"]["scan.jpg"]["digest"]
        assert db.known_digests([digest, "md5-absent", "", digest]) == {digest}
