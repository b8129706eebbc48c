"""Outbox API for staff (推送队列接口): see the hand-offs and re-try dead letters.

    GET  /api/county/outbox?state=dead        entries in the caller's jurisdiction (default: dead)
    POST /api/county/outbox/{case id}/retry   a dead (or cancelled) entry back into the queue

Township staff act on the villages of their townships, county operators on their county.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shared.documents import county_of
from sync_server.auth import AccountRole, User, require_role
from sync_server.context import context_of
from sync_server.county import outbox as ob
from sync_server.errors import ApiError
from sync_server.provision import village_of

STAFF = (AccountRole.TOWNSHIP_STAFF, AccountRole.COUNTY_OPERATOR)
SHOWN = ("case_id", "database", "state", "attempts", "next_attempt_at", "last_error", "county_ref",
         "created_at", "updated_at", "sent_at", "acked_at", "history")


def may_handle(user: User, database: str) -> bool:
    """True when `database` is a village inside the user's jurisdiction."""
    village = village_of(database)
    if village is None:
        return False
    if user.role is AccountRole.COUNTY_OPERATOR:
        return county_of(village) in user.divisions
    return user.may_write(database)


def summary(entry: dict[str, object]) -> dict[str, object]:
    return {key: entry.get(key) for key in SHOWN}


async def list_outbox(request: Request) -> Response:
    user = await require_role(request, *STAFF)
    try:
        state = ob.OutboxState(request.query_params.get("state", ob.OutboxState.DEAD.value))
    except ValueError:
        raise ApiError(400, "state must be one of pending, sent, acked, dead, cancelled "
                            "状态须为 pending/sent/acked/dead/cancelled") from None
    entries = await ob.entries(context_of(request).couch, state, limit=500)
    shown = [summary(e) for e in entries if may_handle(user, str(e.get("database")))]
    return JSONResponse({"entries": shown})


async def retry_entry(request: Request) -> Response:
    user = await require_role(request, *STAFF)
    ctx = context_of(request)
    case_id = request.path_params["case"]
    case_id = case_id if case_id.startswith("case:") else f"case:{case_id}"
    entry = await ob.get_entry(ctx.couch, case_id)
    if entry is None or not may_handle(user, str(entry.get("database"))):
        raise ApiError(404, "no outbox entry for this case 此办件无推送记录")
    if entry["state"] not in (ob.OutboxState.DEAD, ob.OutboxState.CANCELLED):
        raise ApiError(409, f"entry is {entry['state']}, only dead or cancelled entries are retried "
                            f"仅可重试失败或已取消的推送")
    try:
        entry = await ob.retry(ctx.couch, case_id, datetime.fromtimestamp(ctx.clock(), UTC))
    except ob.OutboxNotFound:
        raise ApiError(404, "no outbox entry for this case 此办件无推送记录") from None
    return JSONResponse(summary(entry))


def outbox_routes() -> list[BaseRoute]:
    return [Route("/api/county/outbox", list_outbox, methods=["GET"]),
            Route("/api/county/outbox/{case}/retry", retry_entry, methods=["POST"])]
