"""The workers runner (后台任务调度): every village database followed by exactly one process.

    Workers(couch, config).run(stop)
      ├─ discovery: list `ot-v-…` databases, again on each creation / every few seconds
      └─ per database: take the lease → follow the feed (transitions, checkpoints),
         renew the lease meanwhile, sweep once a day → on outage back off and resume from
         the checkpoint; on stop release the lease

`run_workers(couch, settings, stop)` is what `onetrip up` runs (via `component.Workers…`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from shared.workdays import china_date
from sync_server.couch import Couch, CouchError
from sync_server.county.transition import OutboxEnqueue
from sync_server.provision import SERVER_DB, VILLAGE_PREFIX, ensure_db
from sync_server.settings import Settings
from sync_server.workers.checkpoint import Checkpoint
from sync_server.workers.conflicts import ConflictResolution
from sync_server.workers.deadlines import Deadlines
from sync_server.workers.discovery import Discovery
from sync_server.workers.follower import FeedOptions, Follower
from sync_server.workers.lease import Lease
from sync_server.workers.transition import Transition

log = logging.getLogger(__name__)


def _holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class WorkerConfig:
    server_db: str = SERVER_DB
    prefix: str = VILLAGE_PREFIX
    # A dead holder is replaced within ttl + discovery_poll seconds; the holder writes its
    # lease every ttl/3 seconds, so a shorter ttl costs one write per database that often.
    lease_ttl: float = 30.0
    discovery_poll: float = 5.0
    # Back-off after CouchDB errors grows to this many seconds (with jitter) and stays there.
    max_backoff: float = 10.0
    feed: FeedOptions = field(default_factory=FeedOptions)
    holder: str = field(default_factory=_holder_id)


TransitionFactory = Callable[[Couch, WorkerConfig], Sequence[Transition]]


class Workers:
    """Runs the transitions on every village database this process holds the lease of."""

    def __init__(
        self,
        couch: Couch,
        config: WorkerConfig | None = None,
        *,
        transitions: TransitionFactory | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.couch = couch
        self.config = config or WorkerConfig()
        self.clock = clock
        factory = transitions or default_transitions
        self.transitions: list[Transition] = list(factory(couch, self.config))
        self.holding: set[str] = set()  # databases whose lease we hold now (for status and tests)
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Discover and follow databases until `stop` is set; then release every lease."""
        discovery = Discovery(self.couch, self.config.prefix, poll=self.config.discovery_poll)
        backoff = _Backoff(self.config.max_backoff)
        server_ready = False
        try:
            while not stop.is_set():
                try:
                    if not server_ready:
                        await ensure_db(self.couch, self.config.server_db)  # with _security: admins only
                        server_ready = True
                    for db in await discovery.databases():
                        if db not in self._tasks or self._tasks[db].done():
                            self._tasks[db] = asyncio.create_task(self._follow(db, stop), name=f"follow {db}")
                    backoff.reset()
                    await _until(stop, discovery.wait())
                except CouchError as exc:
                    log.warning("workers: CouchDB error during discovery (%s %s)", exc.status, exc.error)
                    await _sleep(stop, backoff.next())
        finally:
            for task in self._tasks.values():
                task.cancel()
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
            self._tasks.clear()

    async def _follow(self, db: str, stop: asyncio.Event) -> None:
        cfg = self.config
        lease = Lease(self.couch, cfg.server_db, db, cfg.holder, ttl=cfg.lease_ttl, wall=self.clock)
        backoff = _Backoff(cfg.max_backoff)
        try:
            while not stop.is_set():
                try:
                    if not await lease.acquire():
                        await _sleep(stop, min(cfg.discovery_poll, cfg.lease_ttl / 3))
                        continue
                    self.holding.add(db)
                    log.info("following %s", db)
                    await self._hold(db, lease, stop)
                    backoff.reset()
                except CouchError as exc:
                    if exc.status == 404 and not await self.couch.db_exists(db):
                        log.info("%s was deleted: no longer followed", db)
                        return
                    log.warning(
                        "workers on %s: CouchDB error (%s %s: %s), retrying",
                        db,
                        exc.status,
                        exc.error,
                        exc.reason,
                    )
                    await _sleep(stop, backoff.next())
                finally:
                    self.holding.discard(db)
        finally:
            with contextlib.suppress(Exception):
                await lease.release()

    async def _hold(self, db: str, lease: Lease, stop: asyncio.Event) -> None:
        """Follow `db` while the lease is ours, renewing it alongside."""
        follower = Follower(
            self.couch,
            db,
            self.transitions,
            Checkpoint(self.couch, self.config.server_db, db, self.config.holder),
            options=self.config.feed,
            clock=self.clock,
        )
        await follower.start()
        renewer = asyncio.create_task(self._renew(lease, stop))
        swept: date | None = None
        try:
            while not stop.is_set() and lease.held:
                # "Every morning" is a Chinese date (UTC+8), whatever the server's zone.
                today = china_date(datetime.fromtimestamp(self.clock(), UTC))
                if today != swept:
                    await self._sweep(db, today)
                    swept = today
                await follower.step(lambda: lease.held)
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _sweep(self, db: str, today: date) -> None:
        for transition in self.transitions:
            sweep = getattr(transition, "sweep", None)
            if sweep is None:
                continue
            try:
                await sweep(db, today)
            except CouchError as exc:
                if exc.status >= 500:
                    raise
                log.warning("daily %s on %s failed: %s", transition.name, db, exc.error)
            except Exception:
                log.exception("daily %s on %s failed", transition.name, db)

    async def _renew(self, lease: Lease, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await _sleep(stop, lease.ttl / 3)
            try:
                if not await lease.renew():
                    log.warning("lease on %s was taken over", lease.db)
                    return
            except CouchError as exc:
                log.warning("could not renew lease on %s (%s)", lease.db, exc.error)


def default_transitions(couch: Couch, config: WorkerConfig) -> list[Transition]:
    """The ordered transition list (cht-core style): conflicts, deadlines, then the county outbox."""
    return [
        ConflictResolution(couch),
        Deadlines(couch, config.server_db),
        OutboxEnqueue(couch, config.server_db),
    ]


async def run_workers(
    couch: Couch, settings: Settings, stop: asyncio.Event, config: WorkerConfig | None = None
) -> None:
    """What `onetrip up` runs: the workers on every village database until `stop` is set.

    Besides `default_transitions`, the citizen side's transitions run here: the tracking
    index (so `/t/{code}` finds new cases at once) and the server-side check of QR tokens
    in delivery events recorded on devices, which needs the signing keys (current and
    retired) from the data folder.
    """
    from sync_server.auth.keyring import KeyRing
    from sync_server.citizen.transitions import DeliveryCheck, TrackingIndex

    keys = KeyRing(settings.secrets_dir)

    def transitions(couch: Couch, config: WorkerConfig) -> list[Transition]:
        return [*default_transitions(couch, config),
                TrackingIndex(couch, config.server_db),
                DeliveryCheck(couch, keys, config.server_db)]

    await Workers(couch, config, transitions=transitions).run(stop)


class _Backoff:
    def __init__(self, cap: float) -> None:
        self.cap, self.attempt = cap, 0

    def next(self) -> float:
        self.attempt += 1
        delay: float = min(self.cap, 0.25 * 2.0 ** min(self.attempt, 10))
        return delay * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.attempt = 0


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _until(stop: asyncio.Event, work: Coroutine[Any, Any, None]) -> None:
    """Await `work` unless `stop` is set first."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, stopper):
            if not pending.done():
                pending.cancel()
    if task.done() and not task.cancelled():
        task.result()
