"""What the gateway sends CouchDB of a judged document: the same JSON value `json.dumps` wrote."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sync_server.couch import encoded
from sync_server.gateway.validation import has_lone_surrogate


@pytest.mark.parametrize("value", [
    {"_id": "case:1", "applicant": {"name": "张三 \u2028 \"q\" \\ \n \x01"},
     "n": [1, 2.5, -0.0, 1e16, None, True]},
    {"big": 123456789012345678901234567890},  # orjson refuses integers past 64 bits: json.dumps writes it
    [],
])
def test_encoded_reads_back_as_the_value(value: Any) -> None:
    body = encoded(value)
    assert isinstance(body, bytes)
    assert json.loads(body) == value
    assert len(body) == len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


@pytest.mark.parametrize(("value", "lone"), [
    ({"a": "\ud800"}, True), ({"\udfff": 1}, True), ([["x", {"k": "a\udbffb"}]], True),
    ({"a": "中😀", "b": ["\u2028"]}, False), ({"deep": [[[[[]]]]] * 3}, False),
    ({"big": 2**70, "s": "\udc00"}, True), ({"big": 2**70}, False),  # orjson cannot encode: walked
])
def test_lone_surrogates_found_in_keys_and_values(value: Any, lone: bool) -> None:
    assert has_lone_surrogate(value) is lone


def test_a_lone_surrogate_in_a_look_up_is_sent_escaped() -> None:
    """Look-up keys are what a device named: a lone surrogate there is asked about, not a crash."""
    body = encoded({"keys": ["case:\ud800", "中"]})
    assert body == b'{"keys":["case:\\ud800","\\u4e2d"]}'
    assert json.loads(body) == {"keys": ["case:\ud800", "中"]}
