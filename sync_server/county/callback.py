"""County callback (县级回调): `POST /api/county/callback`, and the county routes of the server.

The county platform reports its acknowledgement and decisions here, signed with the shared
secret (`signature.py`). Body (JSON):

    {"case_id": "case:01J…", "county_ref": "330212-2026-000001", "event_id": "<unique per statement>",
     "kind": "ack" | "approved" | "rejected" | "result_ready", "time": "2026-11-24T08:00:00Z",
     "handler": "王科长", "office": "县民政局", "opinion": "符合条件，准予批准"}

Answers: 200 `{"ok": true, "case_id", "status", "event_written"}`; 401 bad, stale or replayed
signature; 400 malformed body; 404 unknown case; 409 a decision the status machine refuses.
A replay is an exact re-send of a signed request seen before (`replay.py`). A county that
retries after a failure signs again with a new timestamp, which is not a replay; the event
id makes it harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sync_server import jsonlimits
from sync_server.context import ServerContext, context_of
from sync_server.couch import Couch, CouchError
from sync_server.county import CallbackRefused, outbox_api
from sync_server.county import outbox as ob
from sync_server.county.files import file_routes
from sync_server.county.outcome import Outcome, OutcomeKind, apply_outcome
from sync_server.county.replay import remember_signature
from sync_server.county.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, check, load_secret
from sync_server.errors import ApiError
from sync_server.responses import JSONResponse

log = logging.getLogger(__name__)

CALLBACK_PATH = "/api/county/callback"
KINDS = {"ack": OutcomeKind.ACK, "approved": OutcomeKind.APPROVED, "rejected": OutcomeKind.REJECTED,
         "result_ready": OutcomeKind.RESULT_READY}
# A callback is a few hundred bytes; anything near this is not from the county platform.
MAX_BODY = 64 * 1024


def parse_outcome(body: bytes) -> Outcome:
    """The outcome a callback body states; `CallbackRefused` 400 when it is malformed."""
    try:
        data: Any = jsonlimits.loads(body)
    except ValueError:
        raise CallbackRefused(400, "bad_request", "body is not JSON 请求体不是 JSON") from None
    if not isinstance(data, dict):
        raise CallbackRefused(400, "bad_request", "body must be a JSON object 请求体必须是对象")
    missing = [k for k in ("case_id", "county_ref", "event_id", "kind", "time") if not data.get(k)]
    if missing:
        raise CallbackRefused(400, "bad_request", f"missing fields 缺少字段: {', '.join(missing)}")
    kind = KINDS.get(str(data["kind"]))
    if kind is None:
        raise CallbackRefused(400, "bad_request", f"unknown kind 未知类型: {data['kind']!s:.40}")
    try:
        time = datetime.fromisoformat(str(data["time"]).replace("Z", "+00:00"))
    except ValueError:
        raise CallbackRefused(400, "bad_request", "time is not ISO-8601 时间格式错误") from None
    if time.tzinfo is None:
        time = time.replace(tzinfo=UTC)
    return Outcome(kind=kind, case_id=str(data["case_id"]), county_ref=str(data["county_ref"]),
                   county_event_id=str(data["event_id"]), time=time, handler=str(data.get("handler", "")),
                   office=str(data.get("office", "")), opinion=str(data.get("opinion", "")))


async def receive(couch: Couch, secret: bytes, body: bytes, headers: dict[str, str],
                  now: datetime) -> JSONResponse:
    """Check, de-duplicate and apply one callback; `CallbackRefused` for every refusal."""
    signature = headers.get(SIGNATURE_HEADER.lower())
    verdict = check(secret, body, headers.get(TIMESTAMP_HEADER.lower()), signature, int(now.timestamp()))
    if not verdict.ok:
        raise CallbackRefused(401, "unauthorized", verdict.reason)
    outcome = parse_outcome(body)
    if not await remember_signature(couch, signature or "", now):
        raise CallbackRefused(401, "unauthorized", "replayed request 重放的请求")
    entry = await ob.get_entry(couch, outcome.case_id)
    if entry is None:
        raise CallbackRefused(404, "not_found", f"never handed off 未推送的办件: {outcome.case_id:.60}")
    applied = await apply_outcome(couch, entry["database"], outcome, now)
    if entry["state"] in (ob.OutboxState.PENDING, ob.OutboxState.SENT) or not entry.get("county_ref"):
        await _mark_acked(couch, outcome, now)
    log.info("county callback %s for %s", outcome.kind, outcome.case_id)
    return JSONResponse({"ok": True, "case_id": outcome.case_id, "status": applied.status,
                         "event_written": applied.event_written})


async def _mark_acked(couch: Couch, outcome: Outcome, now: datetime) -> None:
    for _ in range(3):  # the worker may be saving the same entry
        entry = await ob.get_entry(couch, outcome.case_id)
        if entry is None:
            return
        entry.update(state=ob.OutboxState.ACKED.value, county_ref=outcome.county_ref,
                     acked_at=entry.get("acked_at") or ob.iso(now), last_error=None)
        try:
            await ob.save(couch, entry, now)
            return
        except CouchError as exc:
            if exc.status != 409:
                raise


def callback_endpoint(secret: bytes) -> Callable[[Request], Awaitable[Response]]:
    """The handler of `POST /api/county/callback` checking signatures with `secret`."""

    async def callback(request: Request) -> Response:
        ctx = context_of(request)
        body = await request.body()
        if len(body) > MAX_BODY:
            raise ApiError(413, "callback body too large 回调内容过大")
        now = datetime.fromtimestamp(ctx.clock(), UTC)
        try:
            return await receive(ctx.couch, secret, body, dict(request.headers), now)
        except CallbackRefused as exc:
            log.info("county callback refused: %s %s", exc.status, exc.error)
            raise ApiError(exc.status, exc.reason, exc.error) from None

    return callback


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """The county routes, mounted by `sync_server.app` (generates the shared secret on first use)."""
    secret = load_secret(ctx.settings.secrets_dir)
    return [Route(CALLBACK_PATH, callback_endpoint(secret), methods=["POST"]),
            *outbox_api.outbox_routes(), *file_routes(secret)]
