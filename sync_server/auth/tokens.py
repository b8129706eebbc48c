"""Access tokens (访问令牌): JWT signed with Ed25519, 30 minutes.

Claims: iss, aud, sub (username), role, device, fam (the device's token family), jti, iat,
nbf, exp. Only `EdDSA` is accepted on verification, so `alg=none` and HS256 signed with the
public key as a secret fail like any bad signature.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
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


class VerifiedTokens:
    """Tokens whose signature and claims were checked (验签缓存), with the key that verified them.

    A device sends the same access token with every request for up to 30 minutes; checking its
    Ed25519 signature and parsing it again each time was a tenth of the gateway's CPU per
    request. On a hit, what can change with time is checked again — the key still accepted
    (the same public key, under the header's kid) and `exp`/`nbf`/`iat` against the system
    clock — exactly as PyJWT checks them. Revocation is not a property of the token: `current_user`
    checks the device and user on every request either way.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity  # tokens of 10,000 devices active within half an hour
        self.entries: OrderedDict[str, tuple[str | None, Ed25519PublicKey, AccessClaims]] = OrderedDict()

    def get(self, keys: PublicKeys, token: str, now: float) -> AccessClaims | None:
        entry = self.entries.get(token)
        if entry is None:
            return None
        kid, verified_by, claims = entry
        public = keys.access_key(kid, now)
        if public is None or public != verified_by:
            del self.entries[token]
            return None
        wall = time.time()  # PyJWT checks the times against the system clock, so does this
        if claims["exp"] <= wall - LEEWAY:
            raise InvalidToken("ExpiredSignatureError")
        if claims["nbf"] > wall + LEEWAY or claims["iat"] > wall + LEEWAY:
            raise InvalidToken("ImmatureSignatureError")
        self.entries.move_to_end(token)
        return claims

    def put(self, token: str, kid: str | None, public: Ed25519PublicKey, claims: AccessClaims) -> None:
        self.entries[token] = (kid, public, claims)
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)


_verified = VerifiedTokens()


def verify_access(keys: PublicKeys, token: str, now: float | None = None,
                  cache: VerifiedTokens | None = _verified) -> AccessClaims:
    """The claims of a valid token; `now` decides whether a retired key is still accepted."""
    now = time.time() if now is None else now
    if cache is not None:
        known = cache.get(keys, token, now)
        if known is not None:
            return known
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from exc
    public = keys.access_key(kid if isinstance(kid, str) else None, now)
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
    checked = cast(AccessClaims, {k: claims[k] for k in AccessClaims.__annotations__})
    if cache is not None:
        cache.put(token, kid if isinstance(kid, str) else None, public, checked)
    return checked
