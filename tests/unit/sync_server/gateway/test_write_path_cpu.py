"""The write path's CPU cuts (ADR 0166) decide exactly as the code they replace."""

from __future__ import annotations

import base64
import binascii
import io
import json
import os

import pytest
from ulid import ULID

from shared import ids
from shared.errors import IdentifierError, TrackingCodeError
from shared.ids import (
    Kind,
    case_id,
    event_id,
    material_id,
    new_tracking_code,
    normalize_tracking_code,
    parse_id,
)
from sync_server.auth.accounts import AccountRole
from sync_server.gateway import multipart
from sync_server.gateway.validation import Stored, check_document, check_inline_attachments, kind_of


def test_the_weighted_table_is_the_field_multiplication() -> None:
    for position, weight in enumerate(ids._WEIGHTS):
        assert [ids._WEIGHTED[position][v] for v in range(32)] == [ids._gf_mul(weight, v) for v in range(32)]


def test_tracking_codes_still_check() -> None:
    code = new_tracking_code(os.urandom(ids.RANDOM_BYTES))
    assert normalize_tracking_code(code.lower().replace("-", " ")) == code
    wrong = code[:-1] + next(c for c in ids.ALPHABET if c != code[-1])
    with pytest.raises(TrackingCodeError) as refused:
        normalize_tracking_code(wrong)
    assert refused.value.part == "check"


def _kind_by_parse(doc_id: str) -> Kind | None:
    try:
        return parse_id(doc_id).kind
    except IdentifierError:
        return None


@pytest.mark.parametrize("doc_id", [
    case_id(ULID()), event_id(ULID(), ULID()), material_id(ULID()), f"review:{ULID()}", "case:nope", "case:",
    "audit:x", "", "_design/x", f"case:{ULID()}:extra", f"event:{str(ULID()).lower()}", "CASE:" + str(ULID()),
])
def test_kind_of_is_parse_id(doc_id: str) -> None:
    assert kind_of(doc_id) is _kind_by_parse(doc_id)
    assert kind_of(doc_id) is _kind_by_parse(doc_id)  # remembered: the same answer again


def test_a_malformed_id_is_still_refused() -> None:
    reason = check_document({"_id": "case:not-a-ulid", "type": "case"}, AccountRole.VILLAGE_AGENT,
                            "330212001001", Stored())
    assert reason is not None and "is not a case:, event:, material: or review: id" in reason


@pytest.mark.parametrize("data", [
    "", "QQ==", "QQ", "QQ=", "Q===", "QUJD", "QU JD", "QUJD\n", "QUJ*", "QUJDRA=", "QUJDRA==QQ==",
    "-_-_", "QUJDRA==\x00", "é", "/9j/4AAQ",
])
def test_inline_base64_is_judged_as_the_standard_library_reads_it(data: str) -> None:
    """pybase64 refuses exactly what `base64.b64decode(validate=True)` refuses."""
    try:
        base64.b64decode(data, validate=True)
        standard_ok = True
    except (binascii.Error, ValueError):
        standard_ok = False
    doc = {"_attachments": {"scan.jpg": {"content_type": "image/jpeg", "data": data}}}
    reason = check_inline_attachments(doc, Kind.CASE)
    assert (reason is None or "not valid base64" not in reason) is standard_ok


def test_inlined_scan_bytes_are_the_standard_base64() -> None:
    scan = b"\xff\xd8\xff\xe0" + os.urandom(150_000)
    doc = {"_id": case_id(ULID()), "_rev": "2-abc", "_attachments": {
        "a.jpg": {"content_type": "image/jpeg", "follows": True, "length": len(scan), "digest": "md5-x"}}}
    part = multipart.Part({}, 0, len(scan), scan[:16])
    stored = json.loads(multipart.inline(doc, [part], io.BytesIO(scan)))
    assert stored["_attachments"]["a.jpg"] == {"content_type": "image/jpeg", "revpos": 2,
                                               "data": base64.b64encode(scan).decode()}
