"""Raw paths map to replication endpoints without URL-decoding tricks."""

from __future__ import annotations

import pytest

from sync_server.gateway.paths import Endpoint, SyncPath, parse_sync_path

DB = "ot-v-330212001001"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"/sync/{DB}", SyncPath(DB, Endpoint.DATABASE)),
        (f"/sync/{DB}/", SyncPath(DB, Endpoint.DATABASE)),
        (f"/sync/{DB}/_changes", SyncPath(DB, Endpoint.CHANGES)),
        (f"/sync/{DB}/_revs_diff", SyncPath(DB, Endpoint.REVS_DIFF)),
        (f"/sync/{DB}/_bulk_docs", SyncPath(DB, Endpoint.BULK_DOCS)),
        (f"/sync/{DB}/_bulk_get", SyncPath(DB, Endpoint.BULK_GET)),
        (f"/sync/{DB}/_local/abc", SyncPath(DB, Endpoint.LOCAL, "_local/abc")),
        (f"/sync/{DB}/_local%2Fabc", SyncPath(DB, Endpoint.UNKNOWN)),
        (f"/sync/{DB}/_design/x", SyncPath(DB, Endpoint.DESIGN, "_design/x")),
        (f"/sync/{DB}/_design/x/_view/y", SyncPath(DB, Endpoint.UNKNOWN)),
        (f"/sync/{DB}/case:01", SyncPath(DB, Endpoint.DOCUMENT, "case:01")),
        (f"/sync/{DB}/case%3A01", SyncPath(DB, Endpoint.DOCUMENT, "case:01")),
        (f"/sync/{DB}/a%2Fb", SyncPath(DB, Endpoint.DOCUMENT, "a/b")),
        (f"/sync/{DB}/case:01/scan.jpg", SyncPath(DB, Endpoint.ATTACHMENT, "case:01", "scan.jpg")),
        (f"/sync/{DB}/case:01/dir/scan%20a.jpg",
         SyncPath(DB, Endpoint.ATTACHMENT, "case:01", "dir/scan a.jpg")),
        (f"/sync/{DB}/_all_docs", SyncPath(DB, Endpoint.UNKNOWN)),
        (f"/sync/{DB}/_security", SyncPath(DB, Endpoint.UNKNOWN)),
        (f"/sync/{DB}/_changes/x", SyncPath(DB, Endpoint.UNKNOWN)),
        ("/sync/..%2Fot-auth/", SyncPath("../ot-auth", Endpoint.UNKNOWN)),
        ("/sync/", SyncPath("", Endpoint.UNKNOWN)),
        (f"/sync/{DB}//", SyncPath(DB, Endpoint.UNKNOWN)),
    ],
)
def test_paths(raw: str, expected: SyncPath) -> None:
    assert parse_sync_path(raw) == expected


def test_other_prefixes_are_not_ours() -> None:
    assert parse_sync_path("/api/sync/x") is None
