"""The signing key ring (签名密钥环): the current key plus the retired public keys still accepted.

    secrets/ed25519-signing-key.pem     the current private key (signs everything new)
    secrets/signing-keyring.json        {"keys": [{"kid", "public_pem", "retired_at" (unix s)}]}

Key ids are the 4-byte key id of the delivery tokens in hex (`shared.delivery.key_id`), also
written as the JWT header `kid`. `rotate_signing_key` moves the current public key into the
ring and replaces the private key; nobody is logged out:

- an access token signed by a retired key is accepted until `ACCESS_KEEP` after its
  retirement — by then every token it signed has expired (30 min lifetime);
- a delivery token (the QR code on a printed result slip) is accepted until `DELIVERY_KEEP`
  after retirement — every token signed before then has expired too (30 days lifetime).

Only public keys are kept: a retired key signs nothing more. After a *compromised* key,
rotate with `forget_old=True`: nothing signed by it is accepted any longer (everyone logs in
again, slips are reprinted).

Servers notice a rotation without a restart: the files are re-checked (one `stat` each) at
most every `CHECK_INTERVAL` seconds, and at once when a token names an unknown key id — a
token from a server that already rotated. Several servers share one `secrets/` folder.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared import delivery
from sync_server.auth.keys import KEY_FILE, SigningKey, load_signing_key
from sync_server.auth.tokens import ACCESS_TTL, LEEWAY

RING_FILE = "signing-keyring.json"
ACCESS_KEEP = ACCESS_TTL + LEEWAY
# A day past the delivery token lifetime: slips printed just before the rotation still verify.
DELIVERY_KEEP = int((delivery.DEFAULT_TTL + timedelta(days=1)).total_seconds())
CHECK_INTERVAL = 2.0  # seconds between checks of the key files: rotation reaches every server quickly


@dataclass(frozen=True)
class RetiredKey:
    kid: str
    public: Ed25519PublicKey
    retired_at: int

    @property
    def public_pem(self) -> str:
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_mtime_ns, info.st_size


def read_ring(secrets_dir: Path) -> list[RetiredKey]:
    path = secrets_dir / RING_FILE
    if not path.exists():
        return []
    keys: list[RetiredKey] = []
    for entry in json.loads(path.read_text(encoding="utf-8")).get("keys", []):
        public = serialization.load_pem_public_key(entry["public_pem"].encode())
        if not isinstance(public, Ed25519PublicKey):
            raise ValueError(f"{path}: key {entry.get('kid')} is not an Ed25519 public key")
        keys.append(RetiredKey(entry["kid"], public, int(entry["retired_at"])))
    return keys


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)  # readers see the old file or the new one, never half of one


def rotate_signing_key(secrets_dir: Path, now: int, *, forget_old: bool = False) -> tuple[str, str]:
    """Retire the current key and make a new one; (old kid, new kid).

    The ring is written before the new private key, so a server never signs with a key whose
    predecessor it cannot verify. Entries past both keep periods are dropped.
    """
    old = load_signing_key(secrets_dir)
    kept = [k for k in read_ring(secrets_dir) if now <= k.retired_at + max(ACCESS_KEEP, DELIVERY_KEEP)]
    if not forget_old:
        kept = [k for k in kept if k.kid != old.kid] + [RetiredKey(old.kid, old.public, now)]
    ring = {"keys": [{"kid": k.kid, "public_pem": k.public_pem, "retired_at": k.retired_at} for k in kept]}
    _write_atomically(secrets_dir / RING_FILE, json.dumps(ring, indent=1).encode(), 0o644)
    new = Ed25519PrivateKey.generate()
    pem = new.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    _write_atomically(secrets_dir / KEY_FILE, pem, 0o600)
    return old.kid, SigningKey(new).kid


class KeyRing:
    """What a server signs with and verifies against; re-reads the key files when they change."""

    def __init__(self, secrets_dir: Path, current: SigningKey | None = None, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.secrets_dir = secrets_dir
        self.monotonic = monotonic
        self._current = current if current is not None else load_signing_key(secrets_dir)
        self._retired: list[RetiredKey] = []
        self._stamps: tuple[Any, Any] = (None, None)
        self._checked = float("-inf")
        self._refresh(force=True, keep_current=current is not None)

    def _refresh(self, *, force: bool = False, keep_current: bool = False) -> None:
        moment = self.monotonic()
        if not force and moment - self._checked < CHECK_INTERVAL:
            return
        self._checked = moment
        stamps = (_stamp(self.secrets_dir / KEY_FILE), _stamp(self.secrets_dir / RING_FILE))
        if stamps == self._stamps:
            return
        self._retired = read_ring(self.secrets_dir)
        if stamps[0] is not None and not keep_current:
            self._current = load_signing_key(self.secrets_dir)
        self._stamps = stamps

    def current(self) -> SigningKey:
        self._refresh()
        return self._current

    def _find(self, kid: str) -> RetiredKey | None:
        for attempt in range(2):
            if attempt:
                self._refresh(force=True)  # perhaps another server rotated a moment ago
            if kid == self._current.kid:
                return None
            found = next((k for k in self._retired if k.kid == kid), None)
            if found is not None:
                return found
        return None

    def access_key(self, kid: str | None, now: float) -> Ed25519PublicKey | None:
        """The key to verify an access token whose header names `kid`; None when not accepted."""
        current = self.current()
        if kid is None or kid == current.kid:
            return current.public
        retired = self._find(kid)
        if retired is None:
            return self._current.public if kid == self._current.kid else None
        return retired.public if now <= retired.retired_at + ACCESS_KEEP else None

    def delivery_key(self, token: str, now: float) -> Ed25519PublicKey:
        """The key to verify a delivery token with: the one its key id names when still kept.

        Falls back to the current key, which then refuses the token as forged or malformed.
        """
        current = self.current()
        try:
            raw = base64.b32decode(token.strip().upper() + "=" * (-len(token.strip()) % 8))
        except (binascii.Error, ValueError):
            return current.public
        kid = raw[1:1 + delivery.KEY_ID_BYTES].hex()
        if kid == current.kid:
            return current.public
        retired = self._find(kid)
        if retired is not None and now <= retired.retired_at + DELIVERY_KEEP:
            return retired.public
        return self._current.public

    def published(self, now: float) -> list[dict[str, Any]]:
        """Every key a token may still be verified with, current first (`/api/public-key`)."""
        current = self.current()
        keys: list[dict[str, Any]] = [{"kid": current.kid, "pem": current.public_pem,
                                       "raw": current.public_raw_b64url, "current": True}]
        for k in sorted(self._retired, key=lambda k: -k.retired_at):
            if now > k.retired_at + DELIVERY_KEEP:
                continue
            raw = k.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            keys.append({"kid": k.kid, "pem": k.public_pem,
                         "raw": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), "current": False,
                         "retired_at": k.retired_at,
                         "access_until": k.retired_at + ACCESS_KEEP,
                         "delivery_until": k.retired_at + DELIVERY_KEEP})
        return keys
