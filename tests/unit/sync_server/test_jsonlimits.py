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
