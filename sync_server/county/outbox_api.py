"""Outbox API for staff (推送队列接口): see the hand-offs and re-try dead letters.

    GET  /api/county/outbox?state=dead        entries in the caller's jurisdiction (default: dead)
    GET  /api/county/cases                    every hand-off in the jurisdiction, with its case
    POST /api/county/outbox/{case id}/retry   a dead (or cancelled) entry back into the queue

Township staff act on the villages of their townships, county operators on their county.
`/api/county/cases` feeds the county operator's home in the app (ADR 0129): each entry with
the case's status, tracking code and item as the village database holds them now, so the
screen can tell hand-offs still under way, dead letters, and county results still on their
way back to the village (`approved` / `result_ready`, not yet delivered).
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shared.documents import county_of
from sync_server.auth import AccountRole, User, require_role
from sync_server.citizen.summary import mask_name
from sync_server.context import context_of
from sync_server.couch import JSON, Couch, CouchError
from sync_server.county import outbox as ob
from sync_server.errors import ApiError
from sync_server.provision import village_of
from sync_server.responses import JSONResponse

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


CASE_FIELDS = ("status", "tracking_code", "item_code")
MAX_LISTED = 500  # entries per state; a county hands off a few hundred cases a month


async def list_cases(request: Request) -> Response:
    user = await require_role(request, *STAFF)
    couch = context_of(request).couch
    shown: list[dict[str, object]] = []
    for state in ob.OutboxState:
        entries = await ob.entries(couch, state, limit=MAX_LISTED)
        shown += [summary(e) for e in entries if may_handle(user, str(e.get("database")))]
    cases = await _cases(couch, shown)
    for entry in shown:
        case = cases.get((str(entry["database"]), str(entry["case_id"]))) or {}
        entry["case"] = {key: case.get(key) for key in CASE_FIELDS} | {
            "village": village_of(str(entry["database"])),
            "applicant": mask_name(str((case.get("applicant") or {}).get("name") or "")),
        }
    shown.sort(key=lambda e: str(e.get("updated_at") or ""), reverse=True)
    return JSONResponse({"entries": shown})


async def _cases(couch: Couch, entries: list[dict[str, object]]) -> dict[tuple[str, str], JSON]:
    """The current case documents of `entries`, one `_all_docs` request per village database."""
    by_db: dict[str, list[str]] = {}
    for entry in entries:
        by_db.setdefault(str(entry["database"]), []).append(str(entry["case_id"]))
    found: dict[tuple[str, str], JSON] = {}
    for db, ids in by_db.items():
        try:
            response = await couch.request("POST", f"/{db}/_all_docs", params={"include_docs": "true"},
                                           json_body={"keys": ids})
        except CouchError as exc:
            if exc.status == 404:  # the village database is gone: its entries show without a case
                continue
            raise
        for row in response.json().get("rows", []):
            if isinstance(row.get("doc"), dict):
                found[(db, str(row["id"]))] = row["doc"]
    return found


def outbox_routes() -> list[BaseRoute]:
    return [Route("/api/county/outbox", list_outbox, methods=["GET"]),
            Route("/api/county/cases", list_cases, methods=["GET"]),
            Route("/api/county/outbox/{case}/retry", retry_entry, methods=["POST"])]
