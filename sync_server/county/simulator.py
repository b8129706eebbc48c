"""County platform simulator (县级平台模拟器): a small separate Starlette app for demos and tests.

It plays the county government service platform: takes hand-offs, answers with its own case
number (办件编号 `330212-2026-000001`), and sends decisions back to the server's callback,
signed with the shared secret — after `decide_after` seconds (approved, then result ready),
or on command. It can be told to fail, to be slow or to be down.

    POST /api/cases              a hand-off record (Idempotency-Key header required)
                                 → 201 {"county_ref", "received_at"}; same key → 200, same answer
    GET  /sim/cases              what it received: [{"county_ref", "case_id", "decisions"}]
    POST /sim/decide/{ref}       {"kind": "approved"|"rejected"|"result_ready", "opinion"?}
                                 → sends that callback now; answers {"callback_status", "callback"}
    POST /sim/fail               {"next": 3, "status": 500}: the next 3 hand-offs answer 500
    POST /sim/slow               {"seconds": 2.5}: every hand-off answer waits this long
    POST /sim/down               {"down": true}: every hand-off answers 503 until set false

State is in memory (a restart forgets the cases); it is a simulator, not a platform.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.timestamps import iso_utc
from sync_server import jsonlimits
from sync_server.county.record import record_problems
from sync_server.county.signature import signed_headers
from sync_server.responses import JSONResponse

log = logging.getLogger(__name__)

HANDOFF_PATH = "/api/cases"
DECISIONS = ("approved", "rejected", "result_ready")
OPINIONS = {"approved": "符合条件，准予批准", "rejected": "不符合条件，不予批准",
            "result_ready": "办理结果已出，请送达"}


@dataclass
class SimulatedCase:
    county_ref: str
    case_id: str
    key: str
    received_at: str
    record: dict[str, Any]
    decisions: list[str] = field(default_factory=list)


@dataclass
class Simulator:
    """The simulator's configuration and memory; `app.state.sim` of its app."""

    callback_url: str
    secret: bytes
    decide_after: float | None = None  # seconds before each automatic decision; None → only on command
    auto_outcome: str = "approved"  # or "rejected"
    transport: httpx.AsyncBaseTransport | None = None  # tests send callbacks in-process
    cases: dict[str, SimulatedCase] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    fail_next: int = 0
    fail_status: int = 500
    delay: float = 0.0
    down: bool = False
    requests: int = 0  # hand-off requests received, failed ones included
    callbacks: list[tuple[str, int]] = field(default_factory=list)  # (event id, status) sent
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _sequence: int = 0

    def next_ref(self, county: str, now: datetime) -> str:
        self._sequence += 1
        return f"{county or '000000'}-{now.year}-{self._sequence:06d}"

    async def send_decision(self, ref: str, kind: str, opinion: str = "") -> tuple[int, dict[str, Any]]:
        """Sign and POST one decision about county case `ref`; returns the server's status and body."""
        case = self.cases[ref]
        now = datetime.now(UTC)
        body = {"case_id": case.case_id, "county_ref": ref, "event_id": f"{ref}:{kind}:{len(case.decisions)}",
                "kind": kind, "time": iso_utc(now), "handler": "县审批科 模拟审批员",
                "office": "县政务服务中心（模拟）", "opinion": opinion or OPINIONS.get(kind, "")}
        raw = json.dumps(body, ensure_ascii=False).encode()
        async with httpx.AsyncClient(transport=self.transport, timeout=30.0) as client:
            response = await client.post(self.callback_url, content=raw,
                                         headers=signed_headers(self.secret, int(now.timestamp()), raw))
        self.callbacks.append((body["event_id"], response.status_code))
        if response.status_code == 200:
            case.decisions.append(kind)
        log.info("simulator sent %s for %s: HTTP %d", kind, ref, response.status_code)
        try:
            answer: dict[str, Any] = response.json()
        except ValueError:
            answer = {}
        return response.status_code, answer

    def schedule(self, ref: str) -> None:
        if self.decide_after is None:
            return
        task = asyncio.get_running_loop().create_task(self._decide_later(ref))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _decide_later(self, ref: str) -> None:
        assert self.decide_after is not None
        kinds = ("approved", "result_ready") if self.auto_outcome == "approved" else ("rejected",)
        for kind in kinds:
            await asyncio.sleep(self.decide_after)
            try:
                status, _ = await self.send_decision(ref, kind)
            except httpx.HTTPError as exc:
                log.warning("simulator callback for %s failed: %s", ref, type(exc).__name__)
                return
            if status != 200:
                return

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _error(status: int, error: str, reason: str) -> JSONResponse:
    return JSONResponse({"error": error, "reason": reason}, status_code=status)


async def _json(request: Request) -> Any:
    try:
        return jsonlimits.loads(await request.body() or b"{}")
    except ValueError:
        return None


async def handoff(request: Request) -> Response:
    sim: Simulator = request.app.state.sim
    sim.requests += 1
    if sim.delay:
        await asyncio.sleep(sim.delay)
    if sim.down:
        return _error(503, "service_unavailable", "county platform is down (simulated)")
    if sim.fail_next > 0:
        sim.fail_next -= 1
        return _error(sim.fail_status, "simulated_failure", "injected failure")
    key = request.headers.get("idempotency-key", "")
    if not key:
        return _error(400, "bad_request", "Idempotency-Key header is required")
    if key in sim.by_key:
        known = sim.cases[sim.by_key[key]]
        return JSONResponse({"county_ref": known.county_ref, "received_at": known.received_at,
                             "replayed": True})
    record = await _json(request)
    problems = record_problems(record)
    if problems:
        return _error(422, "invalid_record", "; ".join(problems))
    now = datetime.now(UTC)
    ref = sim.next_ref(str((record.get("division") or {}).get("county", "")), now)
    sim.cases[ref] = SimulatedCase(ref, str(record["case_id"]), key, iso_utc(now), record)
    sim.by_key[key] = ref
    sim.schedule(ref)
    return JSONResponse({"county_ref": ref, "received_at": iso_utc(now)}, status_code=201)


async def list_cases(request: Request) -> Response:
    sim: Simulator = request.app.state.sim
    cases = [{"county_ref": c.county_ref, "case_id": c.case_id, "received_at": c.received_at,
              "decisions": c.decisions} for c in sim.cases.values()]
    return JSONResponse({"cases": cases, "requests": sim.requests})


async def decide(request: Request) -> Response:
    sim: Simulator = request.app.state.sim
    ref = request.path_params["ref"]
    body = await _json(request)
    kind = body.get("kind", "approved") if isinstance(body, dict) else None
    if ref not in sim.cases:
        return _error(404, "not_found", f"no county case {ref}")
    if kind not in DECISIONS:
        return _error(400, "bad_request", f"kind must be one of {', '.join(DECISIONS)}")
    try:
        status, answer = await sim.send_decision(ref, kind, str(body.get("opinion", "")))
    except httpx.HTTPError as exc:
        return _error(502, "callback_failed", f"callback not delivered: {type(exc).__name__}")
    return JSONResponse({"callback_status": status, "callback": answer})


async def control(request: Request) -> Response:
    sim: Simulator = request.app.state.sim
    body = await _json(request)
    if not isinstance(body, dict):
        return _error(400, "bad_request", "body must be a JSON object")
    what = request.path_params["what"]
    try:
        if what == "fail":
            sim.fail_next, sim.fail_status = int(body.get("next", 1)), int(body.get("status", 500))
        elif what == "slow":
            sim.delay = float(body.get("seconds", 0))
        elif what == "down":
            sim.down = bool(body.get("down", True))
        else:
            return _error(404, "not_found", "unknown control")
    except (TypeError, ValueError):
        return _error(400, "bad_request", "bad value")
    return JSONResponse({"fail_next": sim.fail_next, "fail_status": sim.fail_status, "delay": sim.delay,
                         "down": sim.down})


def create_simulator_app(callback_url: str, secret: bytes, *, decide_after: float | None = None,
                         auto_outcome: str = "approved",
                         transport: httpx.AsyncBaseTransport | None = None) -> Starlette:
    """The simulator app; its `Simulator` is `app.state.sim` (tests set failures on it directly)."""
    sim = Simulator(callback_url=callback_url, secret=secret, decide_after=decide_after,
                    auto_outcome=auto_outcome, transport=transport)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await sim.aclose()

    app = Starlette(routes=[
        Route(HANDOFF_PATH, handoff, methods=["POST"]),
        Route("/sim/cases", list_cases, methods=["GET"]),
        Route("/sim/decide/{ref}", decide, methods=["POST"]),
        Route("/sim/{what}", control, methods=["POST"]),
        Route("/healthz", lambda request: JSONResponse({"ok": True, "simulator": True}), methods=["GET"]),
    ], lifespan=lifespan)
    app.state.sim = sim
    return app
