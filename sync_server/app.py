"""The Starlette application (服务端应用): `create_app(settings) -> Starlette`.

The API is mounted from an explicit list of route parts, each a `routes(ctx: ServerContext)
-> list[BaseRoute]` function of its module, imported normally:

    ROUTE_PARTS = (health.routes, auth.routes, gateway.routes, citizen.routes, workers.api.routes,
                   county.callback.routes, metrics.routes, openapi.routes)

A missing or broken route module is an ImportError when the server starts, never a quietly
missing part of the API behind a healthy `/healthz`. `route_parts` replaces the list (a
part's tests mount only that part: `route_parts=(health.routes, auth_routes.routes)`);
`extra_routes` adds routes of no part (tests, the county simulator). Handlers reach the
shared state with `sync_server.context.context_of(request)` (settings, `couch`, signing key,
clock) and the caller with `sync_server.auth.current_user(request)` / `require_role(request, role…)`.

Every error answers `{"error", "reason"}` (sync_server.errors); responses are gzipped for
clients that accept it, except media that is already compressed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.routing import BaseRoute

from sync_server import citizen, health, metrics, openapi
from sync_server.auth import routes as auth_routes
from sync_server.auth.cache import AccountCache
from sync_server.auth.keys import load_signing_key
from sync_server.bodycap import BodyCap
from sync_server.context import ServerContext
from sync_server.counters import RequestCounting
from sync_server.county import callback as county_callback
from sync_server.errors import EXCEPTION_HANDLERS
from sync_server.gateway import routes as gateway_routes
from sync_server.settings import Settings
from sync_server.workers import api as workers_api

RoutePart = Callable[[ServerContext], list[BaseRoute]]
"""One part of the API: the routes of one module, built for the server's context."""

ROUTE_PARTS: tuple[RoutePart, ...] = (
    health.routes, auth_routes.routes, gateway_routes.routes, citizen.routes, workers_api.routes,
    county_callback.routes, metrics.routes, openapi.routes)

# Level 5 keeps most of level 9's savings on JSON at a fraction of the CPU.
GZIP_LEVEL = 5
# Multipart answers (the gateway's `_bulk_get` of scans, ADR 0135) are the scans' bytes, which gzip
# does not shrink: compressing them was a sixth of the server's CPU in a pull (ADR 0146).
GZIP_EXCLUDED = (*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/pdf", "application/octet-stream",
                 "multipart/related", "multipart/mixed")


def create_app(settings: Settings, *, couchdb_url: str | None = None,
               extra_routes: Sequence[BaseRoute] = (), ctx: ServerContext | None = None,
               route_parts: Sequence[RoutePart] = ROUTE_PARTS) -> Starlette:
    """Build the app. `couchdb_url` overrides `settings.couchdb_url` (the engine `up` started)."""
    url = couchdb_url or settings.couchdb_url
    if ctx is None:
        if not url:
            raise ValueError("create_app needs a CouchDB URL: set COUCHDB_URL or pass couchdb_url")
        ctx = ServerContext(settings=settings, couchdb_url=url, key=load_signing_key(settings.secrets_dir))
        ctx.accounts = AccountCache(lambda: server_ctx.couch)
    server_ctx = ctx

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await server_ctx.open()
        try:
            yield
        finally:
            await server_ctx.close()

    routes = [route for part in route_parts for route in part(server_ctx)]
    app = Starlette(routes=[*routes, *extra_routes],
                    # Outermost first: requests are counted with their status and wire bytes.
                    middleware=[Middleware(RequestCounting), Middleware(BodyCap),
                                Middleware(GZipMiddleware, minimum_size=500, compresslevel=GZIP_LEVEL,
                                           exclude_content_types=GZIP_EXCLUDED)],
                    exception_handlers=dict(EXCEPTION_HANDLERS), lifespan=lifespan)
    app.state.ctx = server_ctx
    return app


def app_from_env() -> Starlette:
    """App factory for `uvicorn --factory sync_server.app:app_from_env` (needs COUCHDB_URL).

    For deployments behind a load balancer: several such processes share nothing but CouchDB.
    """
    from sync_server.settings import settings_from_env

    return create_app(settings_from_env())
