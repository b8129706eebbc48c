"""Local store: edits, revision checks, the replication write path, revs_diff, changes, _local docs."""

from __future__ import annotations

import json
import random
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mobile.store import BadRequest, Conflict, LocalStore, NotFound, StoreError


@pytest.fixture
def db(tmp_path: Path) -> Iterator[LocalStore]:
    with LocalStore(tmp_path / "agent.sqlite") as store:
        yield store


def replicated(doc_id: str, start: int, ids: list[str], **body: Any) -> dict[str, Any]:
    """A document as a replicator hands it over: `_rev` with its `_revisions`."""
    return {"_id": doc_id, "_rev": f"{start}-{ids[0]}", "_revisions": {"start": start, "ids": ids}, **body}


# -- edits --------------------------------------------------------------------------------


def test_put_and_get(db: LocalStore) -> None:
    res = db.put({"_id": "case:1", "type": "case", "n": 1})
    assert res["ok"] is True and res["id"] == "case:1"
    pos, _, rev_hash = res["rev"].partition("-")
    assert pos == "1" and len(rev_hash) == 32
    assert db.get("case:1") == {"_id": "case:1", "_rev": res["rev"], "type": "case", "n": 1}


def test_update_needs_the_current_rev(db: LocalStore) -> None:
    first = db.put({"_id": "d", "n": 1})
    second = db.put({"_id": "d", "_rev": first["rev"], "n": 2})
    assert second["rev"].startswith("2-")
    with pytest.raises(Conflict) as stale:
        db.put({"_id": "d", "_rev": first["rev"], "n": 3})
    assert stale.value.status == 409 and stale.value.as_json()["error"] == "conflict"
    with pytest.raises(Conflict):
        db.put({"_id": "d", "n": 3})
    with pytest.raises(Conflict):
        db.put({"_id": "d", "_rev": "9-abc", "n": 3})
    assert db.get("d")["n"] == 2


def test_same_edit_gives_the_same_rev(tmp_path: Path) -> None:
    with LocalStore(tmp_path / "a.sqlite") as a, LocalStore(tmp_path / "b.sqlite") as b:
        assert a.put({"_id": "x", "k": "v"}) == b.put({"_id": "x", "k": "v"})


def test_remove_and_recreate(db: LocalStore) -> None:
    rev1 = db.put({"_id": "d", "n": 1})["rev"]
    gone = db.remove("d", rev1)
    assert gone["rev"].startswith("2-")
    with pytest.raises(NotFound) as missing:
        db.get("d")
    assert missing.value.reason == "deleted"
    assert db.get("d", rev=gone["rev"]) == {"_id": "d", "_rev": gone["rev"], "_deleted": True}
    again = db.put({"_id": "d", "n": 2})
    assert again["rev"].startswith("3-")
    assert db.get("d")["n"] == 2
    assert db.info()["doc_count"] == 1


def test_missing_document(db: LocalStore) -> None:
    with pytest.raises(NotFound) as err:
        db.get("nope")
    assert err.value.status == 404 and err.value.reason == "missing"
    assert isinstance(err.value, StoreError)


@pytest.mark.parametrize(
    "doc",
    [{"_id": ""}, {"_id": "_bad"}, {"_id": "x", "_foo": 1}, {"_id": "x", "_deleted": "yes"}, {"n": 1}],
)
def test_bad_documents_are_refused(db: LocalStore, doc: dict[str, Any]) -> None:
    with pytest.raises(BadRequest):
        db.put(doc)
    assert db.info()["update_seq"] == 0


def test_specials_are_checked_wherever_they_come(db: LocalStore) -> None:
    class Key(str):
        pass

    with pytest.raises(BadRequest, match="Bad special document member: _foo"):
        db.put({"_id": "x", "a": 1, "_foo": 1, "b": 2})
    with pytest.raises(BadRequest, match="keys must be strings"):
        db.put({"_id": "x", 1: "one", "b": 2})  # type: ignore[dict-item]
    rev = db.put({"_id": "x", "a": 1, Key("b"): 2, "_rev": None, "c": 3})["rev"]
    stored = db.get("x")
    assert stored["_rev"] == rev and list(stored) == ["_id", "_rev", "a", "b", "c"]
    assert db.info()["update_seq"] == 1


def test_read_only_specials_are_dropped(db: LocalStore) -> None:
    db.put({"_id": "d", "n": 1})
    doc = db.get("d", conflicts=True, revs=True)
    doc["n"] = 2
    db.put(doc)
    assert "_revisions" not in db.get("d")


def test_revs_option_lists_history(db: LocalStore) -> None:
    rev1 = db.put({"_id": "d", "n": 1})["rev"]
    rev2 = db.put({"_id": "d", "_rev": rev1, "n": 2})["rev"]
    revisions = db.get("d", revs=True)["_revisions"]
    assert revisions == {"start": 2, "ids": [rev2.split("-")[1], rev1.split("-")[1]]}


def test_old_bodies_are_compacted_but_ids_kept(db: LocalStore) -> None:
    rev1 = db.put({"_id": "d", "n": 1})["rev"]
    db.put({"_id": "d", "_rev": rev1, "n": 2})
    with pytest.raises(NotFound):
        db.get("d", rev=rev1)
    assert db.revs_diff({"d": [rev1]}) == {}


def test_revs_limit_stems_history(tmp_path: Path) -> None:
    with LocalStore(tmp_path / "s.sqlite", revs_limit=3) as db:
        rev = db.put({"_id": "d", "n": 0})["rev"]
        for n in range(1, 6):
            rev = db.put({"_id": "d", "_rev": rev, "n": n})["rev"]
        revisions = db.get("d", revs=True)["_revisions"]
        assert revisions["start"] == 6 and len(revisions["ids"]) == 3


# -- bulk_docs --------------------------------------------------------------------------


def test_bulk_docs_reports_per_document(db: LocalStore) -> None:
    db.put({"_id": "taken", "n": 1})
    results = db.bulk_docs([{"_id": "a"}, {"_id": "taken"}, {"_id": "_bad"}, {"n": "generated id"}])
    assert results[0]["ok"] and results[3]["ok"] and len(results[3]["id"]) == 32
    assert results[1] == {"id": "taken", "error": "conflict", "reason": "Document update conflict."}
    assert results[2]["error"] == "bad_request"
    assert db.info()["doc_count"] == 3


def test_a_lone_surrogate_refuses_its_document_only(db: LocalStore) -> None:
    """SQLite stores UTF-8, which cannot carry a lone surrogate: that one document is refused,
    the rest of the batch is written (replicated or edited, body, key or id)."""
    replicated_docs = [replicated("bad", 1, ["a"], note="x\ud800"), replicated("good", 1, ["b"], note="中文")]
    results = db.bulk_docs(replicated_docs, new_edits=False)
    assert results[0]["error"] == "bad_request" and "surrogate" in results[0]["reason"]
    assert results[1]["ok"] and db.get("good")["note"] == "中文"
    edits = db.bulk_docs([{"_id": "key", "\udfff": 1}, {"_id": "id\ud800"}, {"_id": "fine"}])
    assert [r.get("error") for r in edits] == ["bad_request", "bad_request", None]
    with pytest.raises(BadRequest):
        db.put({"_id": "_local/checkpoint", "seq": "\ud800"})
    assert db.info()["doc_count"] == 2


def test_new_edits_false_keeps_conflicting_branches(db: LocalStore) -> None:
    results = db.bulk_docs(
        [
            replicated("d", 2, ["b", "a"], side="b"),
            replicated("d", 2, ["c", "a"], side="c"),
            replicated("d", 3, ["e", "b", "a"], side="e", _deleted=True),
        ],
        new_edits=False,
    )
    assert all(r.get("ok") for r in results)
    doc = db.get("d", conflicts=True)
    assert doc["_rev"] == "2-c" and doc["side"] == "c"  # live beats a longer deleted branch
    assert "_conflicts" not in doc
    leaves = db.get_open_revs("d", "all")
    assert sorted(r["ok"]["_rev"] for r in leaves) == ["2-c", "3-e"]
    deleted = next(r["ok"] for r in leaves if r["ok"]["_rev"] == "3-e")
    assert deleted["_deleted"] is True and deleted["_revisions"] == {"start": 3, "ids": ["e", "b", "a"]}


def test_new_edits_false_conflict_winner_by_hash(db: LocalStore) -> None:
    db.bulk_docs(
        [replicated("d", 2, ["aaa", "r"], v=1), replicated("d", 2, ["fff", "r"], v=2)], new_edits=False
    )
    doc = db.get("d", conflicts=True)
    assert doc["_rev"] == "2-fff" and doc["_conflicts"] == ["2-aaa"]
    # resolving: edit the winner, delete the loser
    db.bulk_docs([{"_id": "d", "_rev": "2-fff", "v": 3}, {"_id": "d", "_rev": "2-aaa", "_deleted": True}])
    resolved = db.get("d", conflicts=True)
    assert resolved["v"] == 3 and "_conflicts" not in resolved


def test_only_replicated_batches_commit_without_their_own_fsync(db: LocalStore) -> None:
    """ADR 0144: a pulled batch may wait for the next durable commit; an edit made here never does."""

    def synchronous() -> int:
        return int(db._db.execute("PRAGMA synchronous").fetchone()[0])

    assert synchronous() == 2  # FULL
    db.bulk_docs([replicated("pulled", 1, ["a"])], new_edits=False)
    assert synchronous() == 1  # NORMAL: a power cut may take the batch back, with what follows it
    db.put(
        {"_id": "_local/checkpoint", "last_seq": 1}
    )  # the pull's checkpoint: durable, and the batch with it
    assert synchronous() == 2
    db.bulk_docs([replicated("pulled2", 1, ["b"])], new_edits=False)
    db.put({"_id": "captured", "n": 1})
    assert synchronous() == 2
    db.bulk_docs([{"_id": "edited", "n": 1}])
    assert synchronous() == 2
    ids = ["pulled", "pulled2", "captured", "edited"]
    assert [db.get(i)["_id"] for i in ids] == ids


def test_new_edits_false_is_idempotent(db: LocalStore) -> None:
    doc = replicated("d", 1, ["a"], v=1)
    db.bulk_docs([doc], new_edits=False)
    seq = db.info()["update_seq"]
    db.bulk_docs([doc], new_edits=False)
    assert db.info()["update_seq"] == seq


def test_new_edits_false_extends_a_local_edit(db: LocalStore) -> None:
    rev1 = db.put({"_id": "d", "v": 1})["rev"]
    db.bulk_docs([replicated("d", 2, ["x", rev1.split("-")[1]], v=2)], new_edits=False)
    assert db.get("d", conflicts=True) == {"_id": "d", "_rev": "2-x", "v": 2}


def test_new_edits_false_refuses_bad_revs(db: LocalStore) -> None:
    results = db.bulk_docs(
        [{"_id": "a", "v": 1}, {"_id": "b", "_rev": "x-abc"}, replicated("c", 2, ["z", "y"], v=1)],
        new_edits=False,
    )
    assert [r.get("error") for r in results] == ["bad_request", "bad_request", None]


def test_latest_follows_to_the_leaf(db: LocalStore) -> None:
    db.bulk_docs([replicated("d", 3, ["c", "b", "a"], v=3)], new_edits=False)
    assert db.get("d", rev="2-b", latest=True)["_rev"] == "3-c"
    with pytest.raises(NotFound):
        db.get("d", rev="2-b")


# -- revs_diff, open_revs ------------------------------------------------------------------


def test_revs_diff(db: LocalStore) -> None:
    db.bulk_docs([replicated("d", 2, ["b", "a"])], new_edits=False)
    diff = db.revs_diff({"d": ["1-a", "2-b", "3-c", "2-x"], "new": ["1-z"]})
    assert diff == {
        "d": {"missing": ["3-c", "2-x"], "possible_ancestors": ["2-b"]},
        "new": {"missing": ["1-z"]},
    }


def test_open_revs_list_reports_missing(db: LocalStore) -> None:
    db.bulk_docs([replicated("d", 2, ["b", "a"], v=2)], new_edits=False)
    answer = db.get_open_revs("d", ["2-b", "1-a", "5-q"])
    assert answer[0]["ok"]["v"] == 2
    assert answer[1:] == [{"missing": "1-a"}, {"missing": "5-q"}]
    assert db.get_open_revs("nope", ["1-a"]) == [{"missing": "1-a"}]
    with pytest.raises(NotFound):
        db.get_open_revs("nope", "all")


# -- changes ----------------------------------------------------------------------------


def test_changes_one_row_per_document_at_latest_seq(db: LocalStore) -> None:
    a1 = db.put({"_id": "a", "n": 1})["rev"]
    db.put({"_id": "b", "n": 1})
    a2 = db.put({"_id": "a", "_rev": a1, "n": 2})["rev"]
    feed = db.changes()
    assert [(r["seq"], r["id"], r["changes"]) for r in feed["results"]] == [
        (2, "b", [{"rev": db.get("b")["_rev"]}]),
        (3, "a", [{"rev": a2}]),
    ]
    assert feed["last_seq"] == 3
    assert db.changes(since=3) == {"results": [], "last_seq": 3}
    assert db.changes(since="2")["results"][0]["id"] == "a"


def test_changes_limit_and_since(db: LocalStore) -> None:
    for n in range(5):
        db.put({"_id": f"d{n}"})
    page = db.changes(limit=2)
    assert [r["id"] for r in page["results"]] == ["d0", "d1"] and page["last_seq"] == 2
    rest = db.changes(since=page["last_seq"])
    assert [r["id"] for r in rest["results"]] == ["d2", "d3", "d4"]


def test_changes_all_docs_deleted_and_docs(db: LocalStore) -> None:
    db.bulk_docs([replicated("d", 2, ["b", "a"], v=1), replicated("d", 2, ["c", "a"], v=2)], new_edits=False)
    rev = db.put({"_id": "gone"})["rev"]
    db.remove("gone", rev)
    feed = db.changes(style="all_docs", include_docs=True, conflicts=True)["results"]
    assert feed[0]["changes"] == [{"rev": "2-c"}, {"rev": "2-b"}]
    assert feed[0]["doc"]["_conflicts"] == ["2-b"]
    assert feed[1]["deleted"] is True and feed[1]["doc"]["_deleted"] is True
    assert db.pending_count(0) == 2 and db.pending_count(feed[0]["seq"]) == 1


def test_changes_refuses_garbage_since(db: LocalStore) -> None:
    with pytest.raises(BadRequest):
        db.changes(since="now-ish")


# -- _local documents ----------------------------------------------------------------------


def test_local_documents(db: LocalStore) -> None:
    first = db.put({"_id": "_local/ckpt", "seq": 1})
    assert first["rev"] == "0-1"
    second = db.put({"_id": "_local/ckpt", "_rev": "0-1", "seq": 2})
    assert second["rev"] == "0-2"
    assert db.get("_local/ckpt") == {"_id": "_local/ckpt", "_rev": "0-2", "seq": 2}
    with pytest.raises(Conflict):
        db.put({"_id": "_local/ckpt", "_rev": "0-1", "seq": 3})
    assert db.changes()["results"] == [] and db.info()["update_seq"] == 0
    db.remove("_local/ckpt", "0-2")
    with pytest.raises(NotFound):
        db.get("_local/ckpt")


def test_local_documents_in_bulk_docs(db: LocalStore) -> None:
    assert db.bulk_docs([{"_id": "_local/x", "v": 1}], new_edits=False)[0]["rev"] == "0-1"


# -- life cycle ----------------------------------------------------------------------------


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "agent.sqlite"
    with LocalStore(path, name="ot-v-330212001001") as db:
        rev = db.put({"_id": "d", "v": 1})["rev"]
        assert db.info() == {
            "db_name": "ot-v-330212001001",
            "doc_count": 1,
            "doc_del_count": 0,
            "update_seq": 1,
        }
    with LocalStore(path) as db:
        assert db.get("d")["_rev"] == rev
        assert db.info()["db_name"] == "agent"
    with pytest.raises(StoreError):
        db.get("d")


def test_threads_share_one_store(db: LocalStore) -> None:
    def writer(prefix: str) -> None:
        for n in range(30):
            db.put({"_id": f"{prefix}{n}"})

    threads = [threading.Thread(target=writer, args=(p,)) for p in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert db.info()["doc_count"] == 90
    seqs = [r["seq"] for r in db.changes()["results"]]
    assert seqs == list(range(1, 91))


# -- property: replicated revisions arriving in any order and batching converge -------------


@st.composite
def replicated_revisions(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Documents as pulls deliver them: revisions of one random tree with their full history.

    Full, because a known rev is ignored whatever ancestry it brings (as in CouchDB), so
    stemmed histories arriving before full ones can leave a different tree.
    """
    size = draw(st.integers(min_value=1, max_value=10))
    parents = [None] + [draw(st.integers(min_value=0, max_value=i - 1)) for i in range(1, size)]
    deleted = draw(st.sets(st.integers(min_value=0, max_value=size - 1)))
    picks = draw(st.lists(st.integers(min_value=0, max_value=size - 1), min_size=1, max_size=8))
    docs = []
    for node in picks:
        chain = [node]
        while (parent := parents[chain[-1]]) is not None:
            chain.append(parent)
        ids = [f"{i:02d}{'ab'[i % 2] * 30}" for i in chain]
        doc = replicated("d", len(ids), ids, v=node)
        if node in deleted:
            doc["_deleted"] = True
        docs.append(doc)
    return docs


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=replicated_revisions(), seed=st.integers(min_value=0, max_value=2**32))
def test_replicated_writes_converge_in_any_order(docs: list[dict[str, Any]], seed: int) -> None:
    rng = random.Random(seed)
    shuffled = list(docs)
    rng.shuffle(shuffled)
    with (
        tempfile.TemporaryDirectory() as folder,
        LocalStore(Path(folder) / "a.sqlite") as a,
        LocalStore(Path(folder) / "b.sqlite") as b,
    ):
        a.bulk_docs(docs, new_edits=False)
        for doc in shuffled:
            b.bulk_docs([doc], new_edits=False)
        leaves_a = sorted(json.dumps(r, sort_keys=True) for r in a.get_open_revs("d", "all"))
        leaves_b = sorted(json.dumps(r, sort_keys=True) for r in b.get_open_revs("d", "all"))
        assert leaves_a == leaves_b
        assert (
            a.changes(style="all_docs")["results"][0]["changes"]
            == (b.changes(style="all_docs")["results"][0]["changes"])
        )
        try:
            winner_a = a.get("d", conflicts=True)
        except NotFound as missing:
            with pytest.raises(NotFound) as also:
                b.get("d", conflicts=True)
            assert also.value.reason == missing.reason == "deleted"
        else:
            assert b.get("d", conflicts=True) == winner_a


def test_a_known_rev_is_ignored_even_with_more_history(db: LocalStore) -> None:
    db.bulk_docs([replicated("d", 2, ["b"], v=1)], new_edits=False)
    db.bulk_docs([replicated("d", 2, ["b", "a"], v=1)], new_edits=False)
    assert db.get("d", revs=True)["_revisions"] == {"start": 2, "ids": ["b"]}
    db.bulk_docs([replicated("d", 1, ["a"], v=0)], new_edits=False)
    assert db.get("d", conflicts=True)["_conflicts"] == ["1-a"]  # as CouchDB and PouchDB would
