"""Sync plan (同步计划): which village database each local document goes to, and one sync round.

One local store holds every village of the user. A document belongs to `ot-v-<village>` by
`division.village` (cases, materials), or — for events and reviews, which carry no division — by
the case they belong to. A deletion's tombstone carries no body, so `Routes` remembers the
village of every document it has seen alive (in `_local/onetrip-sync-routes`, caught up from the
changes feed before and after each round); a document the plan cannot place is pushed nowhere.

`sync_round` is the one push/pull round of both the app (`mobile.services.sync_runner`) and
`onetrip-device sync` (`mobile.headless_sync`): each village database (`ot-v-<code>`, named by
`shared.divisions`) is pushed then pulled with `replicate_exclusive` (one run per pair at a
time), and pushed once more when the pulls wrote anything; other databases (the catalog) are
pulled only, an access token refused with 401 is refreshed once, and every connection is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from mobile.replication import Backoff, LocalDB, RemoteDB, Unauthorized
from mobile.replication.endpoint import JSON
from mobile.replication.exclusive import replicate_exclusive
from mobile.replication.summary import ReplicationSummary
from mobile.replication.transfer import DocFilter
from mobile.store import Conflict, LocalStore, NotFound
from shared.divisions import village_of_db
from shared.errors import DivisionError

ROUTES_DOC = "_local/onetrip-sync-routes"
_PAGE = 500
# Named in the replication id: checkpoints of the earlier filter (which dropped bare tombstones)
# are not reused, so deletions it skipped are looked at once more.
FILTER_ID = "route:{db}"
VILLAGES_AT_ONCE = 16  # village databases a round syncs at once (ADRs 0148, 0158)
# Attachment transfers in flight for the whole round, whatever the number of villages: twice one
# database's own, enough to keep a village link full; bounds the connections and the scans held in
# memory of a round of many villages (ADR 0158).
ROUND_ATTACHMENT_SLOTS = 8
T = TypeVar("T")


def is_village_db(db: str) -> bool:
    """Is `db` a village database (`ot-v-<12-digit village code>`), pushed and pulled?"""
    try:
        village_of_db(db)
    except DivisionError:
        return False
    return True


def case_of(doc_id: str) -> str | None:
    """`event:<case ULID>:<ULID>` and `review:<case ULID>` belong to `case:<case ULID>`."""
    kind, _, rest = doc_id.partition(":")
    if kind in ("event", "review") and rest:
        return f"case:{rest.split(':', 1)[0]}"
    return None


def _division_village(doc: JSON) -> str | None:
    division = doc.get("division")
    if isinstance(division, dict) and division.get("village"):
        return str(division["village"])
    return None


class Routes:
    """The village of each document of a store, remembered past its deletion."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        try:
            saved = store.get(ROUTES_DOC)
        except NotFound:
            saved = {}
        self._rev = saved.get("_rev")
        self.seq: int | str = saved.get("seq", 0)
        self.villages: dict[str, str] = dict(saved.get("villages", {}))
        self._dirty = False

    def catch_up(self) -> None:
        """Read the changes since the last look and remember the village of each live document."""
        while True:
            page = self.store.changes(since=self.seq, limit=_PAGE, include_docs=True)
            for row in page["results"]:
                doc = row.get("doc")
                if not row.get("deleted") and isinstance(doc, dict):
                    self.remember(doc)
            if not page["results"]:
                break
            self.seq, self._dirty = page["last_seq"], True

    def remember(self, doc: JSON) -> None:
        # Only documents that name their village: events and reviews follow their case's entry.
        village = _division_village(doc)
        doc_id = str(doc.get("_id", ""))
        if village and doc_id and self.villages.get(doc_id) != village:
            self.villages[doc_id] = village
            self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        doc: JSON = {"_id": ROUTES_DOC, "seq": self.seq, "villages": self.villages}
        if self._rev:
            doc["_rev"] = self._rev
        try:
            self._rev = self.store.put(doc)["rev"]
        except Conflict:  # another round on this store (e.g. a headless sync) saved first: merge
            theirs = self.store.get(ROUTES_DOC)
            self.villages = {**theirs.get("villages", {}), **self.villages}
            self._rev, self.seq = theirs["_rev"], min(self.seq, theirs.get("seq", 0), key=int)
            self.save()
            return
        self._dirty = False

    def village_of(self, doc: JSON) -> str | None:
        """The village `doc` (a live document or a bare tombstone) belongs to; None if unknown."""
        village = _division_village(doc)
        if village:
            return village
        doc_id = str(doc.get("_id", ""))
        if doc_id in self.villages:
            return self.villages[doc_id]
        case_id = doc.get("case_id") or case_of(doc_id)
        return self._case_village(str(case_id)) if case_id else None

    def _case_village(self, case_id: str) -> str | None:
        if case_id not in self.villages:
            try:
                self.remember(self.store.get(case_id))
            except NotFound:
                return None
        return self.villages.get(case_id)

    def filter_for(self, db: str) -> DocFilter:
        """Does a document of the store belong to village database `db`?"""
        village = village_of_db(db)

        def belongs(doc: JSON) -> bool:
            if not doc.get("_deleted"):
                self.remember(doc)
            return self.village_of(doc) == village

        return belongs


def village_filter(store: LocalStore, db: str) -> DocFilter:
    """Does a document of the store belong to village database `db`? (routes caught up now)"""
    routes = Routes(store)
    routes.catch_up()
    return routes.filter_for(db)


@dataclass(frozen=True)
class DatabaseRound:
    """What one database moved in a round; `push` is None for pull-only databases."""

    name: str
    push: ReplicationSummary | None
    pull: ReplicationSummary


@dataclass(frozen=True)
class RoundResult:
    """One round: per database in the order given; the local sequence every village database was
    pushed up to (after the round's last pushes) and the local changes still after it."""

    databases: tuple[DatabaseRound, ...]
    pushed_seq: int | str = 0
    pending: int = 0


Refresh = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class Gateway:
    """How to reach the server's `/sync/{db}` gateway: URL, current token, refresh on 401."""

    server_url: str
    token: Callable[[], str]
    refresh: Refresh
    transport: httpx.AsyncBaseTransport | None = None
    backoff: Backoff = field(default_factory=Backoff)

    def connect(self, db: str, slots: asyncio.Semaphore | None = None) -> RemoteDB:
        """`slots`: attachment transfers shared with the other databases of a round (ADR 0158)."""
        return RemoteDB(f"{self.server_url.rstrip('/')}/sync/{db}", token=self.token(),
                        transport=self.transport, backoff=self.backoff, slots=slots)


async def sync_round(
    store: LocalStore,
    gateway: Gateway,
    databases: Sequence[str],
    *,
    pull_store: LocalStore | None = None,
) -> RoundResult:
    """Push and pull the village databases, then pull the others into `pull_store` (skipped if None).

    Raises `ReplicationError` (after one token refresh for a 401) as `replicate` does.
    """
    villages = [db for db in databases if is_village_db(db)]
    # SQLite reads and writes in a worker thread, as LocalDB does: the app's event loop stays free.
    routes = await asyncio.to_thread(Routes, store)
    await asyncio.to_thread(routes.catch_up)
    try:
        runs, pushed_seq = await _refreshing(gateway, lambda: _push_pull(store, gateway, villages, routes))
    finally:
        await asyncio.to_thread(routes.catch_up)  # what the pull brought: its later deletions are routed too
        await asyncio.to_thread(routes.save)
    rounds = {db: DatabaseRound(db, up, down) for db, (up, down) in zip(villages, runs, strict=True)}
    pending = await asyncio.to_thread(store.pending_count, pushed_seq)
    if pull_store is not None:
        others = [db for db in databases if db not in rounds]
        rounds.update({r.name: r for r in await pull_databases(pull_store, gateway, others)})
    return RoundResult(tuple(rounds[db] for db in databases if db in rounds), pushed_seq, pending)


async def pull_databases(
    target: LocalStore, gateway: Gateway, databases: Sequence[str]
) -> list[DatabaseRound]:
    """Pull-only databases (the catalog: read-only for devices) into `target`, in turn."""
    return [
        DatabaseRound(db, None, await _refreshing(gateway, functools.partial(_pull, target, gateway, db)))
        for db in databases
    ]


async def _refreshing(gateway: Gateway, attempt: Callable[[], Awaitable[T]]) -> T:
    try:
        return await attempt()
    except Unauthorized as exc:
        if exc.status != 401:
            raise
    await gateway.refresh()
    return await attempt()


Runs = list[tuple[ReplicationSummary, ReplicationSummary]]


async def _push_pull(store: LocalStore, gateway: Gateway, villages: list[str],
                     routes: Routes) -> tuple[Runs, int | str]:
    """(push, pull) of each village, a few villages at once, and the local sequence all of them
    were pushed up to.

    Villages overlap (`VILLAGES_AT_ONCE`) because on a village link a run is mostly waiting for
    round trips (logs, `_changes`, `_revs_diff`, `_bulk_get`): a township staff device's store
    holds every village of the township, and taking them one after the other cost 2.2× the link's
    bound on a cold first sync (ADR 0148). Each village's push still precedes its pull.
    """
    local = LocalDB(store)
    slots = asyncio.Semaphore(ROUND_ATTACHMENT_SLOTS)
    async with contextlib.AsyncExitStack() as connections:
        remotes = []
        for db in villages:
            remote = gateway.connect(db, slots)
            connections.push_async_callback(remote.aclose)
            remotes.append((remote, routes.filter_for(db), FILTER_ID.format(db=db)))

        async def push(remote: RemoteDB, route: DocFilter, filter_id: str) -> ReplicationSummary:
            return await replicate_exclusive(local, remote, doc_filter=route, filter_id=filter_id)

        at_once = asyncio.Semaphore(VILLAGES_AT_ONCE)

        async def push_pull(remote: RemoteDB, route: DocFilter,
                            filter_id: str) -> tuple[ReplicationSummary, ReplicationSummary]:
            async with at_once:
                return await push(remote, route, filter_id), await replicate_exclusive(remote, local)

        async def push_again(remote: RemoteDB, route: DocFilter, filter_id: str) -> ReplicationSummary:
            async with at_once:
                return await push(remote, route, filter_id)

        runs: Runs = await _together([push_pull(*remote) for remote in remotes])
        pushed_to = [up.last_seq for up, _ in runs]
        if any(down.docs_written for _, down in runs):
            # What the pulls wrote got local seqs after the pushes' checkpoints — also after the
            # checkpoints of the *other* villages a township's store pushes to — so it would count
            # as "not yet pushed" until the next round. One more push to every village walks past
            # it (each sends only its own village's documents, and what came from that village is
            # not missing there) and sends edits made meanwhile.
            pushed_to = [up.last_seq for up in await _together([push_again(*remote) for remote in remotes])]
    return runs, min(pushed_to, default=0)


async def _together(calls: list[Awaitable[T]]) -> list[T]:
    """The results of `calls`, run at once, in their order. On the first failure the others are
    cancelled and waited for, and that failure is raised as it is (a 401 is then refreshed once
    by `_refreshing`, and no run is left going behind it)."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _pull(target: LocalStore, gateway: Gateway, db: str) -> ReplicationSummary:
    async with gateway.connect(db) as remote:
        return await replicate_exclusive(remote, LocalDB(target))
