"""One-shot replication (单次同步) from a source to a target, following the CouchDB replication protocol.

The run is a chain of named steps, each taking and returning values:

    read checkpoints → read changes → revs_diff → source's checkpoint (stage 1, a task)
                     → fetch missing revisions (_bulk_get) and the attachment bytes the target lacks
                                                                       (stage 2, a task)
                     → write (_bulk_docs new_edits=false / multipart PUT) → target's checkpoint
                                                                       (stage 3, in order)

The stages run concurrently one batch apart, joined by queues of one item: while batch k is
written, batch k+1 is fetched (and its write starts without waiting for batch k's answer) and
batch k+2's `_revs_diff` asked, so a slow link is never idle waiting for one answer before asking
the next question; the first page and its `_revs_diff` are asked while the logs are read (ADRs
0140, 0159). The target's checkpoint, which alone
says where the next run resumes, is recorded by the last stage only, in order, so it never covers
a batch that was not written; the source's, which only names the session, is written by the first
stage while the batch travels, so no round trip of a sync waits for it (ADR 0135). To a near
engine (loopback or LAN) the target's log is written at most every few seconds and after the last
batch, still only for batches the target answered (ADR 0142).

Checkpoint rule for refused documents (nothing the source holds is ever skipped for good): a
revision the target refused is listed, with its reason, in the very checkpoint that moves past
its batch (`held` in the replication log). The next run retries the held revisions first, as a
batch of their own, and its first checkpoint carries only those refused again (ADR 0107).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, cast

from mobile.replication.checkpoint import (
    Session,
    held_list,
    held_refusals,
    next_log,
    replication_id,
    start_seq,
)
from mobile.replication.endpoint import JSON, Endpoint, Seq
from mobile.replication.errors import Cancelled, RemoteError, Unauthorized
from mobile.replication.local import LocalDB, Store
from mobile.replication.remote import RemoteDB
from mobile.replication.summary import BatchResult, Progress, ReplicationSummary
from mobile.replication.transfer import (
    Batch,
    Bodies,
    DocFilter,
    fetch_batch,
    land_complete,
    read_already,
    retrieve,
    wanted_revisions,
    write_batch,
)
from shared.timestamps import iso_utc

log = logging.getLogger(__name__)

# 500 docs of ~2 KB is ~1 MB of JSON per _bulk_get (~150 KB gzipped, 0.6 s at 2 Mbit/s): few round
# trips per sync, and an interrupted batch still lands what arrived (see `transfer_batches`).
# Measured on the 5,300-doc bench set: 500 pulled ~25 % faster than 200.
BATCH_SIZE = 500
# Pushing to a near engine the target's log is written at most this often, and after the last batch:
# each write is one more commit the engine makes while it ingests the data, and a log left behind
# costs the next run only a `_revs_diff` of what was written since (ADR 0142). Otherwise: every batch.
NEAR_CHECKPOINT_SECONDS = 5.0
# Writes in flight to a remote target. To a near engine: while it ingests one `_bulk_docs`, the next
# is encoded and already queued, so its single ingest thread never waits for the phone (ADR 0151).
# Over a village link: the next batch's scans start up as the previous ones finish, not one round
# trip after its answer (ADR 0159). Into the local store (a pull) one: its writes take turns anyway.
WRITES_IN_FLIGHT = 2
# A first push into a near database that holds no document asks no `_revs_diff`: the answer
# would be "everything is missing" (ADR 0151).
SKIP_REVS_DIFF_WHEN_EMPTY = True
# From a remote source, a batch's revisions (`_bulk_get`, stubs) are asked for as soon as it is
# read, so they travel while the previous batch's scans do; a run that stops lands what of them
# arrived (`ReadAhead`, ADR 0162).
READ_AHEAD = True


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class Checkpointer:
    """Where and under which session the replication logs are written."""

    doc_id: str
    session: Session


def _now() -> str:
    return iso_utc(dt.datetime.now(dt.UTC))


def as_endpoint(db: Endpoint | Store) -> Endpoint:
    """A `LocalStore` becomes a `LocalDB`; endpoints pass through."""
    if isinstance(db, (LocalDB, RemoteDB)):
        return db
    if hasattr(db, "traffic"):  # any other Endpoint implementation
        return cast(Endpoint, db)
    return LocalDB(db)


async def replicate(
    source_db: Endpoint | Store,
    target_db: Endpoint | Store,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    doc_filter: DocFilter | None = None,
    filter_id: str | None = None,
) -> ReplicationSummary:
    """Copy every revision of `source` that `target` lacks; resumable from the last checkpoint.

    `doc_filter(doc)` limits what is copied (its `filter_id` names it in the replication id, so each
    filter keeps its own checkpoint). Raises `Cancelled` when `cancel` is set, `Unauthorized` on
    401/403, `Unreachable` after retries; documents the target refuses are reported, not raised.
    """
    source, target = as_endpoint(source_db), as_endpoint(target_db)
    rep_id = replication_id(await source.identity(), await target.identity(), filter_id)
    doc_id = f"_local/{rep_id}"
    row_filter = routed_rows(source, doc_filter)
    opened = await open_logs(source, target, doc_id, batch_size, row_filter)
    source_log, target_log, since, first_page = opened
    ask_target = target_log is not None or not await _empty_near(target)
    retry = held_refusals(target_log or source_log)
    session = Session(uuid.uuid4().hex, _now())
    log.info("replication %s starts at seq %s", rep_id, since)
    sent0, received0 = _traffic(source, target)
    summary = ReplicationSummary(
        replication_id=rep_id, session_id=session.session_id, start_seq=since, last_seq=since
    )
    batches: asyncio.Queue[Batch | Exception | None] = asyncio.Queue(maxsize=1)
    # Unbounded: the transfer stage must be able to hand over its last write after the loop below stopped.
    written: asyncio.Queue[Written | Exception | None] = asyncio.Queue()
    stopping = asyncio.Event()
    where = Checkpointer(doc_id, session)
    source_logger = SourceLog(source, where, source_log)
    # From a remote source, a batch's revisions are asked for as soon as it is read (ADR 0162).
    ahead = ReadAhead(source, target, doc_filter) if READ_AHEAD and isinstance(source, RemoteDB) else None
    reader = asyncio.create_task(
        read_batches(
            source,
            target,
            since,
            batch_size,
            batches,
            retry,
            source_logger,
            first_page,
            row_filter,
            ask_target=ask_target,
            read_ahead=ahead,
        )
    )
    in_flight = WRITES_IN_FLIGHT if isinstance(target, RemoteDB) else 1
    mover = asyncio.create_task(
        transfer_batches(
            source, target, doc_filter, batches, written, stopping, in_flight=in_flight, read_ahead=ahead
        )
    )
    checkpointed_at = time.monotonic()
    unrecorded = False  # batches written since the target's log was last written
    try:
        while (item := await written.get()) is not None:
            if isinstance(item, Exception):
                raise item
            summary = summary.add(item.result, item.batch.last_seq)
            unrecorded = True
            if not _near(target) or time.monotonic() - checkpointed_at >= NEAR_CHECKPOINT_SECONDS:
                target_log = await record_checkpoint(target, where, target_log, summary)
                checkpointed_at, unrecorded = time.monotonic(), False
            if progress is not None:
                sent, received = _traffic(source, target)
                progress(summary.docs_written, sent - sent0 + received - received0)
            _check(cancel)
    except Exception as exc:
        # Let the batch being fetched land in the target (what arrived is not fetched again next
        # time), unless the caller cancelled: then stop at once.
        at_once = isinstance(exc, Cancelled)
        await wind_down(reader, mover, batches, stopping, at_once=at_once, read_ahead=ahead)
        raise
    finally:
        reader.cancel()
        mover.cancel()
        if ahead is not None:
            ahead.cancel()
    if unrecorded:
        target_log = await record_checkpoint(target, where, target_log, summary)
    sent, received = _traffic(source, target)
    return replace(summary, bytes_sent=sent - sent0, bytes_received=received - received0)


def _near(db: Endpoint) -> bool:
    """An engine on loopback or the LAN (`RemoteDB.near`, ADR 0142)."""
    return isinstance(db, RemoteDB) and db.near()


async def _empty_near(target: Endpoint) -> bool:
    """Whether a push goes to a near engine's database that was never written to (its update
    sequence is 0: no document, live or deleted; ADR 0151): every revision of the source is then
    missing there, without asking.

    Another writer filling it meanwhile costs only bytes: a revision written again with
    `new_edits=false` is a no-op, and a scan sent whole where a stub would have done is stored once.
    """
    if not SKIP_REVS_DIFF_WHEN_EMPTY or not _near(target):
        return False
    try:
        info = await target.info()
    except RemoteError:  # a database that will not say is asked, as before
        return False
    # pouchdb-server: a number; Apache CouchDB: "N-opaque", N the sum over the shards
    seq = str(info.get("update_seq", "")).split("-", 1)[0]
    return info.get("doc_count") == 0 and seq == "0"


async def open_logs(
    source: Endpoint, target: Endpoint, doc_id: str, batch_size: int, row_filter: RowFilter | None = None
) -> tuple[JSON | None, JSON | None, Seq, asyncio.Task[Page] | None]:
    """Both replication logs, where to resume, and the first page of changes with its `_revs_diff`
    if they could be asked for while the logs travelled (ADRs 0140, 0159).

    The first page is asked for as soon as one log arrived (on a pull the target's, on a push the
    source's: the local one), from that log's `source_last_seq` (0 without a log — always the answer
    when the target has none, as on a first sync), and its `_revs_diff` right after: both only read.
    When both logs give another position, the guess is dropped and the reader asks again: wasted
    requests, never a skipped change.
    """
    source_read = asyncio.create_task(source.get_local(doc_id))
    target_read = asyncio.create_task(target.get_local(doc_id))
    page: asyncio.Task[Page] | None = None
    try:
        done, _ = await asyncio.wait({source_read, target_read}, return_when=asyncio.FIRST_COMPLETED)
        first = target_read if target_read in done else source_read
        known = first.result() if first.exception() is None else None
        guess: Seq = (known or {}).get("source_last_seq", 0)
        if first.exception() is None:
            # To a near engine the question costs no wait worth saving, and a push into an empty
            # database may not ask it at all (ADR 0151): the reader asks once the logs are in.
            ask = None if _near(target) else target.revs_diff
            page = asyncio.create_task(read_page(source, guess, batch_size, row_filter, ask))
            page.add_done_callback(retrieve)  # a dropped guess is never awaited
        source_log, target_log = await asyncio.gather(source_read, target_read)
    except BaseException:
        for task in (source_read, target_read, page):
            if task is not None:
                task.cancel()
        raise
    since = start_seq(source_log, target_log)
    if page is not None and since != guess:
        page.cancel()
        page = None
    return source_log, target_log, since, page


def _traffic(source: Endpoint, target: Endpoint) -> tuple[int, int]:
    """Bytes (sent, received) by both endpoints so far."""
    return (
        source.traffic.bytes_sent + target.traffic.bytes_sent,
        source.traffic.bytes_received + target.traffic.bytes_received,
    )


async def wind_down(
    reader: asyncio.Task[None],
    mover: asyncio.Task[None],
    batches: asyncio.Queue[Batch | Exception | None],
    stopping: asyncio.Event,
    *,
    at_once: bool,
    read_ahead: ReadAhead | None = None,
) -> None:
    """Stop reading; let the transfer stage write what it fetched, then land what was read ahead
    and not taken (or cancel all of it when `at_once`)."""
    stopping.set()
    reader.cancel()
    with contextlib.suppress(asyncio.QueueFull):  # wake the transfer stage if it waits for a batch
        batches.put_nowait(None)
    if at_once:
        mover.cancel()
        if read_ahead is not None:
            read_ahead.cancel()
    await asyncio.gather(reader, mover, return_exceptions=True)
    if read_ahead is not None and not at_once:
        await read_ahead.land()


class ReadAhead:
    """The batches whose revisions (`_bulk_get`, stubs) were asked for as soon as they were read, so
    that they travel while the batch before them is fetched (ADR 0162), and that the transfer stage
    has not taken yet.

    What arrives must not be fetched again (ADR 0135), so a run that stops before the transfer
    stage took such a batch lands it while winding down (`land`): it waits for every read-ahead
    answer still on its way (a request cancelled after its answer left the server would have
    arrived for nothing), then writes each batch's revisions that need no byte from the source. A
    landed batch is never checkpointed: the next run resumes before it, and `_revs_diff` skips what
    landed. Only a caller's cancel drops them unlanded, as it stops the transfer stage at once.
    """

    def __init__(self, source: Endpoint, target: Endpoint, doc_filter: DocFilter | None) -> None:
        self.source, self.target, self.doc_filter = source, target, doc_filter
        self.open: list[tuple[Batch, asyncio.Task[list[JSON]]]] = []
        self.last: asyncio.Task[list[JSON]] | None = None

    def ask(self, batch: Batch) -> Batch:
        """The batch with its revisions asked for (as it was when there are none to ask), as soon
        as the previous batch's have arrived: never competing with the answer the transfer stage
        waits for, only with that batch's scans."""
        wanted = wanted_revisions(batch.missing)
        if not wanted or batch.revisions is not None:
            return batch
        task = asyncio.create_task(self._after(self.last, wanted))
        task.add_done_callback(retrieve)  # a batch cancelled at once is never awaited
        self.last = task
        asked = replace(batch, revisions=task)
        self.open.append((asked, task))
        return asked

    async def _after(
        self, previous: asyncio.Task[list[JSON]] | None, wanted: list[tuple[str, str]]
    ) -> list[JSON]:
        if previous is not None:
            await asyncio.wait({previous})
        return await self.source.bulk_get(wanted)

    def taken(self, batch: Batch) -> None:
        """The transfer stage fetched the batch: from now on it writes what arrived."""
        self.open = [(b, task) for b, task in self.open if b is not batch]

    async def land(self) -> None:
        """Write what arrived of the batches not taken: see the class."""
        batches, self.open = self.open, []
        if batches:
            await asyncio.wait([task for _, task in batches])
        for batch, task in batches:
            if task.cancelled() or task.exception() is not None:
                continue  # nothing arrived
            try:
                landed = await land_complete(self.target, batch, task.result(), self.doc_filter)
            except Exception as exc:  # the run already failed; this adds nothing to report
                log.warning("landing a batch read ahead failed: %s", exc)
                continue
            log.info("landed %d revisions read ahead before the run stopped", landed)

    def cancel(self) -> None:
        for _, task in self.open:
            task.cancel()
        self.open = []


async def read_batches(
    source: Endpoint,
    target: Endpoint,
    since: Seq,
    batch_size: int,
    queue: asyncio.Queue[Batch | Exception | None],
    retry: Sequence[JSON] = (),
    source_log: SourceLog | None = None,
    first_page: asyncio.Task[Page] | None = None,
    row_filter: RowFilter | None = None,
    *,
    ask_target: bool = True,
    read_ahead: ReadAhead | None = None,
) -> None:
    """Producer: the revisions refused last time (`retry`), then pages of changes, each with its
    `_revs_diff` (or, when not `ask_target`, every revision counted missing), then None (or the
    error that stopped it); with `read_ahead`, each batch's revisions already asked for. Once a
    batch is handed on, the source's replication log records it (`source_log`), while the batch is
    fetched. `row_filter` drops the rows of a page that are not to be copied before their
    `_revs_diff` (`routed_rows`).

    Runs one batch ahead of the writer.
    """
    diff = target.revs_diff if ask_target else _all_missing
    try:
        await _read_batches(
            source,
            diff,
            since,
            batch_size,
            queue,
            list(retry),
            source_log,
            first_page,
            row_filter,
            read_ahead,
        )
    except Exception as exc:
        await queue.put(exc)
    finally:
        if first_page is not None:
            first_page.cancel()


async def _all_missing(revs: Mapping[str, list[str]]) -> dict[str, JSON]:
    return {doc_id: {"missing": list(rs)} for doc_id, rs in revs.items()}


async def _read_batches(
    source: Endpoint,
    revs_diff: RevsDiff,
    since: Seq,
    batch_size: int,
    queue: asyncio.Queue[Batch | Exception | None],
    retry: list[JSON],
    source_log: SourceLog | None,
    first_page: asyncio.Task[Page] | None,
    row_filter: RowFilter | None,
    read_ahead: ReadAhead | None,
) -> None:
    ask = read_ahead.ask if read_ahead is not None else _as_is
    read = 0
    if retry:
        # Always a batch, even when the target took them all meanwhile: its checkpoint is what
        # clears them from the held list.
        wanted: dict[str, list[str]] = {}
        for held in retry:
            wanted.setdefault(str(held["id"]), []).append(str(held["rev"]))
        held_rows: list[JSON] = [{"id": i, "changes": [{"rev": r} for r in rs]} for i, rs in wanted.items()]
        missing = await revs_diff(wanted)
        await queue.put(ask(Batch(held_rows, missing, since)))
        if source_log is not None:
            await source_log.record(since, read)
    while True:
        if first_page is not None:
            page, first_page = await first_page, None
        else:
            page = await read_page(source, since, batch_size, row_filter, revs_diff)
        since = page.last_seq
        if page.read:
            # A page whose rows are all filtered out is still a batch: its checkpoint moves past them.
            await queue.put(ask(await page.batch(revs_diff)))
            read += page.read
            if source_log is not None:
                await source_log.record(since, read)
        if page.read < batch_size:
            await queue.put(None)
            return


def _as_is(batch: Batch) -> Batch:
    return batch


RevsDiff = Callable[[Mapping[str, list[str]]], Awaitable[dict[str, JSON]]]


@dataclass(frozen=True)
class Page:
    """A page of the source's changes: the rows kept (`routed_rows`), what the target lacks of
    them (None: not asked yet), how many rows the source listed, where the page ends, and the
    bodies read to route it (None: not routed)."""

    rows: list[JSON]
    missing: dict[str, JSON] | None
    read: int
    last_seq: Seq
    bodies: Bodies | None = None

    async def batch(self, revs_diff: RevsDiff) -> Batch:
        """The page as a batch, asking the target now if it was not asked yet (the first page,
        read while the logs travelled to a near engine); a routed page's batch carries the bodies
        read to route it that the target lacks, so they are not read again (ADR 0158)."""
        missing = self.missing if self.missing is not None else await _asked(revs_diff, self.rows)
        if self.bodies is None:
            return Batch(self.rows, missing, self.last_seq)
        held = [self.bodies[key] for key in wanted_revisions(missing) if key in self.bodies]
        return Batch(self.rows, missing, self.last_seq, read_already(held))


async def read_page(
    source: Endpoint, since: Seq, batch_size: int, row_filter: RowFilter | None, revs_diff: RevsDiff | None
) -> Page:
    """The changes after `since`, routed (`row_filter`), with `revs_diff` of them (not asked when
    None: the caller asks once it knows how)."""
    page = await source.changes(since, batch_size)
    rows: list[JSON] = page.get("results", [])
    last_seq = page.get("last_seq", since)
    kept, bodies = (rows, None) if row_filter is None or not rows else await row_filter(rows)
    missing = None if revs_diff is None else await _asked(revs_diff, kept)
    return Page(kept, missing, len(rows), last_seq, bodies)


async def _asked(revs_diff: RevsDiff, rows: list[JSON]) -> dict[str, JSON]:
    revs = {row["id"]: [c["rev"] for c in row["changes"]] for row in rows}
    return await revs_diff(revs) if revs else {}


RowFilter = Callable[[list[JSON]], Awaitable[tuple[list[JSON], Bodies]]]


def routed_rows(source: Endpoint, doc_filter: DocFilter | None) -> RowFilter | None:
    """For a filtered run from the local store (a push of a sync round, routed per village), the
    rows of a page whose revisions all fail `doc_filter`, dropped before `_revs_diff` (ADR 0158),
    and the bodies read to decide, which the batch then carries so they are not read twice.

    A township staff device's store holds every village: without this, each village's push asked
    its database about every document of the other villages (all "missing" there) only to drop
    them after reading them. The local read costs the phone a few milliseconds per page; the
    question it saves crossed the village link twice. From a remote source the filter stays where
    it was, after `_bulk_get` (reading bodies to filter them would cost the bytes it saves).
    """
    if doc_filter is None or not isinstance(source, LocalDB):
        return None
    local = source

    async def kept(rows: list[JSON]) -> tuple[list[JSON], Bodies]:
        wanted = [(row["id"], change["rev"]) for row in rows for change in row["changes"]]
        docs = await local.bulk_get(wanted)
        passing = {doc["_id"] for doc in docs if doc_filter(doc)}
        bodies = {(doc["_id"], doc["_rev"]): doc for doc in docs if doc["_id"] in passing}
        return [row for row in rows if row["id"] in passing], bodies

    return kept


@dataclass(frozen=True)
class Written:
    """A batch that reached the target, ready to be checkpointed."""

    batch: Batch
    result: BatchResult


async def transfer_batches(
    source: Endpoint,
    target: Endpoint,
    doc_filter: DocFilter | None,
    inbox: asyncio.Queue[Batch | Exception | None],
    outbox: asyncio.Queue[Written | Exception | None],
    stopping: asyncio.Event,
    *,
    in_flight: int = 1,
    read_ahead: ReadAhead | None = None,
) -> None:
    """Stage 2: fetch batch k+1 while batch k is written, and start writing it without waiting for
    batch k's answer; hand each written batch on, in order. A batch read ahead (`read_ahead`) is
    this stage's to write once fetched; until then `ReadAhead.land` owns what arrived of it.

    Up to `in_flight` writes run at once (a remote target: ADRs 0151, 0159); they are handed on in the
    order of the batches, and the first failure stops the hand-over, so no checkpoint covers a
    batch after one that failed. Once `stopping` is set it takes no new batch, but still writes
    what it has fetched.
    """
    pending: collections.deque[tuple[Batch, asyncio.Task[BatchResult]]] = collections.deque()

    async def hand_over(keep: int) -> bool:
        """Hand on written batches, oldest first, until at most `keep` writes are pending."""
        while len(pending) > keep:
            batch, task = pending.popleft()
            try:
                await outbox.put(Written(batch, await task))
            except Exception as exc:
                await outbox.put(exc)
                # later writes already started land (never checkpointed): let them finish
                await asyncio.gather(*(t for _, t in pending), return_exceptions=True)
                pending.clear()
                return False
        return True

    try:
        while True:
            item = await inbox.get()
            if item is None or isinstance(item, Exception) or stopping.is_set():
                if await hand_over(0):
                    await outbox.put(item if isinstance(item, Exception) else None)
                return
            try:
                fetched = await fetch_batch(source, target, item, doc_filter)
            except Exception as exc:
                if await hand_over(0):
                    await outbox.put(exc)
                return
            if read_ahead is not None:
                read_ahead.taken(item)
            if not await hand_over(in_flight - 1):
                # An earlier batch failed, but this one arrived: land it before stopping, so the
                # next run does not fetch it again (it is not checkpointed).
                with contextlib.suppress(Exception):
                    await write_batch(source, target, fetched)
                return
            pending.append((item, asyncio.create_task(write_batch(source, target, fetched))))
    finally:
        for _, task in pending:  # cancelled with the stage: no write is left running unowned
            task.cancel()


class SourceLog:
    """The source's replication log, written as batches are read (ADR 0135).

    It may run ahead of what the target holds: `start_seq` takes the position from the target's
    log and only the session ids from this one. A read-only source keeps no log.
    """

    def __init__(self, source: Endpoint, where: Checkpointer, previous: JSON | None) -> None:
        self.source = source
        self.where = where
        self.current = previous
        self.writable = True
        self.written_at: float | None = None  # when this session last wrote it

    async def record(self, seq: Seq, docs_read: int) -> None:
        """Write the log for a batch handed on. From a source on loopback or the LAN (whose answers
        come plain, `RemoteDB.plain_answers`, ADRs 0149, 0168) only the first batch's and then one
        every `NEAR_CHECKPOINT_SECONDS`: the session id, all a later run reads of it, is in the
        first; each write is one more commit of the engine that serves the pull."""
        if not self.writable:
            return
        if (
            self.written_at is not None
            and isinstance(self.source, RemoteDB)
            and self.source.plain_answers()
            and time.monotonic() - self.written_at < NEAR_CHECKPOINT_SECONDS
        ):
            return
        new = next_log(
            self.current, self.where.doc_id, self.where.session, seq, _now(), {"docs_read": docs_read}
        )
        try:
            new["_rev"] = await self.source.put_local(new)
        except Unauthorized:
            log.info("source is read-only: checkpoint kept on the target only")
            self.writable = False
            return
        self.current = new
        self.written_at = time.monotonic()


async def record_checkpoint(
    target: Endpoint, where: Checkpointer, previous: JSON | None, summary: ReplicationSummary
) -> JSON:
    """Write the target's replication log for the batches written so far; return it (with its rev)."""
    stats = {
        "docs_read": summary.docs_read,
        "docs_written": summary.docs_written,
        "doc_write_failures": len(summary.doc_write_failures),
    }
    held = held_list(summary.doc_write_failures)
    new_target = next_log(previous, where.doc_id, where.session, summary.last_seq, _now(), stats, held)
    new_target["_rev"] = await target.put_local(new_target)
    return new_target


def _check(cancel: CancelToken | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("replication cancelled")
