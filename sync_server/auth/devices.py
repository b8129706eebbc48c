"""Devices (终端) in ot-auth, registered on first login.

    {"_id": "device:<device_id>", "type": "device", "device_id", "username", "family",
     "revoked": false, "registered_at", "last_login_at", "revoked_at"}

`family` names the device's current token family: every access token carries it (`fam`)
and every refresh token stores it. A login starts a new family; a reused refresh token
empties it, which kills every token of the device until the next password login;
`revoke-device` sets `revoked`, which refuses the device even a password login.
"""

from __future__ import annotations

import re
import secrets

from sync_server.couch import JSON, Couch, CouchError
from sync_server.provision import AUTH_DB

DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class DeviceRevoked(Exception):
    """The device was revoked by an administrator."""


def device_key(device_id: str) -> str:
    return f"device:{device_id}"


async def start_family(couch: Couch, device_id: str, username: str, now: str) -> str:
    """Register or re-bind the device to `username` with a fresh token family; returns it."""
    for _ in range(5):  # concurrent logins on one device: retry on conflict
        stored = await couch.get_doc(AUTH_DB, device_key(device_id))
        if stored and stored.get("revoked"):
            raise DeviceRevoked(device_id)
        family = secrets.token_urlsafe(12)
        doc: JSON = {**(stored or {"registered_at": now}), "_id": device_key(device_id), "type": "device",
                     "device_id": device_id, "username": username, "family": family, "revoked": False,
                     "last_login_at": now}
        try:
            await couch.put_doc(AUTH_DB, doc)
        except CouchError as exc:
            if exc.status == 409:
                continue
            raise
        return family
    raise CouchError(409, "conflict", "device document kept changing")


async def end_family(couch: Couch, device_id: str, family: str) -> None:
    """Invalidate every token of `family` (refresh-token reuse)."""
    for _ in range(5):
        stored = await couch.get_doc(AUTH_DB, device_key(device_id))
        if stored is None or stored.get("family") != family:
            return
        try:
            await couch.put_doc(AUTH_DB, {**stored, "family": ""})
            return
        except CouchError as exc:
            if exc.status != 409:
                raise


async def revoke_device(couch: Couch, device_id: str, now: str) -> bool:
    """Revoke a device: its tokens stop working at its next request. False if unknown."""
    for _ in range(5):
        stored = await couch.get_doc(AUTH_DB, device_key(device_id))
        if stored is None:
            return False
        if stored.get("revoked"):
            return True
        try:
            await couch.put_doc(AUTH_DB, {**stored, "revoked": True, "family": "", "revoked_at": now})
            return True
        except CouchError as exc:
            if exc.status != 409:
                raise
    raise CouchError(409, "conflict", "device document kept changing")
