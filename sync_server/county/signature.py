"""Callback signatures (回调签名): HMAC-SHA256 over timestamp and body with a shared secret.

The county platform and this server share one secret, generated on first use into
`$ONETRIP_DATA/secrets/county.json` (mode 0600) and given to the county out of band (the
built-in simulator reads the same file). A callback carries two headers:

    X-OneTrip-Timestamp: 1795847400                       (Unix seconds, when it was signed)
    X-OneTrip-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

Signing the timestamp with the body stops an old request being re-sent with a fresh
timestamp; the receiver refuses timestamps outside `MAX_SKEW` and remembers signatures it
has seen for longer than that window (see `callback.py`), so an exact replay is refused too.
The same secret signs the time-limited material file links (`file_link.py`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

TIMESTAMP_HEADER = "X-OneTrip-Timestamp"
SIGNATURE_HEADER = "X-OneTrip-Signature"
SCHEME = "sha256="
# Five minutes, as Stripe and Slack webhooks use: wide enough for unsynchronised clocks of
# two government networks, narrow enough that the replay memory stays small.
MAX_SKEW = 300
SECRET_BYTES = 32  # 256 bits, the HMAC-SHA256 block-size recommendation (RFC 2104 §3)


@dataclass(frozen=True)
class SignatureCheck:
    """Outcome of checking a callback's headers: `ok`, or the reason it failed."""

    ok: bool
    reason: str = ""


def secret_path(secrets_dir: Path) -> Path:
    return secrets_dir / "county.json"


def load_secret(secrets_dir: Path) -> bytes:
    """The shared county secret, generated on first use (the file is never logged or printed)."""
    path = secret_path(secrets_dir)
    if not path.exists():
        secrets_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it between our check and open
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                json.dump({"hmac_secret": secrets.token_hex(SECRET_BYTES)}, fh)
    return bytes.fromhex(json.loads(path.read_text())["hmac_secret"])


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The `X-OneTrip-Signature` value for `body` signed at `timestamp`."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def signed_headers(secret: bytes, timestamp: int, body: bytes) -> dict[str, str]:
    """Headers a sender adds to a JSON callback."""
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


def check(secret: bytes, body: bytes, timestamp: str | None, signature: str | None,
          now: int) -> SignatureCheck:
    """Check the headers of a callback received at Unix time `now`."""
    if not timestamp or not signature:
        return SignatureCheck(False, "missing signature headers 缺少签名")
    try:
        stamp = int(timestamp)
    except ValueError:
        return SignatureCheck(False, "timestamp is not an integer 时间戳无效")
    if abs(now - stamp) > MAX_SKEW:
        return SignatureCheck(False, "timestamp outside the allowed window 时间戳过期")
    if not hmac.compare_digest(sign(secret, stamp, body), signature.strip()):
        return SignatureCheck(False, "signature does not match 签名不符")
    return SignatureCheck(True)
