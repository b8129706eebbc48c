"""Local store query tables: the case list's filters and text search, kept in step with every write."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mobile.store import BadRequest, LocalStore
from mobile.store.query import initials_of, normalize_code, spelled_of


def make_case(n: int, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": f"case:{n:04d}",
        "type": "case",
        "item_code": "dibao",
        "division": {"village": "330212001001", "township": "330212001", "county": "330212"},
        "applicant": {"name": "张三", "id_number": f"33021219900101{n:04d}", "phone": "13800000000"},
        "status": "draft",
        "tracking_code": f"K7Q2-{n:04d}",
        "needs_review": False,
        "updated_at": f"2026-11-{1 + n % 28:02d}T06:30:00Z",
    }
    doc.update(overrides)
    return doc


@pytest.fixture
def db(tmp_path: Path) -> Iterator[LocalStore]:
    with LocalStore(tmp_path / "agent.sqlite") as store:
        yield store


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in rows]


def test_initials_and_codes() -> None:
    assert initials_of("张三") == "zs"
    assert initials_of("欧阳Na娜") == "oynn"
    assert spelled_of("张德福") == "zhangdefu" and spelled_of("欧阳Na娜") == "ouyangnana"
    assert normalize_code(" k7q2-0001 ") == "K7Q20001"


def test_filters_and_order(db: LocalStore) -> None:
    db.bulk_docs(
        [
            make_case(1, status="submitted", updated_at="2026-11-01T00:00:00Z"),
            make_case(2, status="accepted", updated_at="2026-11-03T00:00:00Z"),
            make_case(
                3, status="submitted", updated_at="2026-11-02T00:00:00Z", division={"village": "330212001002"}
            ),
            {"_id": "event:0001:1", "type": "event", "case_id": "case:0001", "kind": "created"},
        ]
    )
    assert ids(db.find_cases()) == ["case:0002", "case:0003", "case:0001"]
    assert ids(db.find_cases(status="submitted")) == ["case:0003", "case:0001"]
    assert ids(db.find_cases(status=["accepted", "submitted"], village="330212001001")) == [
        "case:0002",
        "case:0001",
    ]
    assert db.find_cases(status=[]) == []
    assert db.count_cases(status="submitted") == 2
    assert ids(db.find_cases(limit=1, offset=1)) == ["case:0003"]
    assert ids(db.find_docs("event", case_id="case:0001")) == ["event:0001:1"]
    row = db.find_cases(status="accepted")[0]
    assert row["village"] == "330212001001" and row["tracking_code"] == "K7Q20002"
    assert row["needs_review"] is False and "initials" not in row


def test_text_search(db: LocalStore) -> None:
    db.bulk_docs(
        [
            make_case(1, applicant={"name": "张三", "id_number": "330212199001011234"}),
            make_case(2, applicant={"name": "李小明", "id_number": "33021219850505567X"}),
            make_case(
                3, applicant={"name": "王五", "id_number": "330212197001019999"}, tracking_code="AB12-CD34"
            ),
        ]
    )
    assert ids(db.find_cases(text="小明")) == ["case:0002"]
    assert ids(db.find_cases(text="lx")) == ["case:0002"]
    assert ids(db.find_cases(text="ZS")) == ["case:0001"]
    assert ids(db.find_cases(text="567x")) == ["case:0002"]
    assert ids(db.find_cases(text="330212199001011234")) == ["case:0001"]
    assert ids(db.find_cases(text="ab12 cd34")) == ["case:0003"]
    assert db.find_cases(text="%") == []
    assert db.count_cases(text="330212") == 0  # the head of an ID number is a county, not a person


def test_full_pinyin_and_part_of_a_tracking_code_find_cases(db: LocalStore) -> None:
    db.bulk_docs(
        [
            make_case(1, applicant={"name": "张德福", "id_number": "330212195001011234"},
                      tracking_code="Q3RT-BW8K-7HNC"),
            make_case(2, applicant={"name": "张德", "id_number": "330212195001015678"},
                      tracking_code="K7QM-9XRT-2HNC"),
        ]
    )
    assert ids(db.find_cases(text="zhangdefu")) == ["case:0001"]
    assert ids(db.find_cases(text="Zhang De Fu")) == ["case:0001"]
    assert ids(db.find_cases(text="defu")) == ["case:0001"]
    assert ids(db.find_cases(text="zhangde")) == ["case:0002", "case:0001"]
    assert ids(db.find_cases(text="BW8K")) == ["case:0001"]
    assert ids(db.find_cases(text="bw8k-7h")) == ["case:0001"]
    assert ids(db.find_cases(text="2HNC")) == ["case:0002"]
    assert ids(db.find_cases(text="HNC")) == []  # under 4 characters: too many cases share it
    assert db.count_cases(text="zhangsan") == 0


def test_index_follows_edits_conflicts_and_deletions(db: LocalStore) -> None:
    rev1 = db.put(make_case(1))["rev"]
    rev2 = db.put({**db.get("case:0001"), "status": "submitted"})["rev"]
    assert db.count_cases(status="draft") == 0 and db.count_cases(status="submitted") == 1
    # a replicated conflict that loses does not change the row; one that wins does
    base = rev1.split("-")[1]
    loser = {
        **make_case(1, status="withdrawn"),
        "_rev": "2-0",
        "_revisions": {"start": 2, "ids": ["0", base]},
    }
    db.bulk_docs([loser], new_edits=False)
    assert db.get("case:0001")["_rev"] == rev2
    assert db.count_cases(status="submitted") == 1 and db.count_cases(status="withdrawn") == 0
    winner = {
        **make_case(1, status="accepted", needs_review=True),
        "_rev": "3-f",
        "_revisions": {"start": 3, "ids": ["f", "0", base]},
    }
    db.bulk_docs([winner], new_edits=False)
    assert db.count_cases(status="accepted") == 1 and db.count_cases(needs_review=True) == 1
    # deleting the winner brings the other leaf back into the list
    db.remove("case:0001", "3-f")
    assert ids(db.find_cases(status="submitted")) == ["case:0001"]
    assert db.count_cases(needs_review=True) == 0
    db.remove("case:0001", rev2)
    assert db.count_cases() == 0


def test_unknown_filter_is_refused(db: LocalStore) -> None:
    with pytest.raises(BadRequest):
        db.find_docs("case", colour="red")


def test_documents_without_query_fields(db: LocalStore) -> None:
    db.put({"_id": "odd", "applicant": "not an object", "division": 5, "type": "case"})
    assert db.find_cases()[0]["village"] is None


def test_timeline_with_documents_oldest_first(db: LocalStore) -> None:
    db.bulk_docs(
        [
            {"_id": f"event:0001:{n}", "type": "event", "case_id": "case:0001", "kind": kind}
            for n, kind in enumerate(["created", "submitted", "accepted"])
        ]
    )
    rows = db.find_docs("event", case_id="case:0001", descending=False, include_docs=True)
    assert [r["doc"]["kind"] for r in rows] == ["created", "submitted", "accepted"]
    assert rows[0]["doc"]["_rev"].startswith("1-")


def test_a_version_1_file_gets_its_index_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with LocalStore(path) as db:
        db.put(make_case(1, applicant={"name": "张三", "id_number": "330212199001011234"}))
        gone = db.put(make_case(2))
        db.remove("case:0002", gone["rev"])
    with sqlite3.connect(path) as cx:
        cx.execute("DROP TABLE doc_index")
        cx.execute("CREATE TABLE doc_index (id TEXT PRIMARY KEY, type TEXT)")
        cx.execute("PRAGMA user_version = 1")
    with LocalStore(path) as db:
        assert ids(db.find_cases(text="1234")) == ["case:0001"]
        assert db.count_cases() == 1


def test_materials_by_owner(db: LocalStore) -> None:
    db.put({"_id": "material:1", "type": "material", "owner_hash": "ab" * 32, "kind": "id_card"})
    db.put({"_id": "material:2", "type": "material", "owner_hash": "cd" * 32, "kind": "id_card"})
    rows = db.find_docs("material", owner_hash="ab" * 32, include_docs=True)
    assert [r["doc"]["_id"] for r in rows] == ["material:1"]
    assert rows[0]["owner_hash"] == "ab" * 32
