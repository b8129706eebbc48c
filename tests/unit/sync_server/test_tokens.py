"""Access tokens: issued with every claim, verified with EdDSA only."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from sync_server.auth.keys import load_signing_key
from sync_server.auth.tokens import ACCESS_TTL, InvalidToken, issue_access, verify_access


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
        verify_access(key, jwt.encode(claims, None, algorithm="none"))
