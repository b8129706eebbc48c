"""CouchDB query parameters as both the replicator and the server's client send them."""

from __future__ import annotations

from shared.couchparams import encode_params


def test_values_are_encoded_as_couchdb_reads_them() -> None:
    assert encode_params(None) is None and encode_params({}) is None
    assert encode_params({"open_revs": ["1-a", "2-b"], "revs": True, "latest": False, "since": "12-g1AAAA",
                          "limit": 5, "style": None}) == {
        "open_revs": '["1-a","2-b"]', "revs": "true", "latest": "false", "since": "12-g1AAAA", "limit": "5"}
    assert encode_params({"startkey": "case:", "endkey": "case:\ufff0", "key": ["a", 1]}) == {
        "startkey": '"case:"', "endkey": '"case:\\ufff0"', "key": '["a",1]'}
