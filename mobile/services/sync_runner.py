"""One sync round (同步一次) of the app: `mobile.sync_plan.sync_round`, the round `onetrip-device sync` runs.

First one quick question to the server (its delivery public key), so that a server out of reach
is "offline" within PROBE_TIMEOUT. Then push and pull every village database the user may sync
through the server's gateway (`/sync/{db}`), each document to the village the sync plan routes
it to (deletions included); on 401 the access token is refreshed once. Afterwards the catalog is
pulled into its own store. The result is a `SyncSnapshot` (with a `DatabaseProgress` per village
database) for the sync bar, which `mobile.viewmodels.sync` shows.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from mobile.replication import Backoff, ReplicationError, Unauthorized, Unreachable
from mobile.replication.checkpoint import held_list
from mobile.store import LocalStore
from mobile.sync_plan import Gateway, is_village_db, pull_databases, sync_round
from mobile.tls import tls_context

log = logging.getLogger(__name__)

Refresh = Callable[[], Awaitable[str]]
OFFLINE = "无网络，下次自动同步 No network: will sync when it returns"
CATALOG_DB = "ot-catalog"
# Seconds the first question of a round may take: a village link answers in well under one,
# a server that is down refuses at once or never answers.
PROBE_TIMEOUT = 10.0


@dataclass(frozen=True)
class DatabaseProgress:
    """Per-database progress of the current or last sync."""

    name: str
    docs_pushed: int = 0
    docs_pulled: int = 0
    bytes: int = 0
    error: str = ""
    # Documents the server holds that this phone could not store (kept, retried next sync).
    held: int = 0
    held_reason: str = ""

    def held_message(self) -> str:
        """The held documents in words an agent understands, or ""."""
        if not self.held:
            return ""
        reason = f"（{self.held_reason}）" if self.held_reason else ""
        return (f"{self.held} 条记录未能存入本机{reason}，下次同步会自动重试；如一直如此，请联系乡镇。"
                f" {self.held} records from the server could not be stored on this phone; the next sync"
                " tries them again. If this keeps happening, tell the township office.")


@dataclass(frozen=True)
class SyncSnapshot:
    """The state of the sync as the screens need it."""

    running: bool = False
    online: bool = True
    pending: int = 0
    last_sync: datetime | None = None
    error: str = ""
    progress: float | None = None
    databases: tuple[DatabaseProgress, ...] = field(default=())


@dataclass(frozen=True)
class SyncResult:
    """The snapshot to show, the local sequence now pushed everywhere (-1: unknown), the key."""

    snapshot: SyncSnapshot
    pushed_seq: int
    public_key: str


class SyncRunner:
    """Push and pull for one signed-in user; `token()` gives the current access token."""

    def __init__(
        self,
        store: LocalStore,
        server_url: str,
        databases: tuple[str, ...],
        token: Callable[[], str],
        refresh: Refresh,
        transport: httpx.AsyncBaseTransport | None = None,
        catalog_store: LocalStore | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.store = store
        self.server_url = server_url.rstrip("/")
        # Village databases are pushed and pulled; ot-catalog (read-only) only pulled, into
        # its own store (see _pull_catalog).
        self.databases = tuple(db for db in databases if is_village_db(db))
        self.gateway = Gateway(self.server_url, token, refresh, transport, backoff or Backoff())
        self.transport = transport
        self.catalog_store = catalog_store

    async def run(self, pending: int) -> SyncResult:
        # One quick question first (it also fetches the delivery key): with the server out of
        # reach the bar says "offline" within PROBE_TIMEOUT, not after every request of the
        # round has used up its retries (a minute and more, shown as "syncing").
        reachable, key = await self._probe()
        if not reachable:
            return SyncResult(SyncSnapshot(online=False, pending=pending), -1, "")
        try:
            result = await sync_round(self.store, self.gateway, self.databases)
        except Unreachable:
            return SyncResult(SyncSnapshot(online=False, pending=pending), -1, "")
        except ReplicationError as error:
            message = (
                str(error)
                if isinstance(error, Unauthorized)
                else "服务器出错，稍后自动重试 Server error: will retry"
            )
            log.info("sync round failed: %s", type(error).__name__)
            return SyncResult(SyncSnapshot(error=message, pending=pending), -1, "")
        pushes = [part.push for part in result.databases if part.push is not None]
        progress = tuple(
            DatabaseProgress(
                name=part.name,
                docs_pushed=up.docs_written,
                docs_pulled=part.pull.docs_written,
                bytes=up.bytes_sent + up.bytes_received + part.pull.bytes_sent + part.pull.bytes_received,
                error=_refused(up.doc_write_failures),
                held=len(held_list(part.pull.doc_write_failures)),
                held_reason=_first_reason(part.pull.doc_write_failures),
            )
            for part, up in zip(result.databases, pushes, strict=True)
        )
        refused = [p.error for p in progress if p.error] + [p.held_message() for p in progress if p.held]
        await self._pull_catalog()
        snapshot = SyncSnapshot(
            last_sync=datetime.now(UTC),
            pending=result.pending,
            databases=progress,
            error=refused[0] if refused else "",
        )
        # Up to where every village was pushed, after the round's last pushes (they walk past
        # what the pulls wrote): what "waiting to sync" counts from.
        push_refused = any(p.error for p in progress)
        pushed_seq = -1 if push_refused else int(result.pushed_seq)
        return SyncResult(snapshot, pushed_seq, key)

    async def _pull_catalog(self) -> None:
        # The catalog lives in its own local store: its documents must never be pushed back
        # into a village database.
        if self.catalog_store is None:
            return
        try:
            await pull_databases(self.catalog_store, self.gateway, (CATALOG_DB,))
        except ReplicationError:
            log.info("catalog not pulled this round")

    async def _probe(self) -> tuple[bool, str]:
        """(the server answered at all, its delivery public key or "")."""
        try:
            async with httpx.AsyncClient(
                timeout=PROBE_TIMEOUT, transport=self.transport, verify=tls_context()
            ) as client:
                response = await client.get(f"{self.server_url}/api/public-key")
        except httpx.TransportError:
            return False, ""
        except httpx.HTTPError:
            return True, ""
        return True, _key_of(response)


def _key_of(response: httpx.Response) -> str:
    if response.status_code != 200:
        return ""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()
    if isinstance(data, dict):
        return str(data.get("public_key") or data.get("key") or data.get("pem") or "")
    return str(data) if isinstance(data, str) else ""


def _first_reason(failures: Sequence[Mapping[str, Any]]) -> str:
    return str(failures[0].get("reason") or failures[0].get("error") or "")[:80] if failures else ""


def _refused(failures: Sequence[Mapping[str, Any]]) -> str:
    """The gateway's own bilingual reason for the first refused document, and how many."""
    if not failures:
        return ""
    first = failures[0]
    return f"{len(failures)} 条被服务器拒绝 refused: {first.get('id', '')} {first.get('reason', '')}".strip()
