"""Access tokens: issued with every claim, verified with EdDSA only."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from sync_server.auth.keys import load_signing_key
from sync_server.auth.tokens import ACCESS_TTL, InvalidToken, VerifiedTokens, issue_access, verify_access


def test_round_trip_and_key_file_is_private(tmp_path: Path) -> None:
    key = load_signing_key(tmp_path)
    assert (tmp_path / "ed25519-signing-key.pem").stat().st_mode & 0o077 == 0
    assert load_signing_key(tmp_path).public_pem == key.public_pem  # kept, not regenerated
    now = int(time.time())
    token = issue_access(key, username="u1", role="village_agent", device="d1", family="f1", now=now)
    claims = verify_access(key, token)
    assert (claims["sub"], claims["role"]) == ("u1", "village_agent")
    assert (claims["device"], claims["fam"]) == ("d1", "f1")
    assert claims["exp"] == now + ACCESS_TTL


def test_other_algorithms_are_refused(tmp_path: Path) -> None:
    key = load_signing_key(tmp_path)
    now = int(time.time())
    claims = {"iss": "onetrip", "aud": "onetrip-api", "sub": "u", "role": "r", "device": "d", "fam": "f",
              "jti": "j", "iat": now, "nbf": now, "exp": now + 60}
    with pytest.raises(InvalidToken):
        verify_access(key, jwt.encode(claims, "secret-secret-secret-secret-secret", algorithm="HS256"))
    with pytest.raises(InvalidToken):
        verify_access(key, jwt.encode(claims, "", algorithm="none"))


def test_a_cached_token_is_checked_again_for_what_time_changes(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    key = load_signing_key(tmp_path)
    other = load_signing_key(tmp_path / "other")
    cache = VerifiedTokens()
    now = int(time.time())
    token = issue_access(key, username="u1", role="village_agent", device="d1", family="f1", now=now)
    first = verify_access(key, token, cache=cache)
    assert verify_access(key, token, cache=cache) == first and len(cache.entries) == 1
    with pytest.raises(InvalidToken):  # verified once under `key`: not accepted by another key
        verify_access(other, token, cache=cache)
    assert verify_access(key, token, cache=cache) == first
    later = time.time() + ACCESS_TTL + 10  # PyJWT reads the clock itself; the cached path, time.time
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(InvalidToken, match="Expired"):
        verify_access(key, token, cache=cache)


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    key = load_signing_key(tmp_path)
    cache = VerifiedTokens(capacity=2)
    now = int(time.time())
    for n in range(3):
        verify_access(key, issue_access(key, username=f"u{n}", role="r", device="d", family="f", now=now),
                      cache=cache)
    assert len(cache.entries) == 2
