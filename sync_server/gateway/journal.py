"""Audit journal (审计日志): audit records made durable on the server's disk, shipped in batches.

Every accepted write gets an `audit:<ULID>` record (`audit.py`). The record is first committed
to a journal in the data folder — one SQLite file per server process — and a shipper sends
what has gathered to ot-server in one `_bulk_docs` every `SHIP_DELAY` seconds. One request to
CouchDB per record would cost CouchDB a request each (ADR 0049).

Durability (ADR 0103): a commit is in the operating system's hands when it returns (WAL,
`synchronous=NORMAL`), so it survives the process dying at any moment; the disk itself is
synced in the background at most `SYNC_EVERY` seconds after a commit (a WAL checkpoint), so a
power cut or kernel crash loses at most that much. Waiting for `fsync` on every request cost
3–5 ms per write on a disk shared with CouchDB.

A record's life:

    planned (final = 0)  the revisions are known and about to be forwarded; CouchDB has not
                         answered yet. Never shipped as it is.
    final   (final = 1)  amended to the writes CouchDB accepted; shipped, then deleted.
    refused (final = 2)  ot-server refused it (not a conflict): kept in the journal, logged.

A planned record whose request ended without an answer (CouchDB unreachable, the process
stopped or died) is reconciled: CouchDB's `_revs_diff` tells which of its revisions the
database holds; the record keeps those (marked `"recovered": true`) or goes when none.
Ship is idempotent: the ids are ULIDs, so a `conflict` from ot-server means "already there".

A journal left behind by a process that died is adopted by the next process that starts (or
looks, every `ADOPT_EVERY` seconds) on the same data folder: each live journal is held with
an exclusive `flock` on its `.lock` file, so a free lock means its owner is gone.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from ulid import ULID

from shared.jsontypes import JSON
from sync_server.couch import Couch, CouchError
from sync_server.provision import SERVER_DB

log = logging.getLogger(__name__)

T = TypeVar("T")

PLANNED, FINAL, REFUSED = 0, 1, 2
SHIP_DELAY = 1.0  # seconds the first unshipped record waits for others to share its shipment
SHIP_BATCH = 500  # records per `_bulk_docs` to ot-server
# A planned record this old in a running process belongs to a request that ended without
# settling it (every CouchDB request times out far sooner: couch.DEFAULT_TIMEOUT).
RECONCILE_AFTER = 600.0
SYNC_EVERY = 0.2  # seconds from a commit to the disk sync that makes it survive a power cut
ADOPT_EVERY = 60.0  # seconds between looks for journals of processes that died
MAX_BACKOFF = 60.0  # seconds between shipments while CouchDB is unreachable

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id    TEXT PRIMARY KEY,      -- the audit document's _id
    body  TEXT NOT NULL,         -- the audit document (JSON)
    final INTEGER NOT NULL,      -- 0 planned, 1 final, 2 refused by ot-server
    at    REAL NOT NULL          -- wall-clock seconds when journaled (0: adopted, reconcile now)
)
"""


class JournalError(Exception):
    """The journal could not be written (disk full, I/O error): nothing was recorded."""


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # the WAL reaches the disk at checkpoints (`_sync_loop`)
    db.execute(SCHEMA)
    return db


Op = tuple[str, Sequence[Any]]


class AuditJournal:
    """This process's journal: `append`/`settle` records, a task ships them to ot-server."""

    def __init__(self, folder: Path, couch: Callable[[], Couch], *, clock: Callable[[], float] = time.time,
                 ship_delay: float = SHIP_DELAY) -> None:
        self.folder = folder
        self.couch = couch
        self.clock = clock
        self.ship_delay = ship_delay
        self.path = folder / f"audit-{ULID()}.sqlite3"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-journal")
        self._db: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._pending: list[tuple[list[Op], asyncio.Future[None]]] = []
        self._committing: asyncio.Task[None] | None = None
        self._unshipped = asyncio.Event()
        self._shipper: asyncio.Task[None] | None = None
        self._unsynced = asyncio.Event()
        self._syncer: asyncio.Task[None] | None = None
        self.syncs = 0  # disk syncs done (for tests)

    # --- life ----------------------------------------------------------------------------------

    async def open(self) -> None:
        """Create this process's journal and start shipping (adopting orphans first)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock_fd = _lock(self.path.with_suffix(".lock"))
        if self._lock_fd is None:  # a fresh ULID: cannot be held by anyone else
            raise JournalError(f"journal {self.path.name} is locked by another process")
        self._db = await self._run(_connect, self.path)
        await self.adopt()  # local files only: even a process stopped at once ships them on close
        self._shipper = asyncio.create_task(self._ship_loop(), name="audit-shipper")
        self._syncer = asyncio.create_task(self._sync_loop(), name="audit-syncer")

    async def close(self) -> None:
        """Stop shipping; reconcile and ship what is left; keep the file only if that failed."""
        for task in (self._shipper, self._syncer):
            if task is not None:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
        self._shipper = self._syncer = None
        if self._db is None:
            return
        while self._committing is not None and not self._committing.done():
            await self._committing  # settles not yet on disk go first
        left = 0
        try:
            await self.reconcile(older_than=None)
            while await self.ship() == SHIP_BATCH:
                pass
            left = await self._run(_count, self._db)
        except (CouchError, sqlite3.Error) as exc:
            left = -1
            log.warning("audit journal %s kept for the next start: %s", self.path.name, exc)
        await self._run(lambda db: db.close(), self._db)
        self._db = None
        self._executor.shutdown(wait=True)
        if left == 0:
            _remove(self.path)
        else:
            log.warning("audit journal %s keeps %s records for the next start", self.path.name,
                        "some" if left < 0 else left)
        _unlock(self.path.with_suffix(".lock"), self._lock_fd, remove=left == 0)
        self._lock_fd = None

    # --- writing -------------------------------------------------------------------------------

    async def append(self, record: JSON, *, final: bool) -> None:
        """Commit `record` to disk (planned or final). `JournalError` when it could not be."""
        await self._commit([("INSERT INTO records (id, body, final, at) VALUES (?, ?, ?, ?)",
                             (record["_id"], _dumps(record), FINAL if final else PLANNED, self.clock()))])
        if final:
            self._unshipped.set()

    async def settle(self, record: JSON, writes: list[JSON] | None) -> None:
        """A planned record is final: with `writes` (None: as planned), or gone when `[]`."""
        await self._enqueue(_settling(record, writes))
        if writes != []:
            self._unshipped.set()

    def settle_soon(self, record: JSON, writes: list[JSON] | None) -> None:
        """`settle`, committed with the next group without the caller waiting for the disk.

        The request's answer need not wait: until this commit is on disk the record is
        planned, and a planned record left by a crash is reconciled from what CouchDB holds
        (the same as a crash between the forward and the settle). `close` commits it first.
        """
        def done(future: asyncio.Future[None]) -> None:
            if future.cancelled() or future.exception() is not None:
                log.error("audit record %s stays planned (reconciled later): %s", record["_id"],
                          "cancelled" if future.cancelled() else future.exception())
            elif writes != []:
                self._unshipped.set()

        self._enqueue(_settling(record, writes)).add_done_callback(done)

    async def _commit(self, ops: list[Op]) -> None:
        await self._enqueue(ops)

    def _enqueue(self, ops: list[Op]) -> asyncio.Future[None]:
        """Group commit: operations arriving while a transaction is on disk share the next one."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((ops, future))
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit_pending())
        return future

    async def _commit_pending(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                if self._db is None:
                    raise JournalError("the audit journal is closed")
                await self._run(_transaction, self._db, [op for ops, _ in batch for op in ops])
            except (sqlite3.Error, OSError, JournalError) as exc:
                error = exc if isinstance(exc, JournalError) else JournalError(f"audit journal: {exc}")
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            self._unsynced.set()
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    # --- shipping ------------------------------------------------------------------------------

    async def ship(self) -> int:
        """Send up to `SHIP_BATCH` final records to ot-server; how many were sent."""
        assert self._db is not None
        rows = await self._run(_select, self._db, FINAL, SHIP_BATCH, None)
        if not rows:
            return 0
        docs = [json.loads(body) for _, body in rows]
        couch = self.couch()
        try:
            answers = await couch.bulk_docs(SERVER_DB, docs)
        except CouchError as exc:
            if not _refused(exc):
                raise
            # One bad record fails the whole request (an illegal id, say): find it, ship the rest.
            answers = [await _ship_one(couch, doc) for doc in docs]
        done, refused = [], []
        for doc, answer in zip(docs, answers, strict=True):
            # The ids are ULIDs: a conflict means an earlier shipment (maybe another process's) stored it.
            if "error" not in answer or answer.get("error") == "conflict":
                done.append((doc["_id"],))
            else:
                refused.append((REFUSED, doc["_id"]))
                log.error("audit record %s refused by %s: %s %s", doc["_id"], SERVER_DB,
                          answer.get("error"), answer.get("reason"))
        await self._commit([("DELETE FROM records WHERE id = ?", row) for row in done]
                           + [("UPDATE records SET final = ? WHERE id = ?", row) for row in refused])
        return len(rows)

    async def reconcile(self, older_than: float | None = RECONCILE_AFTER) -> int:
        """Settle planned records whose request ended unanswered, from what CouchDB holds."""
        assert self._db is not None
        cutoff = None if older_than is None else self.clock() - older_than
        rows = await self._run(_select, self._db, PLANNED, 10_000, cutoff)
        if not rows:
            return 0
        records = [json.loads(body) for _, body in rows]
        missing = await self._missing(records)
        for record in records:
            db = str(record.get("db"))
            kept = [w for w in record.get("writes", [])
                    if w.get("rev") not in missing.get(db, {}).get(w.get("doc_id"), ())]
            if kept:
                await self.settle({**record, "recovered": True}, kept)
            else:
                await self.settle(record, [])
        log.warning("audit journal: %d records of unanswered writes reconciled with CouchDB", len(records))
        return len(records)

    async def _missing(self, records: Iterable[JSON]) -> dict[str, dict[str, set[str]]]:
        """Per database, per document, the planned revisions CouchDB does not hold (`_revs_diff`)."""
        asked: dict[str, dict[str, list[str]]] = {}
        for record in records:
            for write in record.get("writes", []):
                asked.setdefault(str(record.get("db")), {}).setdefault(str(write["doc_id"]), []).append(
                    str(write["rev"]))
        missing: dict[str, dict[str, set[str]]] = {}
        for db, revs in asked.items():
            try:
                answer = (await self.couch().request("POST", f"/{quote(db, safe='')}/_revs_diff",
                                                     json_body=revs)).json()
            except CouchError as exc:
                if exc.status != 404:  # CouchUnavailable is a 503
                    raise
                answer = {doc_id: {"missing": r} for doc_id, r in revs.items()}  # no database: nothing held
            missing[db] = {doc_id: set(entry.get("missing", [])) for doc_id, entry in answer.items()}
        return missing

    async def adopt(self) -> int:
        """Move the records of journals whose process is gone into this one; how many."""
        moved = 0
        for path in sorted(self.folder.glob("audit-*.sqlite3")):
            if path == self.path:
                continue
            lock = path.with_suffix(".lock")
            fd = _lock(lock)
            if fd is None:
                continue  # its process is alive
            try:
                if not path.exists():  # adopted by another process while this one waited
                    continue
                rows = await self._run(_read_all, path)
                insert = "INSERT OR IGNORE INTO records (id, body, final, at) VALUES (?, ?, ?, ?)"
                await self._commit([(insert, (i, body, final, 0.0 if final == PLANNED else at))
                                    for i, body, final, at in rows])
                _remove(path)
                moved += len(rows)
                if rows:
                    log.warning("audit journal %s of a stopped process adopted: %d records",
                                path.name, len(rows))
            finally:
                _unlock(lock, fd, remove=True)
        if moved:
            self._unshipped.set()
        return moved

    async def counts(self) -> dict[str, int]:
        """Records in this journal by state (for /metrics)."""
        if self._db is None:
            return {}
        rows = await self._run(lambda db: db.execute("SELECT final, count(*) FROM records GROUP BY final")
                               .fetchall(), self._db)
        names = {PLANNED: "planned", FINAL: "unshipped", REFUSED: "refused"}
        return {names.get(state, str(state)): n for state, n in rows}

    async def _sync_loop(self) -> None:
        """Sync the disk `SYNC_EVERY` seconds after the first commit that is not on it yet."""
        while True:
            await self._unsynced.wait()
            await asyncio.sleep(SYNC_EVERY)
            self._unsynced.clear()
            try:
                await self._run(_checkpoint, self._db)
                self.syncs += 1
            except sqlite3.Error as exc:  # the commits stay in the WAL; the next checkpoint retries
                log.warning("audit journal %s: disk sync failed: %s", self.path.name, exc)
                self._unsynced.set()

    async def _ship_loop(self) -> None:
        backoff = 0.0
        next_adopt = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                if loop.time() >= next_adopt:
                    next_adopt = loop.time() + ADOPT_EVERY
                    await self.adopt()
                    await self.reconcile(older_than=RECONCILE_AFTER)
                if backoff:
                    await asyncio.sleep(backoff)
                else:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self._unshipped.wait(), max(0.0, next_adopt - loop.time()))
                    if not self._unshipped.is_set():
                        continue
                    await asyncio.sleep(self.ship_delay)  # let the records of a busy moment gather
                self._unshipped.clear()
                while await self.ship() == SHIP_BATCH:
                    pass
                backoff = 0.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # CouchDB away, disk trouble: keep the records, try again later
                backoff = min(MAX_BACKOFF, max(1.0, backoff * 2))
                log.warning("audit journal: shipping failed (%s); next try in %.0f s", exc, backoff)
                self._unshipped.set()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)


def _refused(exc: CouchError) -> bool:
    """CouchDB answered with a 4xx: it stored nothing (unreachable is a 503, a 5xx is unknown)."""
    return 400 <= exc.status < 500


async def _ship_one(couch: Couch, doc: JSON) -> JSON:
    try:
        return (await couch.bulk_docs(SERVER_DB, [doc]))[0]
    except CouchError as exc:
        if not _refused(exc):
            raise
        return {"id": doc.get("_id"), "error": exc.error, "reason": exc.reason}


def _settling(record: JSON, writes: list[JSON] | None) -> list[Op]:
    """The operations that make a planned record final (`writes` None: as planned; `[]`: gone)."""
    if writes == []:
        return [("DELETE FROM records WHERE id = ?", (record["_id"],))]
    if writes is None:
        return [("UPDATE records SET final = ? WHERE id = ?", (FINAL, record["_id"]))]
    return [("UPDATE records SET body = ?, final = ? WHERE id = ?",
             (_dumps({**record, "writes": writes}), FINAL, record["_id"]))]


def _dumps(record: JSON) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _transaction(db: sqlite3.Connection, ops: Sequence[Op]) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        for sql, params in ops:
            db.execute(sql, params)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _checkpoint(db: sqlite3.Connection | None) -> None:
    """A passive WAL checkpoint: with `synchronous=NORMAL` it fsyncs the WAL, then the database."""
    if db is not None:
        db.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _select(db: sqlite3.Connection, state: int, limit: int, before: float | None) -> list[tuple[str, str]]:
    if before is None:
        query = db.execute("SELECT id, body FROM records WHERE final = ? ORDER BY id LIMIT ?", (state, limit))
    else:
        query = db.execute("SELECT id, body FROM records WHERE final = ? AND at < ? ORDER BY id LIMIT ?",
                           (state, before, limit))
    return [(str(i), str(body)) for i, body in query.fetchall()]


def _count(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT count(*) FROM records WHERE final IN (?, ?)", (PLANNED, FINAL)).fetchone()
    return int(row[0])


def _read_all(path: Path) -> list[tuple[str, str, int, float]]:
    """Every record of another process's journal (opening it replays its WAL)."""
    db = _connect(path)
    try:
        return [(str(i), str(b), int(f), float(a))
                for i, b, f, a in db.execute("SELECT id, body, final, at FROM records").fetchall()]
    finally:
        db.close()


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with suppress(FileNotFoundError):
            os.remove(f"{path}{suffix}")


def _lock(path: Path) -> int | None:
    """An exclusive `flock` on `path` (made if missing); None when another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _unlock(path: Path, fd: int | None, *, remove: bool) -> None:
    if fd is None:
        return
    if remove:  # while still held, so nobody locks a file that is about to disappear
        with suppress(FileNotFoundError):
            os.remove(path)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
