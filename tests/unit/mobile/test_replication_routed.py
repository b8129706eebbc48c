"""A filtered push from the local store reads each revision once: the bodies read to route a page
travel with its batch to the fetch (ADR 0158)."""

from __future__ import annotations

from pathlib import Path

from mobile.replication import replicate
from mobile.replication.local import LocalDB
from mobile.store import LocalStore
from shared.jsontypes import JSON


class CountingLocal(LocalDB):
    """The phone's store as a replication source, noting each revision it is asked to read."""

    def __init__(self, store: LocalStore) -> None:
        super().__init__(store)
        self.read: list[tuple[str, str]] = []

    async def bulk_get(self, wanted: list[tuple[str, str]]) -> list[JSON]:
        self.read.extend(wanted)
        return await super().bulk_get(wanted)


async def test_a_routed_push_reads_each_revision_once_and_copies_only_its_village(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "staff.sqlite")
    target = LocalStore(tmp_path / "village-1.sqlite")
    try:
        for n in range(30):
            doc = store.put({"_id": f"case:{n:02d}", "village": f"v{n % 3}", "n": n})
            store.put({"_id": doc["id"], "_rev": doc["rev"], "village": f"v{n % 3}", "n": n + 100})
        source = CountingLocal(store)
        summary = await replicate(source, target, batch_size=7,
                                  doc_filter=lambda d: d.get("village") == "v1", filter_id="v1")
        mine = sorted(f"case:{n:02d}" for n in range(30) if n % 3 == 1)
        assert summary.docs_written == len(mine)
        assert sorted(row["id"] for row in target.changes()["results"]) == mine
        assert all(target.get(i)["n"] >= 100 for i in mine)
        assert len(source.read) == 30 and len(set(source.read)) == 30  # each revision read once
    finally:
        store.close()
        target.close()
