"""Device state (本机状态): who is signed in on this phone, tokens, PIN record, preferences.

One small JSON file in the app's private data folder, written atomically (temp file, then
rename) so a phone that dies mid-write keeps the previous state. The documents themselves
live in the LocalStore; this file holds only what the app needs before opening it.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

FILE_NAME = "device.json"
RECENT_ITEMS = 6  # the wizard's "recently used" row: what fits on one phone screen


@dataclass(frozen=True)
class Account:
    """The signed-in user as the server described them at login.

    `people` (username, display name) and `places` (division code, Chinese name) are the
    server's directory at login: the names screens show offline instead of codes.
    """

    username: str
    role: str
    divisions: tuple[str, ...]
    databases: tuple[str, ...]
    display_name: str = ""
    people: tuple[tuple[str, str], ...] = ()
    places: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DeviceState:
    """Everything kept between app starts, outside the document store."""

    device_id: str
    server_url: str = ""
    account: Account | None = None
    access_token: str = ""
    refresh_token: str = ""
    pin: dict[str, Any] | None = None
    language: str = "zh"
    recent_items: tuple[str, ...] = field(default=())
    last_sync: str = ""
    public_key: str = ""
    # Local sequence up to which every change has been pushed: what "waiting to sync" counts from.
    pushed_seq: int = 0

    def with_recent_item(self, code: str) -> DeviceState:
        recent = (code, *[c for c in self.recent_items if c != code])[:RECENT_ITEMS]
        return replace(self, recent_items=recent)


def new_device_id() -> str:
    """A random device id (64 bits, hex): names this install in version vectors and audit events."""
    return "dev-" + secrets.token_hex(8)


class DeviceStateFile:
    """Loads and saves DeviceState in `folder/device.json`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / FILE_NAME

    def load(self) -> DeviceState:
        if not self.path.is_file():
            return DeviceState(device_id=new_device_id())
        data = json.loads(self.path.read_text(encoding="utf-8"))
        account = data.get("account")
        return DeviceState(
            device_id=str(data["device_id"]),
            server_url=str(data.get("server_url", "")),
            account=_account(account) if isinstance(account, dict) else None,
            access_token=str(data.get("access_token", "")),
            refresh_token=str(data.get("refresh_token", "")),
            pin=data.get("pin") if isinstance(data.get("pin"), dict) else None,
            language=str(data.get("language", "zh")),
            recent_items=tuple(str(c) for c in data.get("recent_items", ())),
            last_sync=str(data.get("last_sync", "")),
            public_key=str(data.get("public_key", "")),
            pushed_seq=int(data.get("pushed_seq", 0)),
        )

    def save(self, state: DeviceState) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.path)


def _account(data: dict[str, Any]) -> Account:
    return Account(
        username=str(data["username"]),
        role=str(data["role"]),
        divisions=tuple(str(d) for d in data.get("divisions", ())),
        databases=tuple(str(d) for d in data.get("databases", ())),
        display_name=str(data.get("display_name", "")),
        people=pairs(data.get("people")),
        places=pairs(data.get("places")),
    )


def pairs(data: object) -> tuple[tuple[str, str], ...]:
    """Name pairs from JSON: an object `{key: name}` (the server) or a list of pairs (this file)."""
    if isinstance(data, dict):
        items = list(data.items())
    elif isinstance(data, list):
        items = [tuple(p) for p in data if isinstance(p, list | tuple) and len(p) == 2]
    else:
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in items if str(v).strip()))
