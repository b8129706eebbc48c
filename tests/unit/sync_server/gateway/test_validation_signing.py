"""The gateway takes a case's `signing` field only in its documented shape (shared/signing.py):
a device cannot push a proxy without a valid ID number, or a made-up method."""

from __future__ import annotations

from datetime import date

from shared.idnumber import make_id_number
from sync_server.gateway.validation import Stored, check_document
from tests.unit.sync_server.gateway.test_validation import AGENT, V, case

PROXY_ID = make_id_number("330212", date(1975, 9, 1), 12)


def test_a_case_signed_by_a_proxy_or_with_a_fingerprint_is_accepted() -> None:
    signed = {"method": "proxy", "proxy": {"name": "李卫东", "id_number": PROXY_ID, "relation": "村委会"}}
    assert check_document(case(status="submitted", signing=signed), AGENT, V, Stored()) is None
    assert check_document(case(signing={"method": "fingerprint"}), AGENT, V, Stored()) is None
    assert check_document(case(signing=None), AGENT, V, Stored()) is None


def test_a_proxy_with_a_forged_id_number_is_refused() -> None:
    forged = {"method": "proxy", "proxy": {"name": "李卫东", "id_number": "330212197509010000"}}
    reason = check_document(case(status="submitted", signing=forged), AGENT, V, Stored())
    assert reason is not None and "代签人身份证号" in reason and "id_number" in reason


def test_a_proxy_without_a_name_or_an_unknown_method_is_refused() -> None:
    nameless = {"method": "proxy", "proxy": {"name": "", "id_number": PROXY_ID}}
    assert "name" in (check_document(case(signing=nameless), AGENT, V, Stored()) or "")
    assert "signing.method" in (check_document(case(signing={"method": "seal"}), AGENT, V, Stored()) or "")
    assert "wrong type" in (check_document(case(signing="proxy"), AGENT, V, Stored()) or "")
