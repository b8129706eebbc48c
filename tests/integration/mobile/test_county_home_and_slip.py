"""The county operator's home and the result slip, through the app's view-models against the
real server and engine (issue 17, item 10).

- Township staff open a case whose result is ready and issue its slip: the server signs a
  delivery token whose QR the slip carries, and the slip prints as a PDF; before the result is
  ready no slip is issued.
- A county operator signs in to their own home: the cases handed off from the county with
  their hand-off state, the dead letter (retried from the screen), and the county results on
  their way back to the village.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mobile.services.qr import ZxingReader
from shared.delivery import read_token, token_from_url
from sync_server.couch import Couch
from sync_server.county import outbox as ob
from tests.integration.mobile.helpers import MODULES, hand_off, put_case, signed_in
from tests.integration.sync_server.server_fixtures import RunningServer, Township, running_server


@pytest.fixture(scope="module")
def server(couchdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with running_server(tmp_path_factory.mktemp("server-data"), couchdb_url, MODULES) as running:
        yield running


async def test_staff_issue_and_print_the_result_slip(
    server: RunningServer, township: Township, couchdb_url: str, tmp_path: Path
) -> None:
    db = township.dbs[0]
    ready = await put_case(couchdb_url, db, status="result_ready")
    waiting = await put_case(couchdb_url, db, status="approved")
    staff = await signed_in(tmp_path / "staff", server.url, township.staff)
    await staff.sync_once()
    assert staff.sync.snapshot.error == "", staff.sync.snapshot

    detail = staff.case_detail()
    detail.load(ready["_id"])
    assert detail.can_issue_slip()
    slip = staff.result_slip(ready["_id"])
    await slip.load()
    assert slip.ready, slip.error
    # The QR on the slip is the server's signed delivery token for this very case.
    (text,) = ZxingReader().read(slip.qr())
    assert text == slip.url
    code, token = token_from_url(slip.url)
    assert code == ready["tracking_code"]
    assert read_token(token, server.ctx.key.private.public_key()).case_id == ready["_id"]
    data = slip.data()
    assert data.tracking_code == ready["tracking_code"] and data.expires_at and data.issued_by
    assert "330212********1234" in data.applicant_masked and ready["applicant"]["id_number"] not in str(data)
    assert slip.pdf().startswith(b"%PDF") and slip.png().startswith(b"\x89PNG")
    assert slip.file_name() == f"result-slip-{ready['tracking_code']}.pdf"

    # Not ready yet: no button, and no token if asked anyway.
    detail.load(waiting["_id"])
    assert not detail.can_issue_slip()
    early = staff.result_slip(waiting["_id"])
    await early.load()
    assert not early.ready and "尚未办结" in early.error and "not ready" in early.error

    # A village agent sees the result but prints no slip (staff do; the agent scans it).
    agent = await signed_in(tmp_path / "agent", server.url, township.agents[0])
    await agent.sync_once()
    agent_detail = agent.case_detail()
    agent_detail.load(ready["_id"])
    assert not agent_detail.can_issue_slip()


async def test_county_operator_home_shows_hand_offs_dead_letters_and_results(
    server: RunningServer, township: Township, couchdb_url: str, tmp_path: Path
) -> None:
    db = township.dbs[1]
    forwarded = await put_case(couchdb_url, db, status="forwarded")
    dead = await put_case(couchdb_url, db, status="forwarded")
    result = await put_case(couchdb_url, db, status="result_ready", county_ref="C-2026-7")
    await hand_off(couchdb_url, db, pending=forwarded, dead=dead, acked=result, county_ref="C-2026-7")
    couch = Couch(couchdb_url)
    try:
        operator = await signed_in(tmp_path / "county", server.url, township.county)
        assert operator.is_county and not operator.is_staff
        home = operator.county()
        await home.load()
        assert home.loaded, home.error
        ours = {forwarded["_id"], dead["_id"], result["_id"]}  # other tests' hand-offs may be listed too
        mine = {e.case_id: e for e in home.handed_off() if e.case_id in ours}
        assert set(mine) == ours
        assert mine[forwarded["_id"]].state_label.startswith("排队待推送")
        assert [e.case_id for e in home.dead_letters() if e.case_id in ours] == [dead["_id"]]
        assert "HTTP 422" in mine[dead["_id"]].last_error
        (back,) = [e for e in home.results() if e.case_id in ours]
        assert back.case_id == result["_id"] and back.county_ref == "C-2026-7"
        assert "结果待送达" in back.status_label and "Agent to deliver" in back.next_step
        assert back.tracking_code == result["tracking_code"] and back.applicant == "王**"

        assert await home.retry(mine[dead["_id"]]), home.error
        assert "Queued again" in home.message
        stored = await ob.get_entry(couch, dead["_id"])
        assert stored is not None and stored["state"] == "pending" and stored["attempts"] == 0
        assert dead["_id"] not in {e.case_id for e in home.dead_letters()}
        # Retrying what is no longer dead is refused with the server's reason, nothing lost.
        assert not await home.retry(mine[dead["_id"]])
        assert "仅可重试" in home.error
    finally:
        await couch.aclose()
