"""The server's Ed25519 signing key (签名密钥), generated into the data folder on first start.

One key signs access tokens (JWT, EdDSA) and the delivery QR tokens; its public half is
published at `GET /api/public-key` so devices verify QR tokens offline. Rotation and the
retired public keys still accepted: `sync_server.auth.keyring`.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.delivery import key_id

KEY_FILE = "ed25519-signing-key.pem"


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    # Cached: derived on every request otherwise (cached_property writes the instance dict,
    # which a frozen dataclass without slots allows).
    @cached_property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def public_pem(self) -> str:
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    @cached_property
    def kid(self) -> str:
        """Key id (密钥标识): hex of the delivery tokens' 4-byte key id; the JWT header `kid`."""
        return key_id(self.public).hex()

    def access_key(self, kid: str | None, now: float) -> Ed25519PublicKey | None:
        """The public key for an access token with header `kid` (tokens without one predate key ids)."""
        return self.public if kid in (None, self.kid) else None

    @property
    def public_raw_b64url(self) -> str:
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def load_signing_key(secrets_dir: Path) -> SigningKey:
    """The key in `secrets_dir`, created (mode 0600) when missing."""
    path = secrets_dir / KEY_FILE
    if not path.exists():
        secrets_dir.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return SigningKey(key)
