"""Access tokens (访问令牌): JWT signed with Ed25519, 30 minutes.

Claims: iss, aud, sub (username), role, device, fam (the device's token family), jti, iat,
nbf, exp. Only `EdDSA` is accepted on verification, so `alg=none` and HS256 signed with the
public key as a secret fail like any bad signature.
"""

from __future__ import annotations

import secrets
import time
from typing import Protocol, TypedDict, cast

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync_server.auth.keys import SigningKey

ISSUER = "onetrip"
AUDIENCE = "onetrip-api"
ACCESS_TTL = 30 * 60  # seconds: short, because a revoked device is only re-checked per request
LEEWAY = 5  # seconds of clock skew between gateway processes


class AccessClaims(TypedDict):
    iss: str
    aud: str
    sub: str
    role: str
    device: str
    fam: str
    jti: str
    iat: int
    nbf: int
    exp: int


class PublicKeys(Protocol):
    """A `SigningKey` or a `KeyRing`: the key for a token's header `kid`, None when not accepted."""

    def access_key(self, kid: str | None, now: float) -> Ed25519PublicKey | None: ...


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or not for us."""


def issue_access(key: SigningKey, *, username: str, role: str, device: str, family: str, now: int) -> str:
    claims: AccessClaims = {"iss": ISSUER, "aud": AUDIENCE, "sub": username, "role": role, "device": device,
                            "fam": family, "jti": secrets.token_urlsafe(12), "iat": now, "nbf": now,
                            "exp": now + ACCESS_TTL}
    return jwt.encode(dict(claims), key.private, algorithm="EdDSA", headers={"kid": key.kid})


def verify_access(keys: PublicKeys, token: str, now: float | None = None) -> AccessClaims:
    """The claims of a valid token; `now` decides whether a retired key is still accepted."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from exc
    public = keys.access_key(kid if isinstance(kid, str) else None, time.time() if now is None else now)
    if public is None or (kid is not None and not isinstance(kid, str)):
        raise InvalidToken("unknown key id")
    try:
        claims = jwt.decode(token, public, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER,
                            leeway=LEEWAY,
                            options={"require": ["exp", "nbf", "iat", "sub", "jti", "iss", "aud"]})
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from exc
    for name in ("role", "device", "fam"):
        if not isinstance(claims.get(name), str):
            raise InvalidToken(f"claim {name} missing")
    return cast(AccessClaims, {k: claims[k] for k in AccessClaims.__annotations__})
