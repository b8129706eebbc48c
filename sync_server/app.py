"""The Starlette application (服务端应用): `create_app(settings) -> Starlette`.

Routes come from modules, each exposing `routes(ctx: ServerContext) -> list[BaseRoute]`:

    ROUTE_MODULES = ("sync_server.health", "sync_server.auth.routes", "sync_server.gateway.routes",
                     "sync_server.citizen", "sync_server.workers.api", "sync_server.county.callback",
                     "sync_server.metrics", "sync_server.openapi")

A module of that list that does not exist (yet) is skipped, so another engineer mounts
routes by creating the module; a module that fails to import is logged as an error, listed
by `/healthz` under `broken_routes`, and skipped. `extra_routes` adds routes without a
module (tests, the county simulator); `route_modules` replaces the list (a part's tests
mount only that part). Handlers reach the shared state with
`sync_server.context.context_of(request)` (settings, `couch`, signing key, clock) and the
caller with `sync_server.auth.current_user(request)` / `require_role(request, role…)`.

Every error answers `{"error", "reason"}` (sync_server.errors); responses are gzipped for
clients that accept it, except media that is already compressed.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.routing import BaseRoute

from sync_server.auth.cache import AccountCache
from sync_server.auth.keys import load_signing_key
from sync_server.bodycap import BodyCap
from sync_server.context import ServerContext
from sync_server.counters import RequestCounting
from sync_server.errors import EXCEPTION_HANDLERS
from sync_server.settings import Settings

log = logging.getLogger(__name__)

ROUTE_MODULES = ("sync_server.health", "sync_server.auth.routes", "sync_server.gateway.routes",
                 "sync_server.citizen", "sync_server.workers.api", "sync_server.county.callback",
                 "sync_server.metrics", "sync_server.openapi")

# Level 5 keeps most of level 9's savings on JSON at a fraction of the CPU.
GZIP_LEVEL = 5
GZIP_EXCLUDED = (*DEFAULT_EXCLUDED_CONTENT_TYPES, "application/pdf", "application/octet-stream")


def collect_routes(ctx: ServerContext, modules: Sequence[str] = ROUTE_MODULES) -> list[BaseRoute]:
    collected: list[BaseRoute] = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                log.debug("route module %s not present", name)
                continue
            ctx.broken_routes.append(name)
            log.error("route module %s failed to import; its routes are missing", name, exc_info=exc)
            continue
        except Exception as exc:
            # One broken part must not take the gateway and login down with it; /healthz lists it.
            ctx.broken_routes.append(name)
            log.error("route module %s failed to import; its routes are missing", name, exc_info=exc)
            continue
        routes = getattr(module, "routes", None)
        if routes is None:
            log.debug("route module %s has no routes(ctx)", name)
            continue
        collected.extend(routes(ctx))
    return collected


def create_app(settings: Settings, *, couchdb_url: str | None = None,
               extra_routes: Sequence[BaseRoute] = (), ctx: ServerContext | None = None,
               route_modules: Sequence[str] = ROUTE_MODULES) -> Starlette:
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

    app = Starlette(routes=[*collect_routes(server_ctx, route_modules), *extra_routes],
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
