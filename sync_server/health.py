"""`GET /healthz` (健康检查): answers 200 only when CouchDB answers too."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sync_server.context import ServerContext, context_of
from sync_server.couch import CouchError
from sync_server.responses import JSONResponse

CHECK_TIMEOUT = 3.0  # seconds: a load balancer's probe must get an answer before its own timeout


async def healthz(request: Request) -> Response:
    ctx = context_of(request)
    try:
        welcome = (await ctx.couch.request("GET", "/", timeout=CHECK_TIMEOUT)).json()
    except CouchError as exc:
        return JSONResponse({"ok": False, "couchdb": "down", "reason": exc.reason}, status_code=503)
    vendor = welcome.get("vendor", {}).get("name") or ("pouchdb-server" if "express-pouchdb" in welcome
                                                        else "couchdb")
    body = {"ok": True, "couchdb": "up", "engine": vendor, "engine_version": str(welcome.get("version", ""))}
    return JSONResponse(body)


def routes(ctx: ServerContext) -> list[BaseRoute]:
    return [Route("/healthz", healthz, methods=["GET"])]
