"""Provisioning creates every database with admin-only security and is idempotent."""

from __future__ import annotations

import random

import httpx
import pytest

from sync_server.couch import Couch
from sync_server.provision import AUTH_DB, CATALOG_DB, DESIGN_DOCS, SECURITY, SERVER_DB, provision, village_db


def a_village() -> str:
    return "330212" + f"{random.randrange(10**6):06d}"


async def snapshot(couch: Couch, dbs: list[str]) -> dict[str, object]:
    state: dict[str, object] = {}
    for db in dbs:
        state[db + "/_security"] = (await couch.get_json(f"/{db}/_security"))
        for design in DESIGN_DOCS.get(db, []):
            doc = await couch.get_doc(db, design["_id"])
            assert doc is not None
            state[db + "/" + design["_id"]] = doc["_rev"]
    return state


async def test_provision_creates_databases_with_security_and_is_idempotent(
    couch: Couch, couchdb_url: str
) -> None:
    villages = [a_village(), a_village()]
    dbs = [CATALOG_DB, AUTH_DB, SERVER_DB] + [village_db(v) for v in villages]
    created = await provision(couch, villages)
    assert set(village_db(v) for v in villages) <= set(created)
    first = await snapshot(couch, dbs)
    assert all(first[db + "/_security"] == SECURITY for db in dbs)

    assert await provision(couch, villages) == []
    assert await snapshot(couch, dbs) == first

    anonymous = httpx.URL(couchdb_url).copy_with(username=None, password=None)
    for db in dbs:
        assert httpx.get(str(anonymous.join(f"/{db}/_all_docs"))).status_code == 401


async def test_provision_repairs_an_open_database(couch: Couch) -> None:
    village = a_village()
    await couch.create_db(village_db(village))  # pouchdb-server: open to anyone
    await provision(couch, [village])
    assert await couch.get_json(f"/{village_db(village)}/_security") == SECURITY


def test_village_db_names_are_checked() -> None:
    assert village_db("330212001001") == "ot-v-330212001001"
    with pytest.raises(ValueError):
        village_db("33021200100")
    with pytest.raises(ValueError):
        village_db("../_all_dbs")
