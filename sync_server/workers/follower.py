"""Following one village database's changes feed (变更订阅).

    load checkpoint → longpoll `_changes` (include_docs, conflicts, style=all_docs, since)
    → run each transition, in order, over the batch's changes (`apply_batch` when it has
      one, else `apply` per change, several documents at once) → save `last_seq` → again

The batch is capped (`limit`), so a database with a long backlog is worked through in
steps and each step's checkpoint is saved. An unreachable CouchDB aborts the batch before
its checkpoint is saved: after the outage the batch is read again, and the transitions,
idempotent, make the same decisions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from shared.timestamps import iso_utc_at
from sync_server.couch import Couch, CouchError, CouchUnavailable
from sync_server.workers.checkpoint import Checkpoint
from sync_server.workers.transition import Change, Transition

log = logging.getLogger(__name__)

# How many (transition, doc) → rev entries a follower remembers; older ones fall back on the
# transitions' own idempotence. 10,000 covers every case of a busy village several times.
_REMEMBERED = 10_000


# pouchdb-server 4.2 keeps a longpoll open until a change arrives, whatever `timeout` says
# (Apache CouchDB honours it). The follower gives up on its own this long after `timeout`,
# so the lease check and the daily sweep still run on a quiet database.
_LONGPOLL_GRACE = 1.0


@dataclass(frozen=True)
class FeedOptions:
    # CouchDB holds a longpoll open this long when nothing changes; shorter than the client timeout.
    longpoll_ms: int = 10_000
    # Changes per batch: bounds memory and how much is re-read after a crash.
    limit: int = 100
    # Changes of one batch processed at once. A batch names each document once, so changes
    # of different documents never race; the transitions of one change still run in order.
    concurrency: int = 8


class Follower:
    """Reads one database's feed and applies the transitions, remembering what it applied."""

    def __init__(
        self,
        couch: Couch,
        db: str,
        transitions: Sequence[Transition],
        checkpoint: Checkpoint,
        *,
        options: FeedOptions | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.couch, self.db, self.transitions, self.checkpoint = couch, db, list(transitions), checkpoint
        self.options, self.clock = options or FeedOptions(), clock
        self.since: object = None
        self._applied: OrderedDict[tuple[str, str], str] = OrderedDict()

    async def start(self) -> None:
        self.since = await self.checkpoint.load()

    async def step(self, still_ours: Callable[[], bool] = lambda: True) -> int:
        """One longpoll and its batch; returns the number of changes processed.

        `still_ours` is asked once the feed answers: a follower that lost its lease while
        waiting leaves the batch to the new holder."""
        feed = self.couch.changes(
            self.db,
            feed="longpoll",
            since=self.since,
            include_docs=True,
            conflicts=True,
            style="all_docs",
            limit=self.options.limit,
            timeout=self.options.longpoll_ms,
        )
        try:
            answer = await asyncio.wait_for(feed, timeout=self.options.longpoll_ms / 1000 + _LONGPOLL_GRACE)
        except TimeoutError:
            return 0  # pouchdb-server ignores `timeout` on longpoll: nothing changed meanwhile
        if not still_ours():
            return 0
        results = answer.get("results") or []
        await self._process_all([Change.from_row(self.db, row) for row in results])
        last_seq = answer.get("last_seq", self.since)
        if results or last_seq != self.since:
            await self.checkpoint.save(last_seq, iso_utc_at(self.clock()))
            self.since = last_seq
        return len(results)

    async def _process_all(self, changes: list[Change]) -> None:
        """Each transition in order over the batch: at once (`apply_batch`) when it can, else per change."""
        for transition in self.transitions:
            batch = getattr(transition, "apply_batch", None)
            if batch is None:
                await self._each(transition, changes)
                continue
            accepted = [
                c
                for c in changes
                if self._applied.get((transition.name, c.id)) != c.rev and self._accepts(transition, c)
            ]
            if accepted and await self._run(transition, accepted[0], batch(accepted)):
                for change in accepted:
                    self._remember(transition.name, change)

    async def _each(self, transition: Transition, changes: list[Change]) -> None:
        """One transition over the changes, at most `concurrency` at once; an outage cancels the rest."""
        gate = asyncio.Semaphore(max(1, self.options.concurrency))

        async def one(change: Change) -> None:
            if self._applied.get((transition.name, change.id)) == change.rev or not self._accepts(
                transition, change
            ):
                return
            async with gate:
                if await self._run(transition, change, transition.apply(change)):
                    self._remember(transition.name, change)

        try:
            async with asyncio.TaskGroup() as group:
                for change in changes:
                    group.create_task(one(change))
        except BaseExceptionGroup as group_error:
            raise group_error.exceptions[0] from None

    def _accepts(self, transition: Transition, change: Change) -> bool:
        try:
            return transition.filter(change)
        except Exception:
            log.exception("filter of %s failed on %s %s", transition.name, self.db, change.id)
            return False

    async def _run(self, transition: Transition, change: Change, work: Awaitable[None]) -> bool:
        """Await one application; True on success. Outages propagate, other errors are logged."""
        try:
            await work
        except CouchError as exc:
            if isinstance(exc, CouchUnavailable) or exc.status >= 500:
                raise  # an outage, not this change's fault: the batch is read again later
            log.warning(
                "transition %s failed on %s %s rev %s: %s",
                transition.name,
                self.db,
                change.id,
                change.rev,
                exc.error,
            )
            return False
        except Exception:
            log.exception(
                "transition %s failed on %s %s rev %s", transition.name, self.db, change.id, change.rev
            )
            return False
        return True

    def _remember(self, name: str, change: Change) -> None:
        key = (name, change.id)
        self._applied[key] = change.rev
        self._applied.move_to_end(key)
        while len(self._applied) > _REMEMBERED:
            self._applied.popitem(last=False)

    async def process(self, change: Change) -> None:
        """Run every transition whose filter accepts `change`; one failing does not stop the others."""
        await self._process_all([change])
