"""Signing key rotation: retired keys accepted for access tokens and delivery slips, then not."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest

from shared import delivery
from sync_server.auth.keyring import ACCESS_KEEP, DELIVERY_KEEP, RING_FILE, KeyRing, rotate_signing_key
from sync_server.auth.keys import load_signing_key
from sync_server.auth.tokens import InvalidToken, issue_access, verify_access

CASE = "case:01JD0000000000000000000000"


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def access(key_dir: Path, now: int) -> str:
    return issue_access(load_signing_key(key_dir), username="u1", role="village_agent", device="d1",
                        family="f1", now=now)


def test_access_tokens_of_a_retired_key_pass_until_their_lifetime_is_over(tmp_path: Path) -> None:
    now = int(time.time())
    old_token = access(tmp_path, now)
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    ticks = Ticks()
    ring = KeyRing(tmp_path, monotonic=ticks)
    assert ring.current().kid == old_kid
    old, new = rotate_signing_key(tmp_path, now)
    ticks.now += 10
    assert (old, ring.access_key(old_kid, now) is not None) == (old_kid, True)
    assert verify_access(ring, old_token, now)["sub"] == "u1"
    assert ring.access_key(old_kid, now + ACCESS_KEEP + 1) is None
    with pytest.raises(InvalidToken):
        verify_access(ring, old_token, now + ACCESS_KEEP + 1)
    assert ring.current().kid == new
    assert verify_access(ring, access(tmp_path, now), now)["sub"] == "u1"
    assert ring.access_key("00000000", now) is None


def test_a_server_picks_up_a_rotation_by_checking_the_files(tmp_path: Path) -> None:
    ticks = Ticks()
    ring = KeyRing(tmp_path, monotonic=ticks)
    before = ring.current().kid
    _, new = rotate_signing_key(tmp_path, int(time.time()))
    assert ring.current().kid == before  # checked at most every few seconds
    ticks.now += 10
    assert ring.current().kid == new
    # A token from a server that already rotated names a key this one has not seen: re-read at once.
    other = KeyRing(tmp_path, monotonic=ticks)
    _, newest = rotate_signing_key(tmp_path, int(time.time()))
    token = access(tmp_path, int(time.time()))
    assert verify_access(other, token)["sub"] == "u1"
    assert other.current().kid == newest


def test_printed_slips_keep_verifying_after_rotation(tmp_path: Path) -> None:
    signed = datetime(2026, 11, 24, tzinfo=UTC)
    token = delivery.issue_token(load_signing_key(tmp_path).private, case_id=CASE, tracking_code="ABCD1234",
                                 now=signed, token_id=b"\x01" * 8)
    rotated = int(signed.timestamp()) + 3600
    rotate_signing_key(tmp_path, rotated)
    ring = KeyRing(tmp_path)
    later = datetime.fromtimestamp(rotated + 20 * 86400, UTC)
    content = delivery.verify_token(token, ring.delivery_key(token, later.timestamp()), now=later)
    assert content.case_id == CASE
    # Past the keep period the ring offers the current key, which refuses the token.
    with pytest.raises(delivery.TokenForged):
        delivery.read_token(token, ring.delivery_key(token, rotated + DELIVERY_KEEP + 1))
    with pytest.raises(delivery.TokenMalformed):
        delivery.read_token("not a token!", ring.delivery_key("not a token!", rotated))


def test_forget_old_accepts_nothing_the_compromised_key_signed(tmp_path: Path) -> None:
    now = int(time.time())
    old_token = access(tmp_path, now)
    rotate_signing_key(tmp_path, now, forget_old=True)
    ring = KeyRing(tmp_path)
    with pytest.raises(InvalidToken):
        verify_access(ring, old_token, now)
    assert [k["current"] for k in ring.published(now)] == [True]


def test_the_ring_keeps_public_keys_only_and_drops_expired_entries(tmp_path: Path) -> None:
    now = int(time.time())
    first, _ = rotate_signing_key(tmp_path, now)
    second, _ = rotate_signing_key(tmp_path, now + 60)
    text = (tmp_path / RING_FILE).read_text()
    assert "PRIVATE" not in text
    assert [k["kid"] for k in json.loads(text)["keys"]] == [first, second]
    third, current = rotate_signing_key(tmp_path, now + DELIVERY_KEEP + ACCESS_KEEP + 120)
    assert [k["kid"] for k in json.loads((tmp_path / RING_FILE).read_text())["keys"]] == [third]
    assert (tmp_path / "ed25519-signing-key.pem").stat().st_mode & 0o077 == 0
    assert KeyRing(tmp_path).current().kid == current
