"""Moving one batch (批次传输): fetch what the target lacks from the source, then write it.

`fetch_batch` reads the missing revisions (`_bulk_get`, attachment stubs only) and the bytes of
the attachments the target lacks, up to `MAX_FETCH_BYTES`; `write_batch` writes them
(`new_edits=false`), then fetches and writes the rest of an attachment-heavy batch group by group.
What arrived is always written, even when part of the batch failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from mobile.replication.endpoint import JSON, AttachmentRef, Endpoint, Seq, attachment_stubs
from mobile.replication.errors import MissingStub
from mobile.replication.summary import BatchResult

log = logging.getLogger(__name__)

# Attachment bytes held in memory per group: ~50 scans of 300 KB, enough to keep 4 transfers busy,
# small enough that a phone holding two batches (one fetched, one being written) stays well
# inside its memory. A batch of 500 cases with two scans each (~300 MB) goes in ~20 groups.
MAX_FETCH_BYTES = 16 * 1024 * 1024

# Attachment bytes per request when a source sends several documents' attachments together
# (ADR 0135): a cut connection costs at most this much again, and four such requests in flight
# keep a village link busy as four single scans did.
TOGETHER_BYTES = 1024 * 1024

DocFilter = Callable[[JSON], bool]
Lacking = set[tuple[str, str, str]]  # (doc id, rev, attachment name)


Bodies = dict[tuple[str, str], JSON]  # revisions read, by (doc id, rev)


@dataclass(frozen=True)
class Batch:
    """One page of the source's changes and what the target said it lacks."""

    rows: list[JSON]
    missing: dict[str, JSON]
    last_seq: Seq
    # The missing revisions (`bulk_get`, stubs) when they were read before the batch is fetched:
    # those read to route a page from the local store (ADR 0158), or asked for as soon as a remote
    # source's batch was read, to travel while the batch before it is fetched (ADR 0162). None:
    # asked when the batch is fetched.
    revisions: Awaitable[list[JSON]] | None = None


def read_already(docs: list[JSON]) -> asyncio.Future[list[JSON]]:
    """`docs` as a batch's `revisions` when they are in hand already (a finished future)."""
    done: asyncio.Future[list[JSON]] = asyncio.get_running_loop().create_future()
    done.set_result(docs)
    return done


def wanted_revisions(missing: dict[str, JSON]) -> list[tuple[str, str]]:
    return [(doc_id, rev) for doc_id, diff in missing.items() for rev in diff.get("missing", [])]


@dataclass(frozen=True)
class Fetched:
    """A batch with the revisions read from the source, bytes filled in where the target lacks them."""

    batch: Batch
    docs: list[JSON]
    read: int = 0
    attachments: int = 0
    error: Exception | None = None  # some bytes did not arrive: `docs` holds only the complete ones
    later: list[list[JSON]] = field(default_factory=list)  # groups whose bytes are fetched when written
    lacking: Lacking = field(default_factory=set)


def retrieve(task: asyncio.Task[Any]) -> None:
    """Done callback of a task whose result may never be awaited: its exception counts as seen."""
    if not task.cancelled():
        task.exception()


async def fetch_batch(
    source: Endpoint, target: Endpoint, batch: Batch, doc_filter: DocFilter | None
) -> Fetched:
    """Read the revisions the target lacks (or await those read before: `Batch.revisions`), and the first
    `MAX_FETCH_BYTES` of attachments it lacks."""
    wanted = wanted_revisions(batch.missing)
    if not wanted:
        return Fetched(batch, [])
    docs = await (batch.revisions if batch.revisions is not None else source.bulk_get(wanted))
    read = len(docs)
    if doc_filter is not None:
        docs = [d for d in docs if doc_filter(d)]
    if not docs:
        return Fetched(batch, [], read)
    lacking = await lacking_of(target, batch, docs)
    first, *later = by_bytes(docs, lacking, MAX_FETCH_BYTES)
    ready, count, error = await fetch_attachments(source, first, lacking)
    return Fetched(batch, ready, read, count, error, later, lacking)


async def land_complete(
    target: Endpoint, batch: Batch, docs: list[JSON], doc_filter: DocFilter | None
) -> int:
    """Write the revisions of `batch` that need no byte from the source: those without attachments
    and those whose attachments the target already holds (ADR 0162). A revision lacking bytes is
    not written, so it stays missing and the next run asks for it again. Returns how many were
    written (refusals are not counted: the batch is never checkpointed, the next run retries them).
    """
    if doc_filter is not None:
        docs = [d for d in docs if doc_filter(d)]
    if not docs:
        return 0
    lacking = await lacking_of(target, batch, docs)
    complete = [
        d for d in docs if not any((d["_id"], d["_rev"], name) in lacking for name in attachment_stubs(d))
    ]
    if not complete:
        return 0
    refused = await target.write_docs(complete)
    return len(complete) - len(refused)


async def lacking_of(target: Endpoint, batch: Batch, docs: list[JSON]) -> Lacking:
    """The attachments of `docs` the target lacks, its leaves `_revs_diff` named as possible
    ancestors taken into account."""
    ancestors = {i: d.get("possible_ancestors", []) for i, d in batch.missing.items()}
    return await target.missing_attachments(docs, ancestors)


def by_bytes(docs: list[JSON], lacking: Lacking, limit: int) -> list[list[JSON]]:
    """Consecutive groups of `docs` whose lacking attachments add up to at most `limit` bytes each
    (a single larger document is a group of its own)."""
    groups: list[list[JSON]] = [[]]
    size = 0
    for doc in docs:
        need = sum(
            int(att.get("length", 0))
            for name, att in attachment_stubs(doc).items()
            if (doc["_id"], doc["_rev"], name) in lacking
        )
        if groups[-1] and size + need > limit:
            groups.append([])
            size = 0
        groups[-1].append(doc)
        size += need
    return groups


async def write_batch(source: Endpoint, target: Endpoint, fetched: Fetched) -> BatchResult:
    """Write a fetched batch group by group, the next group's bytes fetched while a group is written;
    what arrived is written even when part of it failed."""
    docs, count, error = fetched.docs, fetched.attachments, fetched.error
    failures: list[JSON] = []
    written: list[str] = []
    groups = iter(fetched.later)

    def fetch_next() -> asyncio.Task[tuple[list[JSON], int, Exception | None]] | None:
        group = next(groups, None)
        if group is None:
            return None
        return asyncio.create_task(fetch_attachments(source, group, fetched.lacking))

    ahead = fetch_next() if error is None else None
    while True:
        try:
            if docs:
                failed, more = await write_group(source, target, docs)
                failures.extend(with_revs(failed, docs))
                count += more
                refused = {f.get("id") for f in failed}
                written.extend(d["_id"] for d in docs if d["_id"] not in refused)
        except asyncio.CancelledError:
            if ahead is not None:
                ahead.cancel()
            raise
        except Exception:
            await _land(source, target, ahead)
            raise
        if error is not None:
            # The next run's _revs_diff skips what was just written; the batch is not checkpointed
            # because some of it is still missing. (Nothing is fetched ahead once a fetch failed.)
            raise error
        if ahead is None:
            break
        docs, more, error = await ahead
        count += more
        ahead = fetch_next() if error is None else None
    conflicts = await target.conflicted(written) if written else set()
    if conflicts is None:
        conflicts = await source.conflicted(written) or set()
    return BatchResult(
        docs_read=fetched.read,
        docs_written=len(written),
        failures=tuple(failures),
        attachments_fetched=count,
        conflicts_seen=len(conflicts),
    )


async def _land(
    source: Endpoint, target: Endpoint, ahead: asyncio.Task[tuple[list[JSON], int, Exception | None]] | None
) -> None:
    """A write failed while the next group was fetched: write what of it arrives anyway, so the
    next run does not fetch those bytes again (ADR 0135); its own errors add nothing."""
    if ahead is None:
        return
    with contextlib.suppress(Exception):
        ready, _, _ = await ahead
        if ready:
            await write_group(source, target, ready)


def with_revs(failed: list[JSON], docs: list[JSON]) -> list[JSON]:
    """Refusals with the revision they refused: a target may answer with the id only, and every
    revision of that id in the group is then counted as refused (a retry of one the target did
    take is a no-op: `_revs_diff` drops it)."""
    out: list[JSON] = []
    for failure in failed:
        if isinstance(failure.get("rev"), str):
            out.append(failure)
            continue
        revs = [d["_rev"] for d in docs if d["_id"] == failure.get("id")]
        out.extend([{**failure, "rev": rev} for rev in revs] or [failure])
    return out


async def write_group(source: Endpoint, target: Endpoint, docs: list[JSON]) -> tuple[list[JSON], int]:
    """Write documents; returns the refused ones and how many attachments had to be fetched again."""
    try:
        return await target.write_docs(docs), 0
    except MissingStub:
        # The target lost an attachment it should hold (or reported its ancestors wrongly): send all bytes.
        log.warning("target lacked attachment stubs; resending %d docs with their bytes", len(docs))
        every = {
            (d["_id"], d["_rev"], name)
            for d in docs
            for name, att in attachment_stubs(d).items()
            if "data" not in att
        }
        complete, more, error = await fetch_attachments(source, docs, every)
        failures = await target.write_docs(complete)
        if error is not None:
            raise error from None
        return failures, more


async def fetch_attachments(
    source: Endpoint, docs: list[JSON], lacking: set[tuple[str, str, str]]
) -> tuple[list[JSON], int, Exception | None]:
    """Put `data: bytes` into every stub listed in `lacking` (the source endpoint bounds concurrency).

    Returns the documents whose bytes all arrived, how many attachments arrived, and the first error:
    one lost connection must not throw away the scans that did arrive.
    """
    together = await _fetch_together(source, docs, lacking)
    refs: list[tuple[JSON, JSON, AttachmentRef]] = []
    for doc in docs:
        arrived = together.get((doc["_id"], doc["_rev"]), {})
        for name, att in attachment_stubs(doc).items():
            if (doc["_id"], doc["_rev"], name) not in lacking:
                continue
            if name in arrived:
                att.pop("stub", None)
                att["data"] = arrived[name]
                att["length"] = len(arrived[name])
                continue
            ref = AttachmentRef(doc["_id"], doc["_rev"], name, str(att.get("digest", "")))
            refs.append((doc, att, ref))
    blobs = await asyncio.gather(*(source.get_attachment(ref) for _, _, ref in refs), return_exceptions=True)
    incomplete: set[int] = set()
    error: Exception | None = None
    for (doc, att, _), data in zip(refs, blobs, strict=True):
        if isinstance(data, bytes):
            att.pop("stub", None)
            att["data"] = data
            att["length"] = len(data)
        elif isinstance(data, Exception):
            incomplete.add(id(doc))
            error = error or data
        else:
            raise data
    ready = [d for d in docs if id(d) not in incomplete]
    arrived_together = sum(len(v) for v in together.values())
    return ready, arrived_together + sum(1 for b in blobs if isinstance(b, bytes)), error


async def _fetch_together(
    source: Endpoint, docs: list[JSON], lacking: Lacking
) -> dict[tuple[str, str], dict[str, bytes]]:
    """The bytes of the documents whose every attachment the target lacks, in one request where the
    source can (ADR 0135); a document holding some attachments already is left to the one-by-one
    path, so no byte the target holds travels. Whatever this does not bring is fetched one by one."""
    whole = [
        (doc["_id"], doc["_rev"])
        for doc in docs
        if (stubs := attachment_stubs(doc)) and all((doc["_id"], doc["_rev"], n) in lacking for n in stubs)
    ]
    if len(whole) < 2:
        return {}
    sizes = {
        (d["_id"], d["_rev"]): sum(int(a.get("length", 0)) for a in attachment_stubs(d).values())
        for d in docs
    }
    chunks: list[list[tuple[str, str]]] = [[]]
    size = 0
    for key in whole:
        if chunks[-1] and size + sizes[key] > TOGETHER_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(key)
        size += sizes[key]

    async def one(chunk: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, bytes]]:
        try:
            found = await source.get_with_attachments(chunk)
        except Exception as exc:  # the one-by-one path retries each attachment and reports what failed
            log.info("fetching %d documents' attachments together failed (%s): one by one", len(chunk), exc)
            return {}
        wanted = set(chunk)
        return {key: datas for key, datas in (found or {}).items() if key in wanted}

    together: dict[tuple[str, str], dict[str, bytes]] = {}
    for found in await asyncio.gather(*(one(chunk) for chunk in chunks)):
        together.update(found)
    return together
