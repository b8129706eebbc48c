"""Delivery tokens: round trip, every kind of refusal, size of the QR code."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
import qrcode
import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import delivery
from shared.delivery import (
    TokenAltered,
    TokenError,
    TokenExpired,
    TokenForged,
    TokenMalformed,
    TokenUsed,
    TokenWrongCase,
    issue_token,
    verify_token,
)

NOW = datetime(2026, 11, 24, 6, 30, tzinfo=UTC)
CASE = "case:01JDQ7Z8K3M4N5P6Q7R8S9T0VW"
CODE = "K7QM-9XRT-2HNC"  # the canonical form of shared.ids
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
TID = bytes.fromhex("0102030405060708")


def make_token(**overrides: object) -> str:
    args: dict[str, object] = {"case_id": CASE, "tracking_code": CODE, "now": NOW, "token_id": TID}
    args.update(overrides)
    key = args.pop("key", KEY)
    return issue_token(key, **args)  # type: ignore[arg-type]  # any field overridden, of any type


def raw(token: str) -> bytearray:
    return bytearray(base64.b32decode(token + "=" * (-len(token) % 8)))


def encode(data: bytes | bytearray) -> str:
    return base64.b32encode(bytes(data)).decode().rstrip("=")


def test_round_trip() -> None:
    token = make_token()
    content = verify_token(token, KEY.public_key(), now=NOW + timedelta(days=1), expected_case=CASE)
    assert content.case_id == CASE
    assert content.tracking_code == CODE
    assert content.token_id == TID.hex()
    assert content.expires_at == NOW + delivery.DEFAULT_TTL


def test_expected_case_may_be_the_tracking_code_and_lower_case_token_reads() -> None:
    token = make_token()
    assert verify_token(token.lower(), KEY.public_key(), now=NOW, expected_case=CODE).case_id == CASE


def test_signed_by_another_key_is_forged() -> None:
    with pytest.raises(TokenForged):
        verify_token(make_token(key=OTHER), KEY.public_key(), now=NOW)


def test_forger_copying_our_key_id_is_caught_as_altered() -> None:
    forged = raw(make_token(key=OTHER))
    forged[1:5] = delivery.key_id(KEY.public_key())
    with pytest.raises(TokenAltered):
        verify_token(encode(forged), KEY.public_key(), now=NOW)


@pytest.mark.parametrize("offset", [5, 20, 21, 29, 35])  # case id, token id, expiry, tracking code
def test_changed_byte_is_altered(offset: int) -> None:
    data = raw(make_token())
    data[offset] ^= 0x01
    with pytest.raises(TokenAltered):
        verify_token(encode(data), KEY.public_key(), now=NOW)


def test_changed_signature_is_altered() -> None:
    data = raw(make_token())
    data[-1] ^= 0x80
    with pytest.raises(TokenAltered):
        verify_token(encode(data), KEY.public_key(), now=NOW)


def test_expired() -> None:
    token = make_token(ttl=timedelta(hours=1))
    verify_token(token, KEY.public_key(), now=NOW + timedelta(minutes=59))
    with pytest.raises(TokenExpired):
        verify_token(token, KEY.public_key(), now=NOW + timedelta(hours=1))


def test_wrong_case() -> None:
    with pytest.raises(TokenWrongCase):
        verify_token(make_token(), KEY.public_key(), now=NOW, expected_case="case:01JDQ7Z8K3M4N5P6Q7R8S9T0VX")


def test_used() -> None:
    with pytest.raises(TokenUsed):
        verify_token(make_token(), KEY.public_key(), now=NOW, used_ids={TID.hex()})


@pytest.mark.parametrize("text", ["", "not a token!", "AAAA", "A" * 300, encode(b"\x02" + bytes(120))])
def test_malformed(text: str) -> None:
    with pytest.raises(TokenMalformed):
        verify_token(text, KEY.public_key(), now=NOW)


def test_every_error_has_bilingual_reason() -> None:
    for cls in (TokenMalformed, TokenForged, TokenAltered, TokenExpired, TokenWrongCase, TokenUsed):
        error = cls()
        assert isinstance(error, TokenError)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in error.reason_zh)
        assert error.reason_en.isascii() and error.reason_en
        assert error.code.startswith("token_")


def test_issue_checks_its_arguments() -> None:
    with pytest.raises(ValueError):
        make_token(token_id=b"short")
    with pytest.raises(ValueError):
        make_token(now=datetime(2026, 11, 24))  # naive time
    with pytest.raises(ValueError):
        make_token(case_id="case:not-a-ulid")


@settings(max_examples=50, deadline=None)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_is_refused(position: int, bit: int) -> None:
    data = raw(make_token())
    data[position % len(data)] ^= 1 << bit
    with pytest.raises(TokenError):
        verify_token(encode(data), KEY.public_key(), now=NOW)


def test_url_round_trip_and_qr_size() -> None:
    token = make_token()
    url = delivery.delivery_url("https://onetrip.example.gov.cn/", CODE, token)
    assert url.startswith("https://onetrip.example.gov.cn/t/K7QM-9XRT-2HNC?d=")
    assert len(token) == 180  # 112 bytes in base32
    assert delivery.token_from_url(url) == (CODE, token)
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    # Version 9 is 53×53 modules: printed 4 cm wide a module is 0.75 mm, within what a
    # cheap 5-megapixel phone camera resolves at reading distance.
    assert qr.version <= 9, qr.version
    image = qr.make_image().get_image().convert("L")
    decoded = zxingcpp.read_barcodes(image)
    assert [d.text for d in decoded] == [url]


@pytest.mark.parametrize("text", ["https://x/t/?d=A", "https://x/a/CODE?d=A", "https://x/t/CODE", "hello"])
def test_token_from_url_refuses_other_text(text: str) -> None:
    with pytest.raises(TokenMalformed):
        delivery.token_from_url(text)
