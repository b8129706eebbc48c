"""Change-feed transitions of the citizen side (群众端变更处理), for `sync_server.workers`.

    TrackingIndex    every case → its `track:<code>` entry in ot-server (`index.index_case`)
    DeliveryCheck    every `delivered` event an agent's device synced → the token verified
                     again on the server and its id claimed, so a replayed token is caught

Both follow `sync_server.workers.transition.Transition` (name, filter, apply) and are
idempotent: replaying a change writes nothing new. Register them in
`runner.default_transitions`.

A refused delivery is not undone (the event is immutable and the receiver signed on paper):
it is recorded as `delivery-refused:<event id>` in ot-server with the reason, for the
township's supervision to follow up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.delivery import TokenError, TokenUsed, verify_token
from shared.documents import EventKind
from sync_server.auth.keyring import KeyRing
from sync_server.citizen import index, records
from sync_server.couch import Couch
from sync_server.provision import SERVER_DB

log = logging.getLogger(__name__)


class TrackingIndex:
    """Keeps the tracking index up to date with every case change."""

    name = "tracking_index"

    def __init__(self, couch: Couch, server_db: str = SERVER_DB) -> None:
        self.couch = couch
        self.server_db = server_db

    def filter(self, change: Any) -> bool:
        return bool(change.doc.get("type") == "case" and not change.deleted)

    async def apply(self, change: Any) -> None:
        await index.index_case(self.couch, change.db, change.doc, server_db=self.server_db)


class DeliveryCheck:
    """Verifies the QR token of a delivery recorded on a device, and spends it."""

    name = "delivery_check"

    def __init__(self, couch: Couch, public_key: Ed25519PublicKey | KeyRing, server_db: str = SERVER_DB,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.couch = couch
        self.public_key = public_key
        self.server_db = server_db
        self.clock = clock

    def filter(self, change: Any) -> bool:
        doc = change.doc
        # The citizen's own confirmations were checked when they were made.
        return bool(doc.get("type") == "event" and doc.get("kind") == EventKind.DELIVERED
                    and not change.deleted and doc.get("role") != records.CITIZEN)

    async def apply(self, change: Any) -> None:
        event = change.doc
        try:
            await self.check(change.db, event)
        except TokenError as exc:
            log.warning("delivery event %s in %s refused: %s", event["_id"], change.db, exc.code)
            await records.claim(self.couch, self.server_db, f"delivery-refused:{event['_id']}", {
                "type": "delivery_refused", "db": change.db, "event_id": event["_id"],
                "case_id": event.get("case_id"), "error": exc.code, "reason": exc.reason,
                "at": records.iso(self.clock())})

    async def check(self, db: str, event: dict[str, Any]) -> None:
        data = event.get("data") or {}
        token = str(data.get("token") or "")
        # Expiry counts at the moment of delivery on the device, not when the village synced
        # days later; a device clock ahead of the server's is not believed.
        moment = min(_parse(event.get("device_time")) or self.clock(), self.clock())
        # With a key ring, slips signed before a key rotation still verify (sync_server.auth.keyring).
        key = (self.public_key.delivery_key(token, moment.timestamp()) if isinstance(self.public_key, KeyRing)
               else self.public_key)
        content = verify_token(token, key, now=moment, expected_case=str(event.get("case_id")))
        claim_id = f"delivery-token:{content.token_id}"
        body = {"type": "claim", "db": db, "case_id": content.case_id, "event_id": event["_id"],
                "at": records.iso(self.clock())}
        if not await records.claim(self.couch, self.server_db, claim_id, body):
            existing = await self.couch.get_doc(self.server_db, claim_id) or {}
            if existing.get("event_id") != event["_id"]:  # the same event replayed from the feed is fine
                raise TokenUsed()


def _parse(value: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
