"""Citizens (群众端): the tracking page, ratings and the QR delivery confirmation.

Mounted by `sync_server.app` through `routes(ctx)`. The change workers call
`index_case(couch, db, case_doc)` for every case they see, so look-ups find the case;
`backfill(couch)` catches the index up from the village databases' `_changes` and also
runs on a look-up miss (at most every `CitizenService.backfill_interval` seconds), so the
page works before, or without, the workers.

Delivery tokens are signed with the server's one Ed25519 key (`sync_server.auth.keys`,
`$ONETRIP_DATA/secrets/ed25519-signing-key.pem`), the key `/api/public-key` publishes;
the token signature has its own domain prefix, so it never doubles as a JWT signature.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.routing import BaseRoute

from sync_server.citizen.index import backfill, index_case
from sync_server.citizen.routes import citizen_routes
from sync_server.citizen.service import CitizenService
from sync_server.context import ServerContext

__all__ = ["CitizenService", "backfill", "citizen_routes", "index_case", "routes"]


async def staff_may_issue(request: Request) -> Callable[[str], bool] | None:
    """Township staff and village agents, for the villages they serve (401/403 otherwise)."""
    from sync_server.auth import AccountRole, require_role

    user = await require_role(request, AccountRole.TOWNSHIP_STAFF, AccountRole.VILLAGE_AGENT)
    return user.may_write


def routes(ctx: ServerContext) -> list[BaseRoute]:
    service = CitizenService(
        couch_of=lambda: ctx.couch,
        signing_key=ctx.key.private,
        keys=ctx.ring,
        public_url=ctx.settings.public_url,
        clock=lambda: datetime.fromtimestamp(ctx.clock(), UTC),
    )
    return citizen_routes(service, authorize_issue=staff_may_issue)
