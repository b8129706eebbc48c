"""The citizen routes mounted in the real app (`create_app`), with real accounts."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.delivery import token_from_url, verify_token
from sync_server import citizen
from sync_server.auth import routes as auth_routes
from sync_server.citizen import index_case
from sync_server.couch import Couch
from tests.integration.sync_server.citizen.conftest import ID_NUMBER, make_case
from tests.integration.sync_server.server_fixtures import (
    RunningServer,
    make_township,
    start_server,
    token_for,
)


@pytest.fixture(scope="module")
def app_server(couchdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("citizen-app"), couchdb_url,
                          parts=(auth_routes.routes, citizen.routes))
    try:
        yield server
    finally:
        server.stop()


async def test_staff_issue_a_token_the_public_key_verifies(couchdb_url: str,
                                                            app_server: RunningServer) -> None:
    township = await make_township(couchdb_url)
    db = township.dbs[0]
    case = make_case(status="result_ready", division={"village": township.villages[0]})
    couch = Couch(couchdb_url)
    try:
        await couch.put_doc(db, case)
        await index_case(couch, db, case)
    finally:
        await couch.aclose()
    code = case["tracking_code"]
    url = f"{app_server.url}/api/delivery/{code}/token"
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.post(url)).status_code == 401
        other_agent = token_for(app_server.url, township.agents[1])
        denied = await http.post(url, headers={"Authorization": f"Bearer {other_agent}"})
        assert denied.status_code == 403

        staff = token_for(app_server.url, township.staff)
        issued = await http.post(url, headers={"Authorization": f"Bearer {staff}"})
        assert issued.status_code == 201, issued.text
        assert token_from_url(issued.json()["url"])[0] == code

        raw = (await http.get(f"{app_server.url}/api/public-key")).json()["raw"]
        public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(raw + "=="))
        content = verify_token(issued.json()["token"], public, now=datetime.now(UTC),
                               expected_case=case["_id"])
        assert content.tracking_code == code

        page = await http.get(f"{app_server.url}/t/{code}")
        assert page.status_code == 200 and "办件进度查询" in page.text
        found = await http.post(f"{app_server.url}/api/track",
                                json={"code": code, "id_last4": ID_NUMBER[-4:]})
        assert found.status_code == 200 and found.json()["status"]["code"] == "result_ready"


def test_module_is_mounted_by_default() -> None:
    from sync_server.app import ROUTE_PARTS

    assert citizen.routes in ROUTE_PARTS
