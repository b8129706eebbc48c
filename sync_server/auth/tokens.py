"""Access tokens (访问令牌): JWT signed with Ed25519, 30 minutes.

Claims: iss, aud, sub (username), role, device, fam (the device's token family), jti, iat,
nbf, exp. Only `EdDSA` is accepted on verification, so `alg=none` and HS256 signed with the
public key as a secret fail like any bad signature.
"""

from __future__ import annotations

import secrets
from typing import TypedDict, cast

import jwt

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


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or not for us."""


def issue_access(key: SigningKey, *, username: str, role: str, device: str, family: str, now: int) -> str:
    claims: AccessClaims = {"iss": ISSUER, "aud": AUDIENCE, "sub": username, "role": role, "device": device,
                            "fam": family, "jti": secrets.token_urlsafe(12), "iat": now, "nbf": now,
                            "exp": now + ACCESS_TTL}
    return jwt.encode(dict(claims), key.private, algorithm="EdDSA")


def verify_access(key: SigningKey, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(token, key.public, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER,
                            leeway=LEEWAY,
                            options={"require": ["exp", "nbf", "iat", "sub", "jti", "iss", "aud"]})
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from exc
    for name in ("role", "device", "fam"):
        if not isinstance(claims.get(name), str):
            raise InvalidToken(f"claim {name} missing")
    return cast(AccessClaims, {k: claims[k] for k in AccessClaims.__annotations__})
