"""Account administration (账号管理) behind `onetrip admin list-users|disable-user|…`.

Each command takes the admin `Couch` and returns the text to print; a username that does
not exist raises `AccountNotFound`. Tables are plain text, one row per line, so they can be
piped into `grep` and `awk`. Password hashes and token families are never printed.

A password reset also signs the user out everywhere: the user's refresh tokens are deleted
and the token family of each of their devices is ended, so every access token stops at its
next request (the gateway re-reads the device per request) and every device must log in
with the new password. Devices are not revoked: the same phone may log in again.
"""

from __future__ import annotations

from collections.abc import Sequence

from anyio import to_thread

from sync_server.auth.accounts import load_user
from sync_server.auth.devices import end_family
from sync_server.auth.passwords import hash_password
from sync_server.couch import JSON, Couch, CouchError
from sync_server.provision import AUTH_DB

RETRIES = 5  # the server may write the same user or device document (a login) at the same moment


class AccountNotFound(LookupError):
    """No user of that name."""


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces; `(none)` when there are no rows."""
    if not rows:
        return "  ".join(header) + "\n(无 / none)"
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    return "\n".join(lines)


async def _view(couch: Couch, name: str, **params: object) -> list[JSON]:
    rows: list[JSON] = (await couch.get_json(f"/{AUTH_DB}/_design/auth/_view/{name}", include_docs=True,
                                             **params))["rows"]
    return [row["doc"] for row in rows if row.get("doc")]


async def cmd_list_users(couch: Couch) -> str:
    users = await _view(couch, "users_by_name")
    devices = await _view(couch, "devices_by_user")
    counts: dict[str, int] = {}
    for device in devices:
        if not device.get("revoked"):
            counts[device.get("username", "")] = counts.get(device.get("username", ""), 0) + 1
    rows = [(u["username"], u["role"], ",".join(u.get("divisions", [])),
             "停用/disabled" if u.get("disabled") else "启用/active", str(counts.get(u["username"], 0)),
             u.get("updated_at", "")) for u in users]
    return table(("username", "role", "divisions", "state", "devices", "updated_at"), rows)


async def _update_user(couch: Couch, username: str, changes: JSON) -> JSON:
    for _ in range(RETRIES):
        stored = await load_user(couch, username)
        if stored is None:
            raise AccountNotFound(username)
        try:
            await couch.put_doc(AUTH_DB, {**stored, **changes})
            return stored
        except CouchError as exc:
            if exc.status != 409:
                raise
    raise CouchError(409, "conflict", "user document kept changing")


async def cmd_disable_user(couch: Couch, username: str, now: str) -> str:
    await _update_user(couch, username, {"disabled": True, "updated_at": now})
    return (f"用户 {username} 已停用，所有终端在下一次请求时失效 / user {username} disabled: "
            "every device is refused at its next request")


async def cmd_enable_user(couch: Couch, username: str, now: str) -> str:
    await _update_user(couch, username, {"disabled": False, "updated_at": now})
    return f"用户 {username} 已启用 / user {username} enabled"


async def cmd_reset_password(couch: Couch, username: str, password: str, now: str) -> str:
    hashed = await to_thread.run_sync(hash_password, password)  # WeakPassword before anything changes
    await _update_user(couch, username, {"password_hash": hashed, "updated_at": now})
    ended = await sign_out_everywhere(couch, username)
    return (f"用户 {username} 的密码已重置，{ended} 台终端需重新登录 / password of {username} reset; "
            f"{ended} device(s) must log in again")


async def sign_out_everywhere(couch: Couch, username: str) -> int:
    """Delete the user's refresh tokens and end each device's token family; the devices ended."""
    devices = await _view(couch, "devices_by_user", key=username)
    ids = [d["device_id"] for d in devices]
    if ids:
        rows = (await couch.request("POST", f"/{AUTH_DB}/_design/auth/_view/refresh_by_device",
                                    params={"include_docs": "true"}, json_body={"keys": ids})).json()["rows"]
        stale = [{"_id": r["doc"]["_id"], "_rev": r["doc"]["_rev"], "_deleted": True}
                 for r in rows if r.get("doc") and r["doc"].get("username") == username]
        if stale:
            await couch.bulk_docs(AUTH_DB, stale)
    ended = 0
    for device in devices:
        if device.get("family"):
            await end_family(couch, device["device_id"], device["family"])
            ended += 1
    return ended


def _device_state(device: JSON) -> str:
    if device.get("revoked"):
        return "注销/revoked"
    return "在线/signed-in" if device.get("family") else "已登出/signed-out"


async def cmd_list_devices(couch: Couch, username: str | None = None) -> str:
    if username is not None and await load_user(couch, username) is None:
        raise AccountNotFound(username)
    devices = await _view(couch, "devices_by_user", **({"key": username} if username is not None else {}))
    rows = [(d["device_id"], d.get("username", ""), _device_state(d),
             d.get("registered_at", ""), d.get("last_login_at", ""), d.get("revoked_at") or "")
            for d in sorted(devices, key=lambda d: (d.get("username", ""), d["device_id"]))]
    return table(("device_id", "username", "state", "registered_at", "last_login_at", "revoked_at"), rows)

