"""End to end with the real server and engine, through the app's own view-models: an agent
captures an application offline, syncs; township staff sync, accept, approve and mark the
result ready; the agent syncs, scans the signed result QR, verifies it offline with the
cached public key, takes the receiver's signature and records the delivery."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from mobile.services.qr import qr_png
from mobile.viewmodels.sync import SyncLevel
from mobile.viewmodels.wizard import Step
from shared.delivery import delivery_url, issue_token
from shared.idnumber import make_id_number
from shared.status import Status
from tests.integration.mobile.helpers import signed_in
from tests.integration.sync_server.server_fixtures import RunningServer, Township, running_server
from tests.unit.mobile.images import jpeg_bytes, text_page

STROKES = [[(40.0 + i * 10, 80.0) for i in range(20)], [(140.0, 30.0 + i * 8) for i in range(15)]]


@pytest.fixture(scope="module")
def server(couchdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("server-data"), couchdb_url) as running:
        yield running


def server_doc(couchdb_url: str, db: str, doc_id: str) -> dict:  # type: ignore[type-arg]
    response = httpx.get(f"{couchdb_url}/{db}/{doc_id}", timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_offline_application_to_delivery(
    server: RunningServer, township: Township, couchdb_url: str, tmp_path: Path
) -> None:
    village, db = township.villages[0], township.dbs[0]
    agent = await signed_in(tmp_path / "agent", server.url, township.agents[0])
    assert agent.village == village

    # 1. Offline capture through the wizard (no network is touched until sync_once).
    wizard = agent.wizard()
    wizard.choose_item("SB-001")
    wizard.choose_situation(wizard.item.situations[0].code)  # type: ignore[union-attr]
    wizard.set_applicant(name="王秀英", id_number=make_id_number("330212", date(1958, 5, 17), 231), phone="")
    assert wizard.next(), wizard.error
    assert wizard.add_scan("id_card", jpeg_bytes(text_page(900, 1200)))
    assert wizard.next() and wizard.next()
    assert wizard.sign(STROKES, 330, 200) and wizard.next()
    assert wizard.submit()
    case_id = str(wizard.case["_id"])  # type: ignore[index]
    assert agent.pending() > 0

    await agent.sync_once()
    assert agent.sync.bar().level is SyncLevel.OK, agent.sync.snapshot
    assert agent.pending() == 0
    stored = server_doc(couchdb_url, db, case_id)
    assert stored["status"] == "submitted" and "signature.png" in stored["_attachments"]
    server_doc(couchdb_url, db, stored["materials"][0]["material_id"])
    assert agent.session.state.public_key  # cached for offline QR checks

    # 2. Township staff pull and accept; a second staff member approves (a village-level item)
    #    and marks the result ready.
    staff = await signed_in(tmp_path / "staff", server.url, township.staff)
    await staff.sync_once()
    assert staff.sync.snapshot.error == "", staff.sync.snapshot
    detail = staff.case_detail()
    detail.load(case_id)
    assert detail.perform(Status.ACCEPTED), detail.error
    assert not detail.perform(Status.APPROVED)  # who accepted does not approve (受审分离)
    await staff.sync_once()
    approver = await signed_in(tmp_path / "approver", server.url, township.approver)
    await approver.sync_once()
    detail = approver.case_detail()
    detail.load(case_id)
    for target in (Status.APPROVED, Status.RESULT_READY):
        assert detail.perform(target), detail.error
    await approver.sync_once()
    assert server_doc(couchdb_url, db, case_id)["status"] == "result_ready"

    # 3. The agent pulls the result and delivers it against the signed QR on the result slip.
    await agent.sync_once()
    assert agent.store.get(case_id)["status"] == "result_ready"
    token = issue_token(
        server.ctx.key.private,
        case_id=case_id,
        tracking_code=str(stored["tracking_code"]),
        now=datetime.now(UTC),
        token_id=os.urandom(8),
    )
    delivery = agent.delivery()
    assert delivery.scan(qr_png(delivery_url(server.url, str(stored["tracking_code"]), token))), (
        delivery.error
    )
    assert delivery.confirm(STROKES, 330, 200, receiver="王秀英")
    await agent.sync_once()
    assert agent.sync.snapshot.error == "", agent.sync.snapshot
    final = server_doc(couchdb_url, db, case_id)
    assert final["status"] == "delivered" and "receiver-signature.png" in final["_attachments"]
    assert wizard.step is Step.DONE


async def test_staff_first_sync_of_every_village_leaves_nothing_waiting(
    server: RunningServer, township: Township, couchdb_url: str, tmp_path: Path
) -> None:
    """A township's store pushes to each village in turn; what the pulls of the later villages
    bring must not count as "waiting to sync" (issue 17: "163条待同步" right after a first sync)."""
    from tests.integration.mobile.helpers import make_case

    for n, village in enumerate(township.villages):
        division = {"village": village, "township": village[:9], "county": village[:6]}
        for i in range(3):
            doc = make_case(1000 * (n + 1) + i, division=division, status="submitted")
            put = httpx.put(f"{couchdb_url}/ot-v-{village}/{doc['_id']}", json=doc, timeout=30)
            assert put.status_code == 201, put.text
    staff = await signed_in(tmp_path / "staff", server.url, township.staff)
    await staff.sync_once()
    snapshot = staff.sync.snapshot
    assert snapshot.error == "" and snapshot.online, snapshot
    assert sum(db.docs_pulled for db in snapshot.databases) >= 6
    assert staff.pending() == 0 and staff.sync.bar().pending == 0
    assert staff.sync.bar().level is SyncLevel.OK
    assert staff.session.state.last_sync  # kept for the next start
