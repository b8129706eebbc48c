"""JSON limits: depth, string size, inline attachment data, total text (ADR 0104)."""

from __future__ import annotations

import json

import pytest

from sync_server.errors import ApiError
from sync_server.jsonlimits import MAX_DEPTH, MAX_INLINE_ATTACHMENT, MAX_STRING, MAX_TEXT, loads


def _status(raw: str | bytes) -> int:
    try:
        loads(raw)
    except ApiError as refused:
        return refused.status
    return 200


def test_depth() -> None:
    assert _status("[" * MAX_DEPTH + "]" * MAX_DEPTH) == 200
    assert _status("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)) == 400
    assert _status("[" * 100_000 + "]" * 100_000) == 400  # past the parser's own recursion limit
    assert _status('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1)) == 400


def test_strings_and_attachment_data() -> None:
    assert _status(json.dumps({"a": "x" * MAX_STRING})) == 200
    assert _status(json.dumps({"a": "x" * (MAX_STRING + 1)})) == 413
    assert _status(json.dumps({"x" * (MAX_STRING + 1): 1})) == 413
    assert _status(json.dumps(["x" * (MAX_STRING + 1)])) == 413
    inline = {"_attachments": {"a.jpg": {"content_type": "image/jpeg", "data": "A" * MAX_INLINE_ATTACHMENT}}}
    assert _status(json.dumps({"docs": [inline, inline]})) == 200
    too_big = {"_attachments": {"a.jpg": {"data": "A" * (MAX_INLINE_ATTACHMENT + 1)}}}
    assert _status(json.dumps(too_big)) == 413
    assert _status(json.dumps({"data": "A" * (MAX_STRING + 1)})) == 413  # only inside _attachments
    assert _status(json.dumps({"x": {"_attachments": {"a": {"note": "n" * (MAX_STRING + 1)}}}})) == 413
    assert _status(json.dumps({f"k{i}": "t" * MAX_STRING for i in range(MAX_TEXT // MAX_STRING + 1)})) == 413


def test_malformed_is_still_a_value_error() -> None:
    with pytest.raises(ValueError):
        loads(b"{")


# orjson parses; the standard library is the reference for what orjson refuses or reads otherwise
# (ADR 0153): every body reads exactly as `json.loads` read it, and what no engine stores is refused.


@pytest.mark.parametrize("raw", [
    '{"n": 123456789012345678901234567890, "m": -98765432109876543210}',  # past 64 bits: orjson gives floats
    '{"n": 18446744073709551615, "f": 1.5e300, "g": -0.0, "e": 1E2}',
    '{"a": 1, "a": 2}',  # a repeated key: the last one wins, as in CouchDB
    '{"s": "\\ud800 lone", "t": "\\ud83d\\ude00"}',  # a lone surrogate escape is judged per document
    '{"中": "\\u2028\\u0000\\"\\\\"}',
])
def test_values_read_as_the_standard_library_reads_them(raw: str) -> None:
    for form in (raw, raw.encode("utf-8", "surrogatepass"), raw.encode("utf-16")):
        value = loads(form)
        assert value == json.loads(raw) and json.dumps(value) == json.dumps(json.loads(raw))
    assert all(type(v) is type(json.loads(raw)[k]) for k, v in loads(raw).items())


@pytest.mark.parametrize("raw", ['{"a": NaN}', '[Infinity]', '{"a": -Infinity}', '[1e400]', '[-2e308]'])
def test_numbers_no_engine_stores_are_malformed(raw: str) -> None:
    with pytest.raises(ValueError):
        loads(raw)
