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

import os
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mobile.config import load_config
from mobile.services.qr import ZxingReader
from mobile.viewmodels.context import AppContext
from shared.delivery import read_token, token_from_url
from shared.ids import new_tracking_code
from sync_server import citizen
from sync_server.app import RoutePart
from sync_server.citizen import index_case
from sync_server.couch import Couch
from sync_server.county import callback as county_callback
from sync_server.county import outbox as ob
from tests.integration.sync_server.server_fixtures import (
    MY_ROUTES,
    PASSWORD,
    RunningServer,
    Township,
    make_township,
    start_server,
)
from tests.unit.sync_server.county.factories import make_case

# The routes the app needs here: sign-in, sync, delivery tokens and the county outbox API.
MODULES: tuple[RoutePart, ...] = (*MY_ROUTES, citizen.routes, county_callback.routes)


@pytest.fixture(scope="module")
def server(couchdb_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("server-data"), couchdb_url, MODULES)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def township(couchdb_url: str) -> Township:
    return await make_township(couchdb_url)


async def signed_in(folder: Path, server_url: str, username: str) -> AppContext:
    config = replace(load_config(environ={}), data_dir=folder, server_url=server_url)
    ctx = AppContext(config)
    ctx.session.username, ctx.session.password = username, PASSWORD
    assert await ctx.session.sign_in(), ctx.session.error
    ctx.session.pin = ctx.session.pin_confirm = "135790"
    assert ctx.session.set_pin()
    return ctx


async def put_case(couchdb_url: str, db: str, **overrides: Any) -> dict[str, Any]:
    couch = Couch(couchdb_url)
    try:
        case = make_case(village=db.removeprefix("ot-v-"),
                         tracking_code=new_tracking_code(os.urandom(7)), **overrides)
        await couch.put_doc(db, case)
        await index_case(couch, db, case)
        return case
    finally:
        await couch.aclose()


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
    couch = Couch(couchdb_url)
    now = datetime.now(UTC)
    try:
        await ob.prepare(couch)
        for case in (forwarded, dead, result):
            assert await ob.enqueue(couch, case["_id"], db, now)
        entry = await ob.get_entry(couch, dead["_id"])
        assert entry is not None
        await ob.save(couch, {**entry, "state": "dead", "attempts": 8,
                              "last_error": "HTTP 422: id_number invalid"}, now)
        entry = await ob.get_entry(couch, result["_id"])
        assert entry is not None
        await ob.save(couch, {**entry, "state": "acked", "county_ref": "C-2026-7"}, now)

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
