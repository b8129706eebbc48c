"""Signed file links: valid until they expire, for exactly the file they name."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from sync_server.county.file_link import LINK_LIFETIME, file_link, link_valid

SECRET = b"s" * 32
NOW = 1_800_000_000


def parts(url: str) -> tuple[list[str], dict[str, str]]:
    split = urlsplit(url)
    path = [unquote(p) for p in split.path.split("/")[-3:]]
    return path, {k: v[0] for k, v in parse_qs(split.query).items()}


def test_a_link_names_the_file_and_checks_out_until_it_expires() -> None:
    url = file_link("https://ot.example/", SECRET, "ot-v-330212001001", "case:01J", "hukou 1.jpg", NOW)
    assert url.startswith("https://ot.example/api/county/files/ot-v-330212001001/case%3A01J/hukou%201.jpg?")
    (db, doc, name), query = parts(url)
    assert (db, doc, name) == ("ot-v-330212001001", "case:01J", "hukou 1.jpg")
    assert link_valid(SECRET, db, doc, name, query["expires"], query["sig"], NOW + LINK_LIFETIME)
    assert not link_valid(SECRET, db, doc, name, query["expires"], query["sig"], NOW + LINK_LIFETIME + 1)
    assert not link_valid(SECRET, db, doc, "other.jpg", query["expires"], query["sig"], NOW)
    assert not link_valid(SECRET, db, doc, name, str(int(query["expires"]) + 1), query["sig"], NOW)
    assert not link_valid(b"other", db, doc, name, query["expires"], query["sig"], NOW)
    assert not link_valid(SECRET, db, doc, name, None, query["sig"], NOW)
    assert not link_valid(SECRET, db, doc, name, "-5", query["sig"], NOW)
