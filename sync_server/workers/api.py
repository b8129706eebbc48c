"""Township staff API (乡镇审核与监察接口): conflict reviews and supervision figures.

    GET  /api/reviews?township=<9 digits>     open reviews of the township's villages, each
                                               candidate with who pushed it, from where, when
    POST /api/reviews/{case_id}                {"database": "ot-v-…", "fields": {path: chosen value}}
    GET  /api/supervision?township=<9 digits>  overdue / due-soon cases, handling time, ratings,
                                               and `cases`: every counted case, for drill-downs

Bearer-authenticated township staff, for their own townships only. A decision must choose,
for every field of the review, one of its candidate values; it is recorded on the case as
an edit by the server (version vector and HLC, so it beats every value it replaces), the
review is closed, `needs_review` cleared and a `review_decided` event written.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from ulid import ULID

from shared.documents import EventKind, new_event, village_of_db_or_none
from shared.edits import ABSENT, canonical
from shared.errors import DomainError
from shared.ids import parse_id, review_id
from shared.timestamps import iso_utc_at
from shared.workdays import china_date
from sync_server import jsonlimits
from sync_server.auth import AccountRole, User, require_role
from sync_server.calendar import default_calendar
from sync_server.casewriter import CaseBusy, CaseWriter
from sync_server.context import ServerContext, context_of
from sync_server.couch import JSON, Couch
from sync_server.errors import ApiError
from sync_server.provision import SERVER_DB, VILLAGE_PREFIX
from sync_server.responses import JSONResponse
from sync_server.workers.provenance import with_authors
from sync_server.workers.supervision import summarize

MAX_BODY = 64 * 1024  # a decision is a few field values
_TOWNSHIP = re.compile(r"^\d{9}$")


def routes(ctx: ServerContext) -> list[BaseRoute]:
    return [
        Route("/api/reviews", list_reviews, methods=["GET"]),
        Route("/api/reviews/{case_id}", decide_review, methods=["POST"]),
        Route("/api/supervision", supervision, methods=["GET"]),
    ]


async def _township_user(request: Request) -> tuple[User, str]:
    user = await require_role(request, AccountRole.TOWNSHIP_STAFF)
    township = request.query_params.get("township", "")
    if not _TOWNSHIP.match(township):
        raise ApiError(400, "需要 9 位乡镇代码 / township must be a 9-digit division code")
    if township not in user.divisions:
        raise ApiError(403, "不在您的辖区 / this township is outside your jurisdiction")
    return user, township


async def _village_dbs(couch: Couch, township: str) -> list[str]:
    return sorted(
        db
        for db in await couch.all_dbs()
        if db.startswith(VILLAGE_PREFIX + township) and village_of_db_or_none(db) is not None
    )


async def list_reviews(request: Request) -> Response:
    _, township = await _township_user(request)
    couch = context_of(request).couch
    reviews: list[JSON] = []
    for db in await _village_dbs(couch, township):
        rows = (
            await couch.get_json(
                f"/{db}/_all_docs", include_docs=True, startkey="review:", endkey="review:\ufff0"
            )
        )["rows"]
        for row in rows:
            doc = row.get("doc") or {}
            if doc.get("status") == "open":
                reviews.append(
                    {
                        "case_id": doc.get("case_id"),
                        "database": db,
                        "village": village_of_db_or_none(db),
                        "fields": doc.get("fields", {}),
                        "sources": await with_authors(couch, db, str(doc.get("case_id")),
                                                      doc.get("sources") or {}),
                        "created_at": doc.get("created_at"),
                    }
                )
    return JSONResponse({"township": township, "reviews": reviews})


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, "请求过大 / request body too large")
    try:
        body = jsonlimits.loads(raw or b"null")
    except ValueError:
        raise ApiError(400, "请求不是有效的 JSON / the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "请求应为 JSON 对象 / the body must be a JSON object")
    return body


async def decide_review(request: Request) -> Response:
    user = await require_role(request, AccountRole.TOWNSHIP_STAFF)
    ctx = context_of(request)
    case_id = request.path_params["case_id"]
    body = await _body(request)
    db, choices = body.get("database"), body.get("fields")
    if not isinstance(db, str) or village_of_db_or_none(db) is None or not isinstance(choices, dict):
        raise ApiError(400, "需要 database 和 fields / give `database` (ot-v-…) and `fields` {path: value}")
    if not user.may_write(db):
        raise ApiError(403, "不在您的辖区 / this village is outside your jurisdiction")
    try:
        case_ulid = parse_id(case_id).parts[0]
    except DomainError:
        raise ApiError(400, "办件编号无效 / not a case id") from None
    couch = ctx.couch
    review = await couch.get_doc(db, review_id(case_ulid))
    case = await couch.get_doc(db, case_id)
    if review is None or case is None:
        raise ApiError(404, "没有该办件的待审冲突 / no review for this case")
    if review.get("status") != "open":
        raise ApiError(409, "该冲突已处理 / this review was already decided")
    changes = _changes(review.get("fields") or {}, choices)
    now = ctx.clock()
    stamp = ctx.now_iso()
    # One try: the person decided on what they saw, so a case changed meanwhile is theirs to reload.
    writer = CaseWriter(couch, db, tries=1)
    try:
        await writer.edit(case_id, lambda _: {**changes, "needs_review": False},
                          now=datetime.fromtimestamp(now, UTC), case=case, stamp=True)
    except CaseBusy:
        raise ApiError(
            409, "办件刚被修改，请刷新后再决定 / the case just changed: reload and decide again"
        ) from None
    review.update(
        status="decided",
        decided_by=user.username,
        decided_at=stamp,
        decision={p: (None if v is ABSENT else v) for p, v in changes.items()},
    )
    event = new_event(
        case_id, ULID.from_timestamp(now), EventKind.REVIEW_DECIDED, by=user.username, role=user.role.value,
        device=user.device, device_time=stamp, server_time=stamp,
        data={
            "fields": {
                p: {
                    "chosen": review["decision"][p],
                    "rejected": [
                        v for v in review["fields"][p] if canonical(v) != canonical(review["decision"][p])
                    ],
                }
                for p in changes
            }
        },
    )
    await couch.bulk_docs(db, [review, dict(event)])
    return JSONResponse({"ok": True, "case_id": case_id, "decision": review["decision"]})


def _changes(fields: dict[str, list[Any]], choices: dict[str, Any]) -> dict[str, Any]:
    missing = sorted(set(fields) - set(choices))
    unknown = sorted(set(choices) - set(fields))
    if missing or unknown:
        raise ApiError(
            400,
            f"须对每个字段作出选择 / choose a value for exactly the review's fields "
            f"(missing: {', '.join(missing) or '-'}; unknown: {', '.join(unknown) or '-'})",
        )
    changes: dict[str, Any] = {}
    for path, value in choices.items():
        if all(canonical(value) != canonical(candidate) for candidate in fields[path]):
            raise ApiError(400, f"“{path}” 只能选候选值之一 / {path}: choose one of the candidate values")
        # null stands for "the field was removed on one side" (see shared.merge).
        changes[path] = ABSENT if value is None else value
    return changes


async def supervision(request: Request) -> Response:
    _, township = await _township_user(request)
    ctx = context_of(request)
    prefix = f"supervision:{VILLAGE_PREFIX}{township}"
    rows = (
        await ctx.couch.get_json(
            f"/{SERVER_DB}/_all_docs", include_docs=True, startkey=prefix, endkey=prefix + "\ufff0"
        )
    )["rows"]
    records = [row["doc"] for row in rows if row.get("doc")]
    calendar = getattr(request.app.state, "calendar", None) or default_calendar()
    summary = summarize(records, china_date(datetime.fromtimestamp(ctx.clock(), UTC)), calendar)
    return JSONResponse(
        {
            "township": township,
            **summary,
            "generated_at": iso_utc_at(ctx.clock()),
        }
    )
