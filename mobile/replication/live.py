"""Continuous sync (持续同步) for the app: push and pull on an interval and when the network returns.

`LiveSync` repeats, for each remote database, a push (local → remote) and a pull (remote → local).
A replication of a given (source, target) pair never runs twice at once, whoever starts it: runs
take the pair's lock (`pair_lock`), so a tap on "sync now" during a background round waits for it
instead of racing it. The sync bar reads `state` (or gets it through `on_state`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from mobile.replication.endpoint import Endpoint
from mobile.replication.errors import ReplicationError, Unauthorized
from mobile.replication.local import LocalDB
from mobile.replication.replicator import replicate
from mobile.replication.summary import ReplicationSummary
from mobile.replication.transfer import DocFilter
from mobile.store import LocalStore

log = logging.getLogger(__name__)

# Five minutes between rounds when nothing wakes the loop: a village agent's edits reach the
# township within minutes, and an idle phone does not keep its radio up.
DEFAULT_INTERVAL = 300.0

EXPIRED = "登录已过期，请重新登录 / Sign-in expired: sign in again"

_locks: dict[tuple[int, str, str], asyncio.Lock] = {}


async def pair_lock(source: Endpoint, target: Endpoint) -> asyncio.Lock:
    """The lock of the (source, target) pair in the running event loop."""
    key = (id(asyncio.get_running_loop()), await source.identity(), await target.identity())
    return _locks.setdefault(key, asyncio.Lock())


async def replicate_exclusive(source: Endpoint, target: Endpoint, **options: Any) -> ReplicationSummary:
    """`replicate`, waiting for any other run of the same pair to finish first."""
    async with await pair_lock(source, target):
        return await replicate(source, target, **options)


@dataclass(frozen=True)
class Remote:
    """One remote database and which local documents go to it (`doc_filter`, named by `filter_id`)."""

    db: Endpoint
    doc_filter: DocFilter | None = None
    filter_id: str | None = None


@dataclass(frozen=True)
class SyncState:
    """What the sync bar shows."""

    running: bool = False
    last_sync: str | None = None  # ISO-8601 UTC of the last complete round
    last_error: str | None = None
    pending: int = 0  # local changes not yet pushed
    pushed_seq: Any = None  # the local sequence every remote has been pushed up to (None: unknown)
    docs: int = 0  # documents moved in the current or last round
    bytes: int = 0


class LiveSync:
    """Background push+pull of one local store with its remote databases."""

    def __init__(
        self,
        store: LocalStore,
        remotes: Sequence[Remote],
        *,
        interval: float = DEFAULT_INTERVAL,
        on_state: Callable[[SyncState], None] | None = None,
    ) -> None:
        self.store = store
        self.local = LocalDB(store)
        self.remotes = list(remotes)
        self.interval = interval
        self.on_state = on_state
        self.state = SyncState(pending=store.pending_count(0))
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _set(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)
        if self.on_state is not None:
            self.on_state(self.state)

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._stop.clear()
            self._task = asyncio.create_task(self._loop())

    def notify_network_up(self) -> None:
        """The network came back (or the user asked): run a round now."""
        self._wake.set()

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(ReplicationError):
                await self.sync_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()

    async def sync_once(self) -> list[ReplicationSummary]:
        """One round: push then pull each remote. Errors are recorded in `state` and raised."""
        self._set(running=True, docs=0, bytes=0)
        summaries: list[ReplicationSummary] = []
        pushed_to: list[Any] = []

        def progress(docs: int, moved: int) -> None:
            self._set(
                docs=sum(s.docs_written for s in summaries) + docs,
                bytes=sum(s.bytes_sent + s.bytes_received for s in summaries) + moved,
            )

        try:
            for remote in self.remotes:
                up = await replicate_exclusive(
                    self.local,
                    remote.db,
                    doc_filter=remote.doc_filter,
                    filter_id=remote.filter_id,
                    progress=progress,
                    cancel=self._stop,
                )
                summaries.append(up)
                down = await replicate_exclusive(remote.db, self.local, progress=progress, cancel=self._stop)
                summaries.append(down)
                pushed_to.append(up.last_seq)
            if any(s.docs_written for s in summaries[1::2]):
                # What the pulls wrote got local seqs after the pushes' checkpoints — also after
                # the checkpoints of the *other* villages a township's store pushes to — so it
                # would count as "not yet pushed" until the next round. One more push to every
                # remote walks past it (each sends only its own village's documents, and what
                # came from that remote is not missing there) and sends edits made meanwhile.
                pushed_to = []
                for remote in self.remotes:
                    again = await replicate_exclusive(
                        self.local,
                        remote.db,
                        doc_filter=remote.doc_filter,
                        filter_id=remote.filter_id,
                        progress=progress,
                        cancel=self._stop,
                    )
                    pushed_to.append(again.last_seq)
        except ReplicationError as exc:
            message = (
                EXPIRED
                if isinstance(exc, Unauthorized)
                else f"同步未完成，将自动重试 / Sync incomplete, will retry: {exc}"
            )
            log.info("sync round failed: %s", type(exc).__name__)
            self._set(running=False, last_error=message)
            raise
        since = min(pushed_to, default=0)
        self._set(
            running=False,
            last_error=None,
            pending=self.store.pending_count(since),
            pushed_seq=since,
            last_sync=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            docs=sum(s.docs_written for s in summaries),
            bytes=sum(s.bytes_sent + s.bytes_received for s in summaries),
        )
        return summaries
