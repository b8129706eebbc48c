"""The app factory mounts route modules by presence and answers every error as JSON."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sync_server.app import collect_routes, create_app
from sync_server.auth.keys import load_signing_key
from sync_server.context import ServerContext
from sync_server.settings import settings_from_env


def make_ctx(tmp_path: Path) -> ServerContext:
    settings = settings_from_env({"ONETRIP_DATA": str(tmp_path), "COUCHDB_URL": "http://a:b@127.0.0.1:9"})
    return ServerContext(settings=settings, couchdb_url="http://a:b@127.0.0.1:9",
                         key=load_signing_key(tmp_path / "secrets"))


def test_modules_are_mounted_when_present_and_broken_ones_are_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def hello(request: Request) -> Response:
        return JSONResponse({"hello": True})

    good = types.ModuleType("onetrip_test_good")
    good.routes = lambda ctx: [Route("/hello", hello)]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "onetrip_test_good", good)
    broken_path = tmp_path / "onetrip_test_broken.py"
    broken_path.write_text("raise RuntimeError('half-written')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ctx = make_ctx(tmp_path)
    routes: list[BaseRoute] = collect_routes(ctx, ["onetrip_test_good", "onetrip_test_missing",
                                                   "onetrip_test_broken"])
    assert [getattr(r, "path", None) for r in routes] == ["/hello"]
    assert ctx.broken_routes == ["onetrip_test_broken"]


async def test_errors_are_json_without_traces(tmp_path: Path) -> None:
    async def boom(request: Request) -> Response:
        raise ValueError("secret internals")

    app = create_app(make_ctx(tmp_path).settings, ctx=make_ctx(tmp_path), route_modules=(),
                     extra_routes=[Route("/boom", boom)])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/nowhere")).json() == {"error": "not_found", "reason": "missing"}
        assert (await client.post("/boom")).json()["error"] == "method_not_allowed"
        crashed = await client.get("/boom")
        assert crashed.status_code == 500 and crashed.json()["error"] == "internal_error"
        assert "secret internals" not in crashed.text and "Traceback" not in crashed.text
