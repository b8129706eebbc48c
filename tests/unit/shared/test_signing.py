"""Signing alternatives (签署方式): the `signing` field's shape and the proxy's ID number."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from shared.idnumber import make_id_number
from shared.signing import (
    FINGERPRINT_ATTACHMENT,
    SIGNATURE_ATTACHMENT,
    SigningMethod,
    attachment_for,
    signing_method,
    signing_problem,
)

PROXY_ID = make_id_number("330212", date(1980, 4, 5), 33)
WRONG_CHECK = PROXY_ID[:17] + ("0" if PROXY_ID[17] != "0" else "1")


def proxy(**overrides: Any) -> dict[str, Any]:
    person = {"name": "王小明", "id_number": PROXY_ID, "relation": "儿子", **overrides}
    return {"method": "proxy", "proxy": person}


@pytest.mark.parametrize(
    "value",
    [{"method": "signature"}, {"method": "fingerprint"}, proxy(), proxy(relation=""),
     {"method": "proxy", "proxy": {"name": "王小明", "id_number": PROXY_ID}}],
)
def test_valid_signing(value: dict[str, Any]) -> None:
    assert signing_problem(value) is None


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("proxy", "must be an object"),
        ({"method": "stamp"}, "signature, fingerprint or proxy"),
        ({"method": "signature", "by": "x"}, "unknown fields"),
        ({"method": "fingerprint", "proxy": {"name": "x"}}, "only a proxy"),
        ({"method": "proxy"}, "signing.proxy must be"),
        (proxy(name=" "), "name"),
        (proxy(name="名" * 41), "name"),
        (proxy(relation="关" * 21), "relation"),
        (proxy(id_number=WRONG_CHECK), "not a valid resident ID"),
        (proxy(id_number="12345"), "not a valid resident ID"),
        (proxy(id_number=None), "not a valid resident ID"),
        (proxy(phone="139"), "signing.proxy must be"),
    ],
)
def test_invalid_signing_says_why_in_both_languages(value: Any, words: str) -> None:
    problem = signing_problem(value)
    assert problem is not None
    zh, en = problem
    assert words in en and any("\u4e00" <= c <= "\u9fff" for c in zh)


def test_method_and_attachment_of_a_case() -> None:
    assert signing_method({}) is SigningMethod.SIGNATURE  # cases from before the alternatives
    assert signing_method({"signing": {"method": "fingerprint"}}) is SigningMethod.FINGERPRINT
    assert signing_method({"signing": {"method": "bogus"}}) is SigningMethod.SIGNATURE
    assert attachment_for(SigningMethod.FINGERPRINT) == FINGERPRINT_ATTACHMENT
    assert attachment_for(SigningMethod.PROXY) == SIGNATURE_ATTACHMENT
