"""Validated writes (写入): `_bulk_docs` and `PUT /{db}/{doc}` (JSON or multipart/related).

A batch is split: refused documents get `{"id", "rev", "error": "forbidden", "reason"}`,
the others go to CouchDB in one `_bulk_docs`, and the answers are merged back in the order
the documents came. With `new_edits: false` CouchDB answers only failures, so the merged
list holds only failures too — what a replicator expects.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Sequence, Set
from contextlib import suppress
from dataclasses import replace
from typing import IO, Any
from urllib.parse import quote

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shared.catalog import item_doc_id
from shared.divisions import Level
from shared.ids import Kind
from sync_server.auth.accounts import User
from sync_server.citizen.index import canonical_code
from sync_server.context import ServerContext
from sync_server.couch import Couch, CouchError, doc_path, encoded, in_doc_order
from sync_server.errors import ApiError
from sync_server.gateway import multipart
from sync_server.gateway.answers import FormBook
from sync_server.gateway.audit import AcceptedWrite, AuditAhead, record_writes
from sync_server.gateway.bodies import MAX_REQUEST, SPOOL_IN_MEMORY, media_type, read_json, spool
from sync_server.gateway.grouped import write_together
from sync_server.gateway.journal import JournalError
from sync_server.gateway.lookups import IDENTITY, load_winners
from sync_server.gateway.proxy import couch_error, forward
from sync_server.gateway.separation import load_acceptance, may_decide
from sync_server.gateway.sniff import check_attachment
from sync_server.gateway.validation import JSON, Stored, check_document, kind_of, one_revision_each
from sync_server.provision import CATALOG_DB, SERVER_DB

log = logging.getLogger(__name__)

ANCESTORS_CHECKED = 10  # revisions back from a pushed case revision looked up for its status
JUDGED_PER_SLICE = 50  # documents judged between two yields to the event loop (~0.5 ms)


def forbidden(doc: Any, reason: str) -> JSON:
    entry: JSON = {"id": doc.get("_id") if isinstance(doc, dict) else None, "error": "forbidden",
                   "reason": reason}
    if isinstance(doc, dict) and isinstance(doc.get("_rev"), str):
        entry["rev"] = doc["_rev"]
    return entry


def _ancestor_revs(doc: JSON, new_edits: bool) -> list[str]:
    """Revisions the pushed revision descends from, nearest first."""
    if not new_edits and isinstance(doc.get("_revisions"), dict):
        start, ids = doc["_revisions"].get("start"), doc["_revisions"].get("ids")
        if isinstance(start, int) and isinstance(ids, list):
            return [f"{start - n}-{ids[n]}" for n in range(1, min(len(ids), ANCESTORS_CHECKED + 1))]
    if new_edits and isinstance(doc.get("_rev"), str):
        return [doc["_rev"]]
    return []


def _is_case(doc_id: str) -> bool:
    return kind_of(doc_id) is Kind.CASE


def doc_ids(docs: Sequence[Any]) -> list[str]:
    return [d["_id"] for d in docs if isinstance(d, dict) and isinstance(d.get("_id"), str)]


async def load_stored(couch: Couch, db: str, docs: Sequence[Any], new_edits: bool,
                      absent: Set[str] = frozenset()) -> dict[str, Stored]:
    """What the server holds for each document id of the batch (one or two requests).

    `absent`: ids known not to be on the server (`absence.py`), which are not read.
    """
    ids = [i for i in doc_ids(docs) if i not in absent]
    return await complete_stored(couch, db, docs, await load_winners(couch, db, ids), new_edits)


async def complete_stored(couch: Couch, db: str, docs: Sequence[Any], winners: dict[str, Stored],
                          new_edits: bool) -> dict[str, Stored]:
    """The winners with what judging also needs: held ancestors and conflicts, tracking owners,
    item levels."""
    stored = await add_ancestors(couch, db, docs, winners, new_edits)
    stored = await add_acceptance(couch, db, docs, stored)
    stored = await add_tracking_owners(couch, db, docs, stored)
    return await add_item_levels(couch, docs, stored)


def _conflict_revs(held: Stored) -> list[str]:
    revs = held.doc.get("_conflicts") if held.doc is not None else None
    return [r for r in revs if isinstance(r, str)] if isinstance(revs, list) else []


async def add_ancestors(couch: Couch, db: str, docs: Sequence[Any], stored: dict[str, Stored],
                        new_edits: bool) -> dict[str, Stored]:
    """`stored` with the nearest held ancestor of each pushed case revision and the winner's live
    conflicting leaves (one `_bulk_get`, if any)."""
    cases = [d for d in docs if isinstance(d, dict) and d.get("_id") in stored and _is_case(d["_id"])]
    wanted = sorted({(d["_id"], rev) for d in cases
                     for rev in [*_ancestor_revs(d, new_edits), *_conflict_revs(stored[d["_id"]])]})
    if not wanted:
        return stored
    results = await couch.post_json(f"/{quote(db, safe='')}/_bulk_get", headers=IDENTITY,
                                    body={"docs": [{"id": i, "rev": r} for i, r in wanted]})
    found = {(doc["ok"]["_id"], doc["ok"]["_rev"]): doc["ok"] for result in results["results"]
             for doc in result["docs"] if "ok" in doc}
    for doc in cases:
        held = stored[doc["_id"]]
        ancestor = next((found[(doc["_id"], rev)] for rev in _ancestor_revs(doc, new_edits)
                         if (doc["_id"], rev) in found), None)
        conflicts = tuple(leaf for rev in _conflict_revs(held)
                          if (leaf := found.get((doc["_id"], rev))) is not None and not leaf.get("_deleted"))
        stored[doc["_id"]] = replace(held, ancestor=ancestor, conflicts=conflicts)
    return stored


async def add_acceptance(couch: Couch, db: str, docs: Sequence[Any],
                         stored: dict[str, Stored]) -> dict[str, Stored]:
    """`stored` with the intake facts (受审分离) of each held case a pushed revision could decide."""
    cases: list[tuple[str, list[JSON]]] = []
    for doc in docs:
        held = _stored_for(stored, doc)
        if held.exists and _is_case(doc["_id"]) and may_decide(doc):
            cases.append((doc["_id"], [doc, *(s for s in (held.ancestor, *held.current) if s is not None)]))
    found = await load_acceptance(couch, db, cases)
    for doc_id, acceptance in found.items():
        stored[doc_id] = replace(stored[doc_id], acceptance=acceptance)
    return stored


async def add_tracking_owners(couch: Couch, db: str, docs: Sequence[Any],
                              stored: dict[str, Stored]) -> dict[str, Stored]:
    """`stored` with the tracking index's owner of each tracking code a case does not hold yet
    (one read of `ot-server`, shared with concurrent writes, only when a batch brings new codes:
    a case's first submission)."""
    codes: dict[str, str] = {}
    for doc in docs:
        if not isinstance(doc, dict) or not _is_case(str(doc.get("_id"))):
            continue
        held = stored.get(doc["_id"], Stored())
        code = canonical_code(str(doc.get("tracking_code") or ""))
        if code and not any(s.get("tracking_code") for s in (held.ancestor, *held.current) if s is not None):
            codes[doc["_id"]] = f"track:{code}"
    if not codes:
        return stored
    # Through the shared reader (ADR 0167): the concurrent writes of a push, and of many devices,
    # ask their new codes in one read instead of one each; never a read sent before they arrived.
    index = await load_winners(couch, SERVER_DB, codes.values())
    owners = {key: (str(held.doc.get("db")), str(held.doc.get("case_id")))
              for key, held in index.items() if held.doc is not None}
    for doc_id, key in codes.items():
        if key in owners:
            stored[doc_id] = replace(stored.get(doc_id, Stored()), tracking_owner=owners[key])
    return stored


async def add_item_levels(couch: Couch, docs: Sequence[Any], stored: dict[str, Stored]) -> dict[str, Stored]:
    """`stored` with the catalog's handling level of the stored item of each case whose status the
    batch changes (one read of `ot-catalog`, only then): the level rule of `shared.documents.reachable`."""
    codes: dict[str, str] = {}
    for doc in docs:
        if not isinstance(doc, dict) or not _is_case(str(doc.get("_id"))):
            continue
        held = stored.get(doc["_id"], Stored())
        before = held.ancestor if held.ancestor is not None else held.doc
        if before is not None and before.get("status") != doc.get("status") and before.get("item_code"):
            codes[doc["_id"]] = item_doc_id(str(before["item_code"]))
    if not codes:
        return stored
    answer = await couch.post_json(f"/{CATALOG_DB}/_all_docs", {"keys": sorted(set(codes.values()))},
                                   params={"include_docs": True}, headers=IDENTITY)
    levels = {row["id"]: row["doc"].get("level") for row in answer["rows"]
              if isinstance(row.get("doc"), dict)}
    for doc_id, key in codes.items():
        level = levels.get(key)
        if level in set(Level):  # a level the catalog misspells judges as an unknown item
            stored[doc_id] = replace(stored[doc_id], item_level=level)
    return stored


async def _judge(docs: Sequence[Any], user: User, village: str, new_edits: bool, now: float,
                 lookup: Awaitable[dict[str, Stored]], forms: FormBook) -> list[str | None]:
    """`check_document` of every document, while the stored state is being looked up.

    Every document is first judged as if the server held nothing (the common case of a push:
    new revisions of new documents), in slices that let the lookup's request go out meanwhile;
    the ones the server does hold are judged again with what it holds. `check_document` is a
    pure function, so the verdicts are exactly those of judging each against its stored state.
    """
    task = asyncio.ensure_future(lookup)
    try:
        verdicts: list[str | None] = []
        for start in range(0, len(docs), JUDGED_PER_SLICE):
            await asyncio.sleep(0)
            verdicts.extend(check_document(d, user.role, village, Stored(), new_edits=new_edits,
                                           user=user.username, now=now, forms=forms)
                            for d in docs[start:start + JUDGED_PER_SLICE])
        stored = await task
    finally:
        await _drop(task)
    for n, doc in enumerate(docs):
        held = _stored_for(stored, doc)
        if held.exists or held.tracking_owner is not None:
            verdicts[n] = check_document(doc, user.role, village, held, new_edits=new_edits,
                                         user=user.username, now=now, forms=forms)
    return one_revision_each(docs, verdicts)


async def _drop(task: asyncio.Future[Any]) -> None:
    """Cancel an early lookup nobody will use (a refused body) and collect its outcome."""
    if task.done():
        if not task.cancelled():
            task.exception()  # retrieved: an unused lookup's failure is not an unhandled error
        return
    task.cancel()
    with suppress(asyncio.CancelledError, Exception):
        await task


def _planned(docs: Sequence[JSON]) -> list[AcceptedWrite]:
    return [AcceptedWrite(d["_id"], str(d.get("_rev", "")), d.get("_deleted") is True) for d in docs]


async def _begin(ctx: ServerContext, user: User, db: str, planned: list[AcceptedWrite]) -> AuditAhead:
    """The audit record of writes about to be forwarded, on disk first: no record, no write."""
    ahead = AuditAhead(ctx.journal, user, db, planned, ctx.now_iso())
    try:
        await ahead.begin()
    except JournalError as exc:
        log.error("write to %s refused: %s", db, exc)
        raise ApiError(503, "审计日志暂时无法写入，请稍后再试 / the audit journal cannot be written: "
                       "retry later", error="service_unavailable") from None
    return ahead


def _settle_unwritten(ahead: AuditAhead, status: int) -> None:
    """The whole request failed with `status` (503 too when CouchDB could not be reached).

    A 4xx means nothing was written. Otherwise (unreachable, a 5xx mid-batch) the outcome is
    unknown: the record stays planned and the journal reconciles it from CouchDB's state later.
    """
    if 400 <= status < 500:
        ahead.settle([])


async def bulk_docs(ctx: ServerContext, request: Request, user: User, db: str, village: str) -> Response:
    body = await read_json(request, MAX_REQUEST)
    if not isinstance(body, dict) or not isinstance(body.get("docs"), list):
        raise ApiError(400, "需要 {\"docs\": [...]} / the body must be {\"docs\": [...]}")
    docs: list[Any] = body["docs"]
    new_edits = body.get("new_edits", True)
    if not isinstance(new_edits, bool):
        raise ApiError(400, "new_edits 必须是布尔值 / new_edits must be true or false")
    absent = ctx.absent.take(db, doc_ids(docs))
    forms = await ctx.forms.book(ctx.couch, docs)
    verdicts = await _judge(docs, user, village, new_edits, ctx.clock(),
                            load_stored(ctx.couch, db, docs, new_edits, absent), forms)
    valid = [d for d, reason in zip(docs, verdicts, strict=True) if reason is None]
    if valid and not new_edits:
        # Replication: the revisions are known, so the audit record is journaled before the batch.
        ahead = await _begin(ctx, user, db, _planned(valid))
        try:
            written = await write_together(ctx.couch, db, [(d["_id"], _encoded(d)) for d in valid])
        except CouchError as exc:
            _settle_unwritten(ahead, exc.status)
            raise
        answers, accepted = merge_answers(docs, verdicts, written, new_edits)
        ahead.settle(accepted)
    else:
        upstream = await _write_batch(ctx.couch, db, valid, new_edits) if valid else []
        answers, accepted = merge_answers(docs, verdicts, upstream, new_edits)
        await record_writes(ctx.journal, user, db, accepted, ctx.now_iso())
    ctx.counters.documents(len(accepted), sum(reason is not None for reason in verdicts))
    for doc, reason in zip(docs, verdicts, strict=True):
        if reason is not None:
            log.info("refused %s in %s for %s", doc.get("_id") if isinstance(doc, dict) else "?", db,
                     user.username)
    return JSONResponse(answers, status_code=201)


def _encoded(doc: JSON) -> bytes:
    """A judged document as CouchDB receives it (never the device's bytes: see `_write_batch`)."""
    return encoded(doc)


async def _write_batch(couch: Couch, db: str, docs: list[JSON], new_edits: bool) -> list[JSON]:
    """One `_bulk_docs` of the valid documents, serialized from what was judged.

    The device's bytes are never forwarded as they came: a JSON object with a repeated key reads
    differently in Python (last wins) and in other parsers, so CouchDB must receive exactly the
    documents that were checked (ADR 0047).
    """
    body: JSON = {"docs": docs} if new_edits else {"docs": docs, "new_edits": False}
    answer = await couch.request("POST", f"/{quote(db, safe='')}/_bulk_docs", json_body=body,
                                 headers=IDENTITY)
    result: list[JSON] = answer.json()
    return result


def _stored_for(stored: dict[str, Stored], doc: Any) -> Stored:
    doc_id = doc.get("_id") if isinstance(doc, dict) else None
    return stored.get(doc_id, Stored()) if isinstance(doc_id, str) else Stored()


def merge_answers(docs: Sequence[Any], verdicts: Sequence[str | None], upstream: Sequence[JSON],
                  new_edits: bool) -> tuple[list[JSON], list[AcceptedWrite]]:
    """The answer list in the order of `docs`, and the writes CouchDB accepted."""
    answers: list[JSON] = []
    accepted: list[AcceptedWrite] = []
    if new_edits:
        valid = [doc for doc, reason in zip(docs, verdicts, strict=True) if reason is None]
        results = iter(in_doc_order(valid, list(upstream)))  # pouchdb-server may answer out of order
        for doc, reason in zip(docs, verdicts, strict=True):
            if reason is not None:
                answers.append(forbidden(doc, reason))
                continue
            result = next(results)
            answers.append(result)
            if "error" not in result and "rev" in result:
                accepted.append(AcceptedWrite(doc["_id"], result["rev"], doc.get("_deleted") is True))
        return answers, accepted
    failures: dict[str, list[JSON]] = {}
    for result in upstream:
        failures.setdefault(str(result.get("id")), []).append(result)
    for doc, reason in zip(docs, verdicts, strict=True):
        if reason is not None:
            answers.append(forbidden(doc, reason))
        elif failures.get(doc["_id"]):
            answers.append(failures[doc["_id"]].pop(0))
        else:
            accepted.append(AcceptedWrite(doc["_id"], str(doc.get("_rev", "")), doc.get("_deleted") is True))
    return answers, accepted


async def put_document(ctx: ServerContext, request: Request, user: User, db: str, village: str,
                       doc_id: str) -> Response:
    # The id is in the URL: what the server holds is looked up while the body arrives
    # (unless the `_revs_diff` before it found the id absent).
    ids = [] if ctx.absent.take(db, [doc_id]) else [doc_id]
    winners = asyncio.ensure_future(load_winners(ctx.couch, db, ids))
    try:
        if media_type(request) == "multipart/related":
            return await _put_multipart(ctx, request, user, db, village, doc_id, winners)
        return await _put_json(ctx, request, user, db, village, doc_id, winners)
    finally:
        await _drop(winners)


async def _put_json(ctx: ServerContext, request: Request, user: User, db: str, village: str, doc_id: str,
                    winners: Awaitable[dict[str, Stored]]) -> Response:
    doc = await read_json(request, MAX_REQUEST)
    if not isinstance(doc, dict):
        raise ApiError(400, "需要 JSON 对象 / the body must be a JSON object")
    doc.setdefault("_id", doc_id)
    if doc["_id"] != doc_id:
        raise ApiError(400, "文档 _id 与路径不符 / the body's _id differs from the URL", error="bad_request")
    new_edits = request.query_params.get("new_edits", "true") != "false"
    stored = (await complete_stored(ctx.couch, db, [doc], await winners, new_edits)).get(doc_id, Stored())
    reason = check_document(doc, user.role, village, stored, new_edits=new_edits, user=user.username,
                            now=ctx.clock(), forms=await ctx.forms.book(ctx.couch, [doc]))
    if reason is not None:
        ctx.counters.documents(0, 1)
        raise ApiError(403, reason, error="forbidden")
    params = {"new_edits": "false"} if not new_edits else {}
    ahead = await _begin(ctx, user, db, _planned([doc]) if not new_edits else [])
    try:
        put = await ctx.couch.put_doc(db, doc, **params)
    except CouchError as exc:
        _settle_unwritten(ahead, exc.status)
        raise ApiError(exc.status, exc.reason, error=exc.error) from None
    # CouchDB answers {"ok", "id", "rev"}; pouchdb-server answers `PUT ?new_edits=false` with a list.
    result: JSON = put if isinstance(put, dict) else {"ok": True, "id": doc_id, "rev": doc.get("_rev")}
    ctx.counters.documents(1, 0)
    written = AcceptedWrite(doc_id, str(result.get("rev", doc.get("_rev"))), doc.get("_deleted") is True)
    if new_edits:
        await record_writes(ctx.journal, user, db, [written], ctx.now_iso())
    else:
        ahead.settle([written])
    return JSONResponse(result, status_code=201)


async def _put_multipart(ctx: ServerContext, request: Request, user: User, db: str, village: str,
                         doc_id: str, winners: Awaitable[dict[str, Stored]]) -> Response:
    content_type = request.headers["content-type"]
    file = await spool(request, MAX_REQUEST)
    # A body within the spool's memory part (a typical scan) is read in place: a thread hop
    # per read would cost more than the read itself. Larger bodies are on disk: read in a thread.
    in_memory = _size(file) <= SPOOL_IN_MEMORY
    try:
        try:
            boundary = multipart.boundary_of(content_type)
            doc, parts = (multipart.scan(file, boundary) if in_memory
                          else await to_thread.run_sync(multipart.scan, file, boundary))
        except multipart.MultipartError as exc:
            raise ApiError(400, f"multipart 格式错误 / {exc}", error="bad_request") from None
        if doc.get("_id", doc_id) != doc_id:
            raise ApiError(400, "文档 _id 与路径不符 / the body's _id differs from the URL")
        doc["_id"] = doc_id
        new_edits = request.query_params.get("new_edits", "true") != "false"
        stored = (await complete_stored(ctx.couch, db, [doc], await winners, new_edits)).get(doc_id, Stored())
        reason = (check_document(doc, user.role, village, stored, new_edits=new_edits, multipart=True,
                                 user=user.username, now=ctx.clock(),
                                 forms=await ctx.forms.book(ctx.couch, [doc]))
                  or _check_parts(doc, parts))
        if reason is not None:
            ctx.counters.documents(0, 1)
            raise ApiError(403, reason, error="forbidden")
        body = (multipart.inline(doc, parts, file) if in_memory
                else await to_thread.run_sync(multipart.inline, doc, parts, file))
        written = AcceptedWrite(doc_id, str(doc.get("_rev", "")))
        # With new_edits=false the revision is the one sent: its audit record goes first.
        ahead = await _begin(ctx, user, db, [written] if not new_edits else [])
    finally:
        file.close()
    # Stored as JSON with base64 attachments, not as the multipart body that came: Apache
    # CouchDB ingests it for half the CPU, and a cluster with a node down never answers a
    # multipart PUT (ADR 0108). The device's link still carried the scans binary.
    # With new_edits=false it goes with the other uploads waiting for this database (ADR 0147).
    if new_edits:
        response = await forward(ctx.couch, "PUT", doc_path(db, doc_id), content=body,
                                 headers=JSON_HEADERS, buffered=True)
    else:
        try:
            response = one_written(doc_id, str(doc.get("_rev", "")),
                                   await write_together(ctx.couch, db, [(doc_id, body)]))
        except CouchError as exc:
            response = couch_error(exc.status, exc.error, exc.reason)
    if response.status_code < 300:
        ctx.counters.documents(1, 0)
        if new_edits:
            await record_writes(ctx.journal, user, db, [written], ctx.now_iso())
        else:
            ahead.settle([written])
    else:  # `forward` answers 503 itself when CouchDB is unreachable: outcome unknown
        _settle_unwritten(ahead, response.status_code)
    return response


JSON_HEADERS = {"Content-Type": "application/json"}


def one_written(doc_id: str, rev: str, rows: Sequence[JSON]) -> Response:
    """A `_bulk_docs` answer for one document (`new_edits=false`), as a PUT would have answered:
    `[]` is `201 {"ok", "id", "rev"}`; a refused document is its `{"error", "reason"}`."""
    failed = [r for r in rows if "error" in r]
    if not failed:
        return JSONResponse({"ok": True, "id": doc_id, "rev": rev}, status_code=201)
    error = str(failed[0]["error"])
    status = {"conflict": 409, "forbidden": 403, "unauthorized": 401, "missing_stub": 412}.get(error, 400)
    return JSONResponse({"error": error, "reason": str(failed[0].get("reason", ""))}, status_code=status)


def _follows(doc: JSON) -> list[tuple[str, JSON]]:
    return [(name, att) for name, att in (doc.get("_attachments") or {}).items()
            if isinstance(att, dict) and att.get("follows") is True]


def _check_parts(doc: JSON, parts: Sequence[multipart.Part]) -> str | None:
    follows = _follows(doc)
    if len(follows) != len(parts):
        return (f"附件数量与 multipart 部分不符 / {len(follows)} attachments marked follows, "
                f"{len(parts)} parts sent")
    for (name, att), part in zip(follows, parts, strict=True):
        if isinstance(att.get("length"), int) and att["length"] != part.length:
            return f"附件 {name} 长度不符 / attachment {name} length differs from its part"
        reason = check_attachment(name, str(att.get("content_type", "")), part.head, part.length)
        if reason:
            return reason
    return None


def _size(file: IO[bytes]) -> int:
    size = file.seek(0, os.SEEK_END)
    file.seek(0)
    return size
