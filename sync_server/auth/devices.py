"""Devices (终端) in ot-auth, registered on first login.

    {"_id": "device:<device_id>", "type": "device", "device_id", "username", "family",
     "revoked": false, "registered_at", "last_login_at", "revoked_at"}

`family` names the device's current token family: every access token carries it (`fam`)
and every refresh token stores it. A login starts a new family; a reused refresh token
empties it, which kills every token of the device until the next password login;
`revoke-device` sets `revoked`, which refuses the device even a password login.

A device id belongs to the user who registered it (issue 15 F9): ids are not secret (they
are in every event), so another user logging in with the same id must not take it over and
sign its owner out. That login gets a seat of its own, `<device_id>@<username>` (`@` is not
allowed in a device id a client sends, so a seat can never be named by one), with its own
family: the owner's tokens are untouched, and audit records tell the two apart. A shared
office tablet works the same way: each user holds a seat on it. Revoking a device id revokes
its seats too.
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


def seat_of(device_id: str, username: str) -> str:
    return f"{device_id}@{username}"


async def start_family(couch: Couch, device_id: str, username: str, now: str) -> tuple[str, str]:
    """A fresh token family for `username` on the device: (the device id its tokens carry, family).

    The device id itself when unregistered or registered by `username`, else the user's seat on
    it (`seat_of`). Raises DeviceRevoked when the device id (or that seat) was revoked.
    """
    owner = await couch.get_doc(AUTH_DB, device_key(device_id))
    if owner and owner.get("revoked"):
        raise DeviceRevoked(device_id)
    if owner and owner.get("username") not in (None, username):
        device_id = seat_of(device_id, username)
    return device_id, await _bind(couch, device_id, username, now)


async def _bind(couch: Couch, device_id: str, username: str, now: str) -> str:
    for _ in range(5):  # concurrent logins on one device: retry on conflict
        stored = await couch.get_doc(AUTH_DB, device_key(device_id))
        if stored and stored.get("revoked"):
            raise DeviceRevoked(device_id)
        if stored and stored.get("username") not in (None, username):  # registered meanwhile
            raise CouchError(409, "conflict", "the device was registered by another user meanwhile")
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
    """Revoke a device and every user's seat on it: their tokens stop at the next request.

    False if unknown.
    """
    rows = (await couch.request("GET", f"/{AUTH_DB}/_all_docs", params={
        "startkey": device_key(device_id) + "@", "endkey": device_key(device_id) + "@\ufff0"})).json()["rows"]
    for row in rows:
        await _revoke_one(couch, row["id"][len("device:"):], now)
    return await _revoke_one(couch, device_id, now) or bool(rows)


async def _revoke_one(couch: Couch, device_id: str, now: str) -> bool:
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
