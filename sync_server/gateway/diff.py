"""`_revs_diff` (版本比对) answered from one look-up of the batch's ids.

A replicator pushing a batch first asks which of its revisions the server lacks. The gateway
asks CouchDB which of the ids it holds at all (`_all_docs` with the keys, shared with the
writes' reads: `lookups.load_winners`):

- an id the server does not hold lacks every revision asked about — answered here, and
  remembered as absent for the write that follows (`absence.py`), which then needs no read;
- the ids the server holds go on to CouchDB's own `_revs_diff`, whose answers (with
  `possible_ancestors` where CouchDB gives them) are passed back unchanged.

A push of new documents — what devices mostly send — costs CouchDB one look-up per batch
instead of a `_revs_diff` plus a read at every write (ADR 0048).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sync_server.context import ServerContext
from sync_server.errors import ApiError
from sync_server.gateway.bodies import read_json
from sync_server.gateway.lookups import IDENTITY, load_winners
from sync_server.provision import village_of


def _shape_ok(body: Any) -> bool:
    return isinstance(body, dict) and all(
        isinstance(revs, list) and all(isinstance(rev, str) for rev in revs) for revs in body.values())


async def revs_diff(ctx: ServerContext, request: Request, db: str, max_body: int) -> Response:
    body = await read_json(request, max_body)
    path = f"/{quote(db, safe='')}/_revs_diff"
    if not _shape_ok(body):  # pouchdb-server answers some of these with 200 and nonsense
        raise ApiError(400, "_revs_diff 需要 {文档标识: [版本, …]} / the body must be {doc_id: [rev, …]}",
                       error="bad_request")
    ids = [doc_id for doc_id in body if not doc_id.startswith("_")]
    held = await load_winners(ctx.couch, db, ids)  # deleted documents count as held
    absent = [doc_id for doc_id in ids if doc_id not in held]
    answer: dict[str, Any] = {doc_id: {"missing": list(dict.fromkeys(body[doc_id]))}
                              for doc_id in absent if body[doc_id]}
    asked = {doc_id: revs for doc_id, revs in body.items() if doc_id not in answer and revs}
    if asked:  # CouchError (CouchDB's own status and body) is answered by the app's handler
        answer.update(await ctx.couch.post_json(path, asked, headers=IDENTITY))
    if village_of(db) is not None:  # only village databases take writes
        ctx.absent.learn(db, absent)
    return JSONResponse(answer)
