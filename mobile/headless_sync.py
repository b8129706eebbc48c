"""Headless sync (无界面同步): `onetrip-device sync`, the same replication the app runs, from a shell.

Logs in with `POST {server}/api/auth/login`, then runs one round of `mobile.sync_plan.sync_round`
— the app's own round: each village database gets the local documents routed to it and is pulled,
databases other than `ot-v-*` (the catalog) are pulled only, all through the gateway
`{server}/sync/{db}` with the access token, refreshed once on 401. The last stdout line is
`{"pushed", "pulled", "conflicts", "databases"}` (docs/design.md §Contracts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from mobile.replication import Backoff, ReplicationError, Unauthorized
from mobile.replication.checkpoint import held_list
from mobile.replication.endpoint import JSON
from mobile.store import LocalStore, NotFound
from mobile.sync_plan import Gateway, sync_round, village_filter
from mobile.tls import tls_context

log = logging.getLogger(__name__)

DEVICE_DOC = "_local/onetrip-device"
# Kept importable from here for callers written before the routing moved to mobile.sync_plan.
__all__ = ["add_sync_command", "sync_databases", "village_filter"]


class LoginFailed(Exception):
    """The server refused the login or could not be reached; the message is for people."""


@dataclass(frozen=True)
class Login:
    """What the login answer gives a device."""

    access_token: str
    refresh_token: str
    databases: tuple[str, ...]


@dataclass(frozen=True)
class SyncResult:
    """Totals of one headless sync."""

    pushed: int = 0
    pulled: int = 0
    conflicts: int = 0
    databases: tuple[str, ...] = ()
    failures: tuple[JSON, ...] = field(default_factory=tuple)  # pushes the server refused
    held: tuple[JSON, ...] = field(default_factory=tuple)  # pulls this store refused: retried next sync

    def as_json(self) -> dict[str, Any]:
        return {
            "pushed": self.pushed,
            "pulled": self.pulled,
            "conflicts": self.conflicts,
            "databases": list(self.databases),
            "refused": len(self.failures),
            "held": len(self.held),
        }


def device_id_of(store: LocalStore, given: str | None) -> str:
    """The device id: given, or the one this store remembers, or a new one it will remember."""
    if given:
        return given
    try:
        return str(store.get(DEVICE_DOC)["device_id"])
    except NotFound:
        value = f"dev-{uuid.uuid4().hex}"
        store.put({"_id": DEVICE_DOC, "device_id": value})
        return value


async def login(
    client: httpx.AsyncClient, server: str, username: str, password: str, device_id: str
) -> Login:
    credentials = {"username": username, "password": password, "device_id": device_id}
    try:
        response = await client.post(f"{server}/api/auth/login", json=credentials)
    except httpx.TransportError as exc:
        raise LoginFailed(f"无法连接服务器 / Cannot reach the server ({type(exc).__name__})") from exc
    if response.status_code == 401:
        raise LoginFailed("登录失败：用户名或密码错误 / Login failed: wrong username or password")
    if response.status_code == 429:
        raise LoginFailed("登录尝试过多，请稍后再试 / Too many login attempts; wait and try again")
    if response.status_code >= 400:
        raise LoginFailed(f"登录失败 / Login failed: HTTP {response.status_code}")
    body = response.json()
    return Login(str(body["access_token"]), str(body.get("refresh_token", "")),
                 tuple(body.get("user", {}).get("databases", [])))


class Tokens:
    """The access token of this sync, refreshed once it expires (a refresh token works once)."""

    def __init__(self, client: httpx.AsyncClient, server: str, login: Login) -> None:
        self.client, self.server = client, server
        self.access, self._refresh = login.access_token, login.refresh_token

    async def refresh(self) -> None:
        try:
            response = await self.client.post(f"{self.server}/api/auth/refresh",
                                              json={"refresh_token": self._refresh})
        except httpx.TransportError as exc:
            raise LoginFailed(f"无法连接服务器 / Cannot reach the server ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise LoginFailed("登录已过期，请重新登录 / Sign-in expired: log in again")
        body = response.json()
        self.access, self._refresh = str(body["access_token"]), str(body.get("refresh_token", ""))


async def sync_databases(store: LocalStore, server: str, tokens: Tokens, databases: tuple[str, ...],
                         *, transport: httpx.AsyncBaseTransport | None = None,
                         backoff: Backoff | None = None) -> SyncResult:
    """One round of the app's sync (`sync_round`): catalog and other databases pulled into the store."""
    gateway = Gateway(server, lambda: tokens.access, tokens.refresh, transport, backoff or Backoff())
    result = await sync_round(store, gateway, databases, pull_store=store)
    total = SyncResult()
    for part in result.databases:
        runs = (part.push, part.pull) if part.push is not None else (part.pull,)
        total = SyncResult(
            total.pushed + (part.push.docs_written if part.push is not None else 0),
            total.pulled + part.pull.docs_written,
            total.conflicts + sum(r.conflicts_seen for r in runs),
            (*total.databases, part.name),
            (*total.failures, *(part.push.doc_write_failures if part.push is not None else ())),
            (*total.held, *held_list(part.pull.doc_write_failures)),
        )
        log.info("synced %s", part.name)
    return total


async def run_sync(store_path: str, server: str, username: str, password: str,
                   device_id: str | None) -> SyncResult:
    server = server.rstrip("/")
    store = LocalStore(store_path)
    try:
        device = device_id_of(store, device_id)
        async with httpx.AsyncClient(timeout=30, verify=tls_context()) as client:
            account = await login(client, server, username, password, device)
            return await sync_databases(store, server, Tokens(client, server, account), account.databases)
    finally:
        store.close()


def add_sync_command(commands: Any) -> None:
    """Register `sync` on the `onetrip-device` subcommands (an argparse `_SubParsersAction`)."""
    sync = commands.add_parser("sync", help="headless push and pull 无界面同步")
    sync.add_argument("--store", required=True, help="local store file (created if missing)")
    sync.add_argument("--server", required=True, help="server URL, e.g. http://127.0.0.1:8000")
    sync.add_argument("--username", required=True)
    sync.add_argument("--password", required=True)
    sync.add_argument("--device-id", default=None, help="device id (default: the one the store remembers)")
    sync.set_defaults(handler=sync_command)


def sync_command(args: argparse.Namespace) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry URLs
    try:
        result = asyncio.run(run_sync(args.store, args.server, args.username, args.password, args.device_id))
    except LoginFailed as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except Unauthorized as exc:
        print(
            f"服务器拒绝同步，请重新登录或联系管理员 / The server refused the sync ({exc.status}); "
            "log in again or ask an administrator",
            file=sys.stderr,
        )
        return 3
    except ReplicationError as exc:
        print(
            f"同步中断，稍后重试即可从断点继续 / Sync interrupted; run it again to resume ({exc})",
            file=sys.stderr,
        )
        return 4
    if result.failures:
        print(
            f"{len(result.failures)} 条记录被服务器拒绝 / {len(result.failures)} documents were refused: "
            + ", ".join(sorted({str(f.get("reason") or f.get("error")) for f in result.failures})[:5]),
            file=sys.stderr,
        )
    if result.held:
        print(
            f"{len(result.held)} 条记录未能存入本机，下次同步重试 / {len(result.held)} documents could "
            "not be stored here and are retried at the next sync: "
            + ", ".join(sorted({str(h.get("reason") or h.get("error")) for h in result.held})[:5]),
            file=sys.stderr,
        )
    print(json.dumps(result.as_json(), ensure_ascii=False))
    return 1 if result.failures or result.held else 0
