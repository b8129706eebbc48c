"""Factories and comparisons shared by the replication tests; the app signed in to a test server."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from mobile.config import load_config
from mobile.replication import LocalDB, Unreachable
from mobile.replication.endpoint import JSON
from mobile.store import LocalStore
from mobile.viewmodels.context import AppContext
from shared.ids import new_tracking_code
from sync_server import citizen
from sync_server.app import RoutePart
from sync_server.citizen import index_case
from sync_server.couch import Couch
from sync_server.county import callback as county_callback
from sync_server.county import outbox as ob
from tests.integration.sync_server.server_fixtures import MY_ROUTES, PASSWORD
from tests.unit.sync_server.county import factories as county_factories

VILLAGE = "330212001001"
APP_PIN = "135790"  # the PIN `signed_in` sets
# The routes the app needs against the county: sign-in, sync, delivery tokens, the county outbox API.
MODULES: tuple[RoutePart, ...] = (*MY_ROUTES, citizen.routes, county_callback.routes)


class FailingWrites(LocalDB):
    """The real local store, whose link to the replicator breaks at the `fail_at`-th write: for good,
    or only that once (`once`: the writes after it go through)."""

    def __init__(self, store: LocalStore, fail_at: int, *, once: bool = False) -> None:
        super().__init__(store)
        self.fail_at = fail_at
        self.once = once
        self.writes = 0

    async def write_docs(self, docs: list[JSON]) -> list[JSON]:
        self.writes += 1
        if self.writes == self.fail_at or (self.writes > self.fail_at and not self.once):
            raise Unreachable("the phone's storage went away")
        return await super().write_docs(docs)


def make_case(n: int, **overrides: Any) -> JSON:
    """A case document of about 2 KB, like the app writes."""
    doc: JSON = {
        "_id": f"case:{n:026d}",
        "type": "case",
        "item_code": "330212-001",
        "situation": "first",
        "division": {"village": VILLAGE, "township": VILLAGE[:9], "county": VILLAGE[:6]},
        "applicant": {"name": f"张{n}", "id_number": "33021219800101001X", "phone": "13800000000"},
        "answers": {"note": "代办说明 " * 120},
        "materials": [],
        "missing": [],
        "status": "draft",
        "created_at": "2026-11-24T06:30:00Z",
        "updated_at": "2026-11-24T06:30:00Z",
    }
    doc.update(overrides)
    return doc


def payload(size: int, seed: int) -> bytes:
    """Incompressible bytes standing in for a JPEG scan."""
    out = bytearray()
    block = hashlib.sha256(f"{seed}".encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size]) if seed >= 0 else os.urandom(size)


async def remote_snapshot(url: str) -> dict[str, tuple[Any, ...]]:
    """id → (winning rev, deleted, body, conflicts, attachment digests) of a CouchDB database."""
    async with httpx.AsyncClient(timeout=60) as client:
        rows = (
            await client.get(
                f"{url}/_changes", params={"style": "all_docs", "include_docs": "true", "conflicts": "true"}
            )
        ).json()["results"]
    return {row["id"]: summarize(row["doc"]) for row in rows}


def local_snapshot(store: Any) -> dict[str, tuple[Any, ...]]:
    rows = store.changes(style="all_docs", include_docs=True, conflicts=True)["results"]
    return {row["id"]: summarize(row["doc"]) for row in rows}


def summarize(doc: JSON) -> tuple[Any, ...]:
    body = {k: v for k, v in doc.items() if not k.startswith("_")}
    atts = {name: att.get("digest") for name, att in (doc.get("_attachments") or {}).items()}
    return (doc["_rev"], bool(doc.get("_deleted")), body, tuple(sorted(doc.get("_conflicts", []))), atts)


async def put_docs(url: str, docs: list[JSON], *, new_edits: bool = True) -> list[JSON]:
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.post(f"{url}/_bulk_docs", json={"docs": docs, "new_edits": new_edits})
        response.raise_for_status()
        result: list[JSON] = response.json()
        return result


async def signed_in(folder: Path, server_url: str, username: str) -> AppContext:
    """The app on the device folder `folder`, signed in online as `username`, with `APP_PIN` set."""
    config = replace(load_config(environ={}), data_dir=folder, server_url=server_url)
    ctx = AppContext(config)
    ctx.session.username, ctx.session.password = username, PASSWORD
    assert await ctx.session.sign_in(), ctx.session.error
    ctx.session.pin = ctx.session.pin_confirm = APP_PIN
    assert ctx.session.set_pin()
    return ctx


async def put_case(couchdb_url: str, db: str, **overrides: Any) -> dict[str, Any]:
    """A case of the village database `db` on the server, indexed for the citizen page."""
    couch = Couch(couchdb_url)
    try:
        case = county_factories.make_case(village=db.removeprefix("ot-v-"),
                                          tracking_code=new_tracking_code(os.urandom(7)), **overrides)
        await couch.put_doc(db, case)
        await index_case(couch, db, case)
        return case
    finally:
        await couch.aclose()


async def hand_off(
    couchdb_url: str, db: str, *, pending: JSON, dead: JSON, acked: JSON, county_ref: str
) -> None:
    """The county outbox holding three cases of `db`: `pending` queued, `dead` given up after
    8 tries (HTTP 422), `acked` by the county as `county_ref`."""
    couch = Couch(couchdb_url)
    now = datetime.now(UTC)
    try:
        await ob.prepare(couch)
        for case in (pending, dead, acked):
            assert await ob.enqueue(couch, case["_id"], db, now)
        entry = await ob.get_entry(couch, dead["_id"])
        assert entry is not None
        await ob.save(couch, {**entry, "state": "dead", "attempts": 8,
                              "last_error": "HTTP 422: id_number invalid"}, now)
        entry = await ob.get_entry(couch, acked["_id"])
        assert entry is not None
        await ob.save(couch, {**entry, "state": "acked", "county_ref": county_ref}, now)
    finally:
        await couch.aclose()
