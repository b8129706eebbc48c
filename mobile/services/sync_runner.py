"""One sync round (同步一次) of the app, on the replication side's `LiveSync`.

Push then pull every database the user may sync through the server's gateway (`/sync/{db}`),
with the same village filter as `onetrip-device sync` (mobile.headless_sync), so the app and
the headless sync put each document in the same village database. On 401 the access token
is refreshed once. Afterwards the catalog is pulled into its own store and the server's
delivery public key is fetched. The result is a `SyncSnapshot` for the sync bar.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import httpx

from mobile.headless_sync import VILLAGE_PREFIX, village_filter
from mobile.replication import (
    Backoff,
    LocalDB,
    RemoteDB,
    ReplicationError,
    Unauthorized,
    Unreachable,
    replicate,
)
from mobile.replication.live import LiveSync, Remote, SyncState
from mobile.store import LocalStore
from mobile.viewmodels.sync import DatabaseProgress, SyncSnapshot

log = logging.getLogger(__name__)

Refresh = Callable[[], Awaitable[str]]
OFFLINE = "无网络，下次自动同步 No network: will sync when it returns"


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
        on_state: Callable[[SyncState], None] | None = None,
    ) -> None:
        self.store = store
        self.server_url = server_url.rstrip("/")
        # Village databases are pushed and pulled; ot-catalog (read-only) only pulled, into
        # its own store (see _pull_catalog).
        self.databases = tuple(db for db in databases if db.startswith(VILLAGE_PREFIX))
        self.token = token
        self.refresh = refresh
        self.transport = transport
        self.catalog_store = catalog_store
        self.backoff = backoff or Backoff()
        self.on_state = on_state

    async def run(self, pending: int) -> SyncResult:
        try:
            live, summaries = await self._round()
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
        pushes = summaries[0::2]  # LiveSync returns push, pull for each database in turn
        progress = tuple(
            DatabaseProgress(
                name=db,
                docs_pushed=up.docs_written,
                docs_pulled=down.docs_written,
                bytes=up.bytes_sent + up.bytes_received + down.bytes_sent + down.bytes_received,
                error=_refused(up.doc_write_failures),
            )
            for db, up, down in zip(self.databases, pushes, summaries[1::2], strict=True)
        )
        refused = [p.error for p in progress if p.error]
        key = await self._public_key()
        await self._pull_catalog()
        snapshot = SyncSnapshot(
            last_sync=datetime.now(UTC),
            pending=live.state.pending,
            databases=progress,
            error=refused[0] if refused else "",
        )
        pushed_seq = min((int(s.last_seq) for s in pushes), default=-1) if not refused else -1
        return SyncResult(snapshot, pushed_seq, key)

    async def _round(self) -> tuple[LiveSync, list[Any]]:
        for attempt in (1, 2):
            live = LiveSync(self.store, self._remotes(), on_state=self.on_state)
            try:
                return live, await live.sync_once()
            except Unauthorized:
                if attempt == 2:
                    raise
                await self.refresh()
        raise AssertionError("unreachable")

    def _remotes(self) -> list[Remote]:
        remotes = []
        for db in self.databases:
            remote = RemoteDB(
                f"{self.server_url}/sync/{db}",
                token=self.token(),
                transport=self.transport,
                backoff=self.backoff,
            )
            remotes.append(
                Remote(remote, doc_filter=village_filter(self.store, db), filter_id=f"village:{db}")
            )
        return remotes

    async def _pull_catalog(self) -> None:
        # The catalog lives in its own local store: its documents must never be pushed back
        # into a village database.
        if self.catalog_store is None:
            return
        remote = RemoteDB(
            f"{self.server_url}/sync/ot-catalog",
            token=self.token(),
            transport=self.transport,
            backoff=self.backoff,
        )
        try:
            await replicate(remote, LocalDB(cast(Any, self.catalog_store)))
        except ReplicationError:
            log.info("catalog not pulled this round")

    async def _public_key(self) -> str:
        try:
            async with httpx.AsyncClient(timeout=15, transport=self.transport) as client:
                response = await client.get(f"{self.server_url}/api/public-key")
        except httpx.HTTPError:
            return ""
        if response.status_code != 200:
            return ""
        try:
            data = response.json()
        except ValueError:
            return response.text.strip()
        if isinstance(data, dict):
            return str(data.get("public_key") or data.get("key") or data.get("pem") or "")
        return str(data) if isinstance(data, str) else ""


def _refused(failures: Sequence[Mapping[str, Any]]) -> str:
    """The gateway's own bilingual reason for the first refused document, and how many."""
    if not failures:
        return ""
    first = failures[0]
    return f"{len(failures)} 条被服务器拒绝 refused: {first.get('id', '')} {first.get('reason', '')}".strip()
