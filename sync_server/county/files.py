"""Material files for the county (材料文件下载): `GET /api/county/files/{db}/{doc}/{name}`.

Serves one attachment of a case or material document in a village database to whoever
holds a valid signed link from a hand-off record (`file_link.py`); anything else is 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sync_server.context import context_of
from sync_server.couch import doc_path
from sync_server.county.file_link import FILES_PATH, link_valid
from sync_server.errors import ApiError
from sync_server.provision import village_of
from sync_server.served import file_headers


def file_endpoint(secret: bytes) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        ctx = context_of(request)
        db, doc_id, name = (request.path_params[k] for k in ("db", "doc", "name"))
        params = request.query_params
        if village_of(db) is None or not doc_id.startswith(("case:", "material:")) or not link_valid(
                secret, db, doc_id, name, params.get("expires"), params.get("sig"), int(ctx.clock())):
            raise ApiError(403, "link invalid or expired 链接无效或已过期")
        response = await ctx.couch.request("GET", f"{doc_path(db, doc_id)}/{quote(name, safe='')}")
        return Response(response.content, headers={**file_headers(name, response.headers.get("content-type")),
                                                   "Cache-Control": "private, max-age=3600"})

    return serve


def file_routes(secret: bytes) -> list[BaseRoute]:
    return [Route(FILES_PATH + "/{db}/{doc}/{name}", file_endpoint(secret), methods=["GET"])]

