"""Refresh tokens (刷新令牌): opaque, stored hashed, single use, rotated.

    {"_id": "refresh:<sha256 hex of the token>", "type": "refresh", "device", "username",
     "family", "issued_at", "expires_at" (unix seconds), "used_at": null}

The token itself is never stored. Presenting a used token means it was copied: the whole
family of the device is ended (`devices.end_family`), so both the thief and the device must
log in again.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sync_server.couch import Couch, CouchError
from sync_server.provision import AUTH_DB

REFRESH_TTL = 30 * 24 * 3600  # seconds: an agent may stay offline for weeks between syncs


class RefreshRefused(Exception):
    """Unknown, expired, used or orphaned refresh token."""


@dataclass(frozen=True)
class RefreshGrant:
    username: str
    device: str
    family: str


def _key(token: str) -> str:
    return "refresh:" + hashlib.sha256(token.encode()).hexdigest()


async def issue_refresh(couch: Couch, grant: RefreshGrant, now: int) -> str:
    token = secrets.token_urlsafe(32)
    await couch.put_doc(AUTH_DB, {"_id": _key(token), "type": "refresh", "device": grant.device,
                                  "username": grant.username, "family": grant.family, "issued_at": now,
                                  "expires_at": now + REFRESH_TTL, "used_at": None})
    return token


async def use_refresh(couch: Couch, token: str, now: int) -> RefreshGrant:
    """Spend `token`; returns its grant when still valid. Raises `RefreshRefused` otherwise.

    A reused token raises after ending the device's family.
    """
    from sync_server.auth.devices import device_key, end_family

    if not token or len(token) > 200:
        raise RefreshRefused("malformed")
    stored = await couch.get_doc(AUTH_DB, _key(token))
    if stored is None:
        raise RefreshRefused("unknown")
    grant = RefreshGrant(stored["username"], stored["device"], stored["family"])
    if stored.get("used_at") is not None:
        await end_family(couch, grant.device, grant.family)
        raise RefreshRefused("reused")
    if stored["expires_at"] <= now:
        raise RefreshRefused("expired")
    try:
        await couch.put_doc(AUTH_DB, {**stored, "used_at": now})
    except CouchError as exc:
        if exc.status == 409:  # spent concurrently by another request: that is reuse too
            await end_family(couch, grant.device, grant.family)
            raise RefreshRefused("reused") from exc
        raise
    device = await couch.get_doc(AUTH_DB, device_key(grant.device))
    if device is None or device.get("revoked") or device.get("family") != grant.family:
        raise RefreshRefused("family ended")
    return grant
