"""Grouped writes (合并写入): concurrent replication writes to one database share one `_bulk_docs`.

Apache CouchDB spends most of a device's push on ingesting scans, and per document it costs
less in a larger `_bulk_docs`: 60 scans of 150 KB took it 0.64–0.82 s of CPU one per request,
0.48–0.54 s four per request and 0.34–0.44 s eight per request (ADR 0147). A replicator sends
its scans as separate uploads, four in flight, and many devices push to one village at once;
the gateway stores them together:

- only `new_edits: false` writes (replication: the revisions are known, and CouchDB answers
  only the documents it refused, each by id);
- per database one grouped `_bulk_docs` is in flight at a time; writes that arrive meanwhile
  go together in the next one. There is no timer: a write that finds nothing in flight goes
  at once, so a lone write waits for nothing;
- one id appears at most once in a group (the answers are split by id); a write that shares
  an id with the group waits for the next;
- a group carries at most `MAX_GROUP_BYTES`;
- when CouchDB refuses a whole group (4xx: one member's body it will not take), each member
  is sent again alone, so a write is never refused for another's document. A 5xx or an
  unreachable CouchDB is every member's failure (outcome unknown, as for a lone write).

Each member keeps its own judging, audit record and answer; only the transport is shared.

    failures = await write_together(couch, db, [(doc_id, doc_json_bytes), ...])
"""

from __future__ import annotations

import asyncio
import json
import weakref
from dataclasses import dataclass, field
from urllib.parse import quote

import aiohttp

from shared.jsontypes import JSON
from sync_server.couch import Couch, CouchError, CouchUnavailable

MAX_GROUP_BYTES = 16 * 1024 * 1024  # a few devices' batches; CouchDB takes up to 4 GB per request
TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=5.0, sock_read=120.0)
HEADERS = {"Content-Type": "application/json", "Accept-Encoding": "identity"}


@dataclass
class _Member:
    docs: list[tuple[str, bytes]]  # (id, the document's JSON) as judged
    future: asyncio.Future[list[JSON]]
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = sum(len(body) + 1 for _, body in self.docs)


class _Groups:
    """The group writer of one CouchDB client: per database, one `_bulk_docs` in flight."""

    def __init__(self, couch: Couch) -> None:
        self.couch = weakref.ref(couch)
        self.pending: dict[str, list[_Member]] = {}
        self.writing: dict[str, asyncio.Task[None]] = {}

    async def write(self, db: str, docs: list[tuple[str, bytes]]) -> list[JSON]:
        member = _Member(docs, asyncio.get_running_loop().create_future())
        self.pending.setdefault(db, []).append(member)
        task = self.writing.get(db)
        if task is None or task.done():
            self.writing[db] = asyncio.create_task(self._drain(db))
        return await member.future

    async def _drain(self, db: str) -> None:
        while self.pending.get(db):
            group = _take_group(self.pending[db])
            if not self.pending[db]:
                del self.pending[db]
            try:
                await self._send(db, group)
            except BaseException as exc:  # cancelled at shutdown: nobody is left waiting
                for member in group + self.pending.pop(db, []):
                    if not member.future.done():
                        member.future.set_exception(CouchUnavailable(repr(exc)))
                raise

    async def _send(self, db: str, group: list[_Member]) -> None:
        couch = self.couch()
        try:
            if couch is None:
                raise CouchUnavailable("the CouchDB client was closed")
            failures = await _bulk_docs(couch, db, [doc for member in group for doc in member.docs])
        except CouchError as exc:
            if len(group) > 1 and 400 <= exc.status < 500:  # one member's body: each goes alone
                for member in group:
                    await self._send(db, [member])
                return
            for member in group:
                if not member.future.done():
                    member.future.set_exception(exc)
            return
        owner = {doc_id: n for n, member in enumerate(group) for doc_id, _ in member.docs}
        answers: list[list[JSON]] = [[] for _ in group]
        for failure in failures:
            n = owner.get(str(failure.get("id"))) if isinstance(failure, dict) else None
            for m in ([n] if n is not None else range(len(group))):  # unknown id: everyone's
                answers[m].append(failure)
        for member, answer in zip(group, answers, strict=True):
            if not member.future.done():
                member.future.set_result(answer)


def _take_group(waiting: list[_Member]) -> list[_Member]:
    """The first waiting writes that fit together (bytes, no id twice); removed from `waiting`."""
    group: list[_Member] = []
    ids: set[str] = set()
    size = 0
    for member in list(waiting):
        member_ids = {doc_id for doc_id, _ in member.docs}
        if group and (size + member.size > MAX_GROUP_BYTES or not ids.isdisjoint(member_ids)
                      or len(member_ids) < len(member.docs)):
            continue
        group.append(member)
        waiting.remove(member)
        ids |= member_ids
        size += member.size
        if len(member_ids) < len(member.docs):  # its own id twice: alone, as it came
            break
    return group


async def _bulk_docs(couch: Couch, db: str, docs: list[tuple[str, bytes]]) -> list[JSON]:
    """One `POST _bulk_docs` with `new_edits: false` (aiohttp: ADR 0102); CouchDB's failures."""
    body = b'{"new_edits":false,"docs":[' + b",".join(doc for _, doc in docs) + b"]}"
    raw = await couch.post_bytes(f"/{quote(db, safe='')}/_bulk_docs", body, headers=HEADERS, timeout=TIMEOUT)
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    return [row for row in parsed if isinstance(row, dict)] if isinstance(parsed, list) else []


_groups: weakref.WeakKeyDictionary[Couch, _Groups] = weakref.WeakKeyDictionary()


async def write_together(couch: Couch, db: str, docs: list[tuple[str, bytes]]) -> list[JSON]:
    """Store `docs` (`new_edits: false`) with whatever else is waiting for `db`; the refused ones'
    `{"id", "error", "reason"}`. Raises `CouchError` when the write as a whole failed."""
    if not docs:
        return []
    groups = _groups.get(couch)
    if groups is None:
        groups = _groups[couch] = _Groups(couch)
    return await groups.write(db, docs)
