"""A replicated batch that ends one branch with a tombstone and carries the live branch whose
stubs name the same contents (the server merged a conflict): the contents must survive the batch."""

from __future__ import annotations

import base64
from pathlib import Path

from mobile.store import LocalStore
from mobile.store.attachments import digest_of

SCAN = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4


def test_stubs_of_the_live_branch_survive_the_tombstone_of_the_other(tmp_path: Path) -> None:
    with LocalStore(tmp_path / "s.sqlite") as store:
        data = base64.b64encode(SCAN).decode()
        store.bulk_docs([{"_id": "case:1", "_rev": "1-a", "x": 1,
                          "_attachments": {"p.jpg": {"content_type": "image/jpeg", "data": data}},
                          "_revisions": {"start": 1, "ids": ["a"]}}], new_edits=False)
        stub = {"content_type": "image/jpeg", "stub": True, "digest": digest_of(SCAN), "length": len(SCAN),
                "revpos": 3}
        answers = store.bulk_docs([
            {"_id": "case:1", "_rev": "2-d", "_deleted": True, "_revisions": {"start": 2, "ids": ["d", "a"]}},
            {"_id": "case:1", "_rev": "3-m", "x": 2, "_attachments": {"p.jpg": stub},
             "_revisions": {"start": 3, "ids": ["m", "b", "z"]}},
        ], new_edits=False)
        assert all("error" not in a for a in answers), answers
        assert store.get("case:1")["_rev"] == "3-m"
        assert store.get_attachment("case:1", "p.jpg") == SCAN

        # Contents nobody refers to any more are still dropped, at the end of the write.
        store.bulk_docs([{"_id": "case:1", "_rev": "4-e", "_deleted": True,
                          "_revisions": {"start": 4, "ids": ["e", "m"]}}], new_edits=False)
        assert not store.has_attachment(digest_of(SCAN))
