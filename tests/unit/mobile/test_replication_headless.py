"""Which village database a document of the shared local store is pushed to."""

from __future__ import annotations

from pathlib import Path

from mobile.store import LocalStore
from mobile.sync_plan import village_filter

CASE = "case:01JDQ3Z8W6X9V4T2R0P8N6M4K2"
V1, V2 = "330212001001", "330212001002"


def test_documents_follow_their_case_village(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s.sqlite")
    store.put({"_id": CASE, "type": "case", "division": {"village": V1}})
    mine, theirs = village_filter(store, f"ot-v-{V1}"), village_filter(store, f"ot-v-{V2}")
    event = {"_id": f"event:{CASE[5:]}:01JDQ3Z8W6X9V4T2R0P8N6M4K3", "type": "event", "case_id": CASE}
    review = {"_id": f"review:{CASE[5:]}", "type": "review"}
    assert mine(store.get(CASE)) and not theirs(store.get(CASE))
    assert mine(event) and not theirs(event)
    assert mine(review) and not theirs(review)
    assert not mine({"_id": "material:01JDQ3Z8W6X9V4T2R0P8N6M4K4", "type": "material"})
    assert not mine({"_id": "event:01JDQ3Z8W6X9V4T2R0P8N6M4K9:01JDQ3Z8W6X9V4T2R0P8N6M4K3", "case_id": "x"})
    store.close()
