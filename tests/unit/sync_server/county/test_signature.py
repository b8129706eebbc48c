"""Callback signatures: HMAC over timestamp and body, a time window, a secret kept in a 0600 file."""

from __future__ import annotations

from pathlib import Path

from sync_server.county.signature import (
    MAX_SKEW,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    check,
    load_secret,
    sign,
    signed_headers,
)

SECRET = b"k" * 32
BODY = b'{"case_id": "case:X", "kind": "approved"}'


def test_a_signed_body_checks_out() -> None:
    headers = signed_headers(SECRET, 1_800_000_000, BODY)
    verdict = check(SECRET, BODY, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], 1_800_000_010)
    assert verdict.ok, verdict.reason


def test_tampering_stale_time_other_secret_and_missing_headers_are_refused() -> None:
    stamp = 1_800_000_000
    good = sign(SECRET, stamp, BODY)
    cases = [
        (BODY + b" ", str(stamp), good, stamp, "signature"),
        (BODY, str(stamp + 1), good, stamp, "signature"),  # timestamp changed after signing
        (BODY, str(stamp), sign(b"other", stamp, BODY), stamp, "signature"),
        (BODY, str(stamp), good, stamp + MAX_SKEW + 1, "window"),
        (BODY, str(stamp), good, stamp - MAX_SKEW - 1, "window"),
        (BODY, "soon", good, stamp, "integer"),
        (BODY, None, good, stamp, "missing"),
        (BODY, str(stamp), None, stamp, "missing"),
    ]
    for body, timestamp, signature, now, word in cases:
        verdict = check(SECRET, body, timestamp, signature, now)
        assert not verdict.ok and word in verdict.reason, (timestamp, now, verdict)


def test_the_secret_is_generated_once_into_a_private_file(tmp_path: Path) -> None:
    secrets_dir = tmp_path / "secrets"
    first = load_secret(secrets_dir)
    assert len(first) == 32
    assert load_secret(secrets_dir) == first
    assert (secrets_dir / "county.json").stat().st_mode & 0o077 == 0
