"""Provisioning (建库): create or upgrade the databases of docs/architecture.md §3, idempotently.

    ot-catalog        service catalog, read-only for devices
    ot-auth           users, devices, refresh tokens (server only)
    ot-server         divisions, audit log, worker state (server only)
    ot-v-<village>    one per 12-digit village code

Every database gets a `_security` object admitting only server admins — always written,
because pouchdb-server leaves a database without one open to anyone (Apache CouchDB 3 is
admin-only by default, so the same object is harmless there). Design documents are written
only when their content differs, so running `provision` twice changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from shared.divisions import DB_PREFIX
from shared.documents import village_db_name, village_of_db_or_none
from shared.errors import DivisionError
from sync_server.couch import JSON, Couch, CouchError, doc_path

log = logging.getLogger(__name__)

CATALOG_DB = "ot-catalog"
AUTH_DB = "ot-auth"
SERVER_DB = "ot-server"
VILLAGE_PREFIX = DB_PREFIX  # `ot-v-`: the rule is `shared.divisions.village_db_name`

# Members restricted to the `_admin` role: nobody but the server's admin user reads or writes.
SECURITY: JSON = {
    "admins": {"names": [], "roles": ["_admin"]},
    "members": {"names": [], "roles": ["_admin"]},
}

# Indexes the server's own code queries. Views are plain JavaScript map functions, which
# both Apache CouchDB and pouchdb-server run.
DESIGN_DOCS: dict[str, list[JSON]] = {
    AUTH_DB: [{
        "_id": "_design/auth",
        "views": {
            "users_by_name": {"map": "function (doc) { if (doc.type === 'user') "
                                     "{ emit(doc.username, {role: doc.role, divisions: doc.divisions}); } }"},
            "devices_by_user": {"map": "function (doc) { if (doc.type === 'device') "
                                       "{ emit(doc.username, doc.revoked === true); } }"},
            "refresh_by_device": {"map": "function (doc) { if (doc.type === 'refresh') "
                                         "{ emit(doc.device, doc.expires_at); } }"},
        },
    }],
    SERVER_DB: [{
        "_id": "_design/server",
        "views": {
            "divisions_by_parent": {"map": "function (doc) { if (doc.type === 'division') "
                                           "{ emit(doc.parent, doc.name); } }"},
            "audit_by_doc": {"map": "function (doc) { if (doc.type === 'audit') "
                                    "{ (doc.writes || []).forEach(function (w) "
                                    "{ emit([doc.db, w.doc_id], w.rev); }); } }"},
        },
    }],
}


def village_db(village: str) -> str:
    """`330212001001` → `ot-v-330212001001`; ValueError for anything but a village code."""
    try:
        return village_db_name(village)
    except DivisionError as exc:
        raise ValueError(f"not a 12-digit village code: {village!r}") from exc


def village_of(db: str) -> str | None:
    """The village code of a village database name, or None for any other name."""
    return village_of_db_or_none(db)


async def ensure_db(couch: Couch, db: str) -> bool:
    """Create `db` if missing and make sure its `_security` admits only admins. True if created."""
    created = await couch.create_db(db)
    path = doc_path(db, "_security")
    current = (await couch.request("GET", path)).json()
    if current != SECURITY:
        await couch.request("PUT", path, json_body=SECURITY)
        log.info("security written on %s", db)
    return created


async def ensure_design(couch: Couch, db: str, design: JSON) -> bool:
    """Write `design` unless the stored one has the same content. True if written."""
    stored = await couch.get_doc(db, design["_id"])
    if stored is not None:
        if _without_meta(stored) == _without_meta(design):
            return False
        design = {**design, "_rev": stored["_rev"]}
    await couch.put_doc(db, design)
    log.info("design %s written on %s", design["_id"], db)
    return True


# Apache CouchDB's system databases: a fresh single node has none of them (a cluster set-up
# creates them). Without `_global_changes` its `_db_updates` feed answers 404, and the
# workers would fall back to polling `_all_dbs`; without `_users` and `_replicator` it logs
# an error every few seconds. They keep CouchDB's own `_security`.
SYSTEM_DBS = ("_users", "_replicator", "_global_changes")


async def provision(couch: Couch, villages: Iterable[str] = ()) -> list[str]:
    """Create or upgrade every database; returns the names of databases created now."""
    created: list[str] = []
    if await couch.has_db_updates():
        for db in SYSTEM_DBS:
            if await couch.create_db(db):
                created.append(db)
    names = [CATALOG_DB, AUTH_DB, SERVER_DB] + [village_db(v) for v in sorted(set(villages))]
    for db in names:
        if await ensure_db(couch, db):
            created.append(db)
        for design in DESIGN_DOCS.get(db, []):
            await ensure_design(couch, db, design)
    return created


async def upsert(couch: Couch, db: str, doc: JSON) -> bool:
    """Write `doc` over the stored one unless the content is the same. True if written."""
    stored = await couch.get_doc(db, doc["_id"])
    if stored is not None:
        if _without_meta(stored) == _without_meta(doc):
            return False
        doc = {**doc, "_rev": stored["_rev"]}
    try:
        await couch.put_doc(db, doc)
    except CouchError as exc:
        if exc.status != 409:
            raise
        return await upsert(couch, db, {k: v for k, v in doc.items() if k != "_rev"})
    return True


def _without_meta(doc: JSON) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("_rev", "_revisions")}
