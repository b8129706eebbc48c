"""The app factory mounts every part of the documented API and answers every error as JSON."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route

from sync_server import health
from sync_server.app import ROUTE_PARTS, create_app
from sync_server.auth.keys import load_signing_key
from sync_server.context import ServerContext
from sync_server.settings import settings_from_env


def make_ctx(tmp_path: Path) -> ServerContext:
    settings = settings_from_env({"ONETRIP_DATA": str(tmp_path), "COUCHDB_URL": "http://a:b@127.0.0.1:9"})
    return ServerContext(settings=settings, couchdb_url="http://a:b@127.0.0.1:9",
                         key=load_signing_key(tmp_path / "secrets"))


DOCS = Path(__file__).resolve().parents[3] / "docs"
# `(GET )/api/track/{code}/rating` in backquotes: a path of this server's public API.
DOCUMENTED = re.compile(r"`(?:(GET|POST|PUT|DELETE|HEAD) )?"
                        r"(/(?:api|t|sync|healthz|metrics)\b(?:\{[^}]*\}|<[^>]*>|[^`?…\s])*)")
# Documented beside ours but served by the county platform (and the demo's simulator), not by us.
NOT_OURS = {"/api/cases"}


def documented_paths() -> set[tuple[str, str]]:
    """(method or "", path with its parameters filled in) for every API path the docs name."""
    found: set[tuple[str, str]] = set()
    for page in DOCS.glob("*.md"):
        for method, path in DOCUMENTED.findall(page.read_text(encoding="utf-8")):
            if path not in NOT_OURS:
                found.add((method, re.sub(r"\{[^}]*\}|<[^>]*>", "x", path)))
    return found


def test_every_documented_api_path_is_mounted(tmp_path: Path) -> None:
    routes = create_app(make_ctx(tmp_path).settings, ctx=make_ctx(tmp_path)).router.routes
    paths = documented_paths()
    assert {("POST", "/api/auth/login"), ("GET", "/healthz"), ("POST", "/api/track/x/rating")} <= paths

    def mounted(method: str, path: str) -> bool:
        scope = {"type": "http", "path": path, "method": method or "GET"}
        matches = {route.matches(scope)[0] for route in routes}
        # A path named without a method (`/sync/{db}/…`, nginx's `/api/county/`) may be a prefix.
        return Match.FULL in matches or (not method and (
            Match.PARTIAL in matches or any(getattr(r, "path", "").startswith(path) for r in routes)))

    assert sorted(p for p in paths if not mounted(*p)) == []


def test_route_parts_mount_only_the_parts_given(tmp_path: Path) -> None:
    async def hello(request: Request) -> Response:
        return JSONResponse({"hello": True})

    def part(ctx: ServerContext) -> list[BaseRoute]:
        return [Route("/hello", hello)]

    app = create_app(make_ctx(tmp_path).settings, ctx=make_ctx(tmp_path), route_parts=(health.routes, part))
    assert [getattr(r, "path", None) for r in app.router.routes] == ["/healthz", "/hello"]
    assert ROUTE_PARTS[0] is health.routes and len(ROUTE_PARTS) == len(set(ROUTE_PARTS))


async def test_errors_are_json_without_traces(tmp_path: Path) -> None:
    async def boom(request: Request) -> Response:
        raise ValueError("secret internals")

    app = create_app(make_ctx(tmp_path).settings, ctx=make_ctx(tmp_path), route_parts=(),
                     extra_routes=[Route("/boom", boom)])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/nowhere")).json() == {"error": "not_found", "reason": "missing"}
        assert (await client.post("/boom")).json()["error"] == "method_not_allowed"
        crashed = await client.get("/boom")
        assert crashed.status_code == 500 and crashed.json()["error"] == "internal_error"
        assert "secret internals" not in crashed.text and "Traceback" not in crashed.text
